import { Agent, request } from 'node:http';
import { CARDINALITY, type ScrapeVariant } from './variants.js';

/** Fills the variant's latency histogram with `routes` x 5 methods label sets, 10 observations each. */
export async function populate(
  base: string,
  variant: ScrapeVariant,
  scale: number,
): Promise<number> {
  const { routes, statuses } = CARDINALITY[variant];
  const jobs: Array<[string, string]> = [];
  const perRoute = Math.max(1, Math.round(routes * scale));
  for (let r = 0; r < perRoute; r++) {
    for (const method of CARDINALITY.methods) {
      if (variant === 'ours') {
        // No status on our histogram: 10 observations per label set, alternating the status.
        for (let k = 0; k < CARDINALITY.observations; k++) {
          jobs.push([method, `/route${r}?s=${statuses[k % statuses.length]}`]);
        }
      } else {
        for (const s of statuses) {
          for (let k = 0; k < CARDINALITY.observations; k++)
            jobs.push([method, `/route${r}?s=${s}`]);
        }
      }
    }
  }
  await sendAll(base, jobs);
  return jobs.length;
}

/** Sends every `[method, path]` over 16 keep-alive connections, the answers read and dropped. */
export async function sendAll(base: string, jobs: ReadonlyArray<[string, string]>): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const url = new URL(base);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const [method, path] = jobs[next++] as [string, string];
      await new Promise<void>((resolve, reject) => {
        request({ host: url.hostname, port: url.port, method, path, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
}

export interface Scrape {
  ms: number;
  bytes: number;
  body: string;
}

/** One scrape on a fresh connection: time to the last byte, bytes on the wire. */
export function scrape(metricsUrl: string, gzip = false, accept?: string): Promise<Scrape> {
  const url = new URL(metricsUrl);
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: {
          ...(gzip && { 'Accept-Encoding': 'gzip' }),
          ...(accept !== undefined && { Accept: accept }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          const raw = Buffer.concat(chunks);
          const encoded = res.headers['content-encoding'] === 'gzip';
          resolve({ ms, bytes: raw.length, body: encoded ? '' : raw.toString('utf8') });
        });
      },
    )
      .on('error', reject)
      .end();
  });
}

/** Latency-histogram series in an exposition: its `_count` samples. */
export function histogramSeries(body: string, variant: ScrapeVariant): number {
  const family = {
    'prom-bundle': 'http_request_duration_seconds_count{',
    'otel-auto': 'http_server_request_duration_count{',
    ours: 'app_request_latency_seconds_count{',
  }[variant];
  return body.split('\n').filter((l) => l.startsWith(family)).length;
}

/**
 * Exemplars in one scrape in OpenMetrics, the format that carries them (the 0.0.4 text has no
 * place for them): samples followed by ` # {trace_id=...}`.
 */
export async function exemplarsIn(metricsUrl: string): Promise<number> {
  const { body } = await scrape(metricsUrl, false, 'application/openmetrics-text; version=1.0.0');
  return body.split('\n').filter((l) => /^[^#].* # \{[^}]*trace_id="/.test(l)).length;
}
