import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, start, waitFor, type Started } from './processes';

export interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface Prometheus {
  url: string;
  /**
   * An instant query, now or at `time` (ms since the epoch); throws with Prometheus' error if the
   * expression does not parse.
   */
  query(expr: string, time?: number): Promise<Series[]>;
  /** The raw samples of a range selector such as `up[10s]`, as of `time` (ms since the epoch). */
  samples(selector: string, time: number): Promise<RangeSeries[]>;
  stop(): Promise<void>;
  output(): string;
}

/**
 * A real Prometheus server (Debian's package) on 127.0.0.1, scraping `targets` every second,
 * itself included (its own counters tell whether scrapes went wrong), and evaluating `ruleFiles`.
 */
export async function startPrometheus(options: {
  jobs: Record<string, string[]>;
  ruleFiles?: string[];
  /** Extra YAML lines of a job's scrape config (indented under it), such as `basic_auth`. */
  jobConfig?: Record<string, string[]>;
  /** Extra command-line flags, such as `--enable-feature=exemplar-storage`. */
  flags?: string[];
}): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-prometheus-'));
  const port = await freePort();
  const jobs = { ...options.jobs, prometheus: [`127.0.0.1:${port}`] };
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    '  evaluation_interval: 1s',
    ...(options.ruleFiles?.length
      ? ['rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)]
      : []),
    'scrape_configs:',
    ...Object.entries(jobs).flatMap(([job, targets]) => [
      `  - job_name: ${JSON.stringify(job)}`,
      ...(options.jobConfig?.[job] ?? []).map((line) => `    ${line}`),
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
    ]),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const server: Started = start('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...(options.flags ?? []),
  ]);
  const url = `http://127.0.0.1:${port}`;
  const ready = await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, 30000);
  if (!ready) {
    await server.stop();
    throw new Error(`prometheus did not become ready:\n${server.output()}`);
  }
  async function instant(
    expr: string,
    time: number | undefined,
  ): Promise<{ resultType: string; result: unknown }> {
    const params = new URLSearchParams({ query: expr });
    if (time !== undefined) params.set('time', String(time / 1000));
    const res = await fetch(`${url}/api/v1/query?${params}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data as { resultType: string; result: unknown };
  }
  return {
    url,
    output: server.output,
    async query(expr, time) {
      const { resultType, result } = await instant(expr, time);
      if (resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
      return result as Series[];
    },
    async samples(selector, time) {
      const { resultType, result } = await instant(selector, time);
      if (resultType !== 'matrix') throw new Error(`${selector} is not a range selector`);
      return result as RangeSeries[];
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The JSON `data` of a Prometheus API call. */
export async function api<T>(prometheus: Prometheus, path: string): Promise<T> {
  const body = (await (await fetch(`${prometheus.url}${path}`)).json()) as {
    status: string;
    data: T;
    error?: string;
  };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
  return body.data;
}

export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }>;
}

/** The exemplars Prometheus stored for `query` over the last ten minutes. */
export function exemplars(prometheus: Prometheus, query: string): Promise<ExemplarSeries[]> {
  const now = Date.now() / 1000;
  const params = new URLSearchParams({ query, start: String(now - 600), end: String(now + 60) });
  return api(prometheus, `/api/v1/query_exemplars?${params}`);
}
