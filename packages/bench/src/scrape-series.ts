// `pnpm bench:series [--smoke]`: the scrape as the series count grows (2,000, 10,000 and 50,000
// latency-histogram series with their counters), ours beside express-prom-bundle (prom-client)
// and the stock OpenTelemetry exporter, every app populated by the same requests: time to the
// last byte, server CPU, bytes, memory, how long the event loop is held at a time (the SDK's
// collection apart from the rest), and app latency while scrapes follow one another.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { percentile } from './cluster-proc.js';
import type { ProbeReport, Span } from './loop-probe.js';
import { cpuSeconds, machine, median, memory, table } from './proc.js';
import { scrape, sendAll } from './scrape.js';
import { startServer, type Server } from './servers.js';
import {
  CARDINALITY,
  LABELS,
  SCRAPE_VARIANTS,
  seriesLayout,
  type ScrapeVariant,
} from './variants.js';

const PACKAGE_DIR = join(__dirname, '..');
const smoke = process.argv.includes('--smoke');
const COUNTS = smoke ? [200, 1000] : [2000, 10_000, 50_000];
const SCRAPES = smoke ? 3 : 7;
const WARMUP_SCRAPES = smoke ? 1 : 2;
/** Observations per label set: the two statuses of ours' counter, one each. */
const OBSERVATIONS = 2;
const LATENCY_SECONDS = smoke ? 1 : 6;
/** App requests per second while latency is measured, sent on schedule whatever the answers. */
const LATENCY_RATE = 100;
const SERVER_CORE = 0;
const DRIVER_CPUS = '1';
/** A scrape of a variant waits this many times its previous scrape, so that none is reused. */
const REUSE_GUARD = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f = (n: number, digits = 1): string => n.toFixed(digits);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

const FAMILY: Record<ScrapeVariant, string> = {
  'prom-bundle': 'http_request_duration_seconds_count{',
  'otel-auto': 'http_server_request_duration_count{',
  ours: 'app_request_latency_seconds_count{',
};

/** The app's requests that make `series` label sets of the variant's histogram, each observed twice. */
function jobs(variant: ScrapeVariant, series: number): Array<[string, string]> {
  const { groups, perGroup, statuses } = seriesLayout(variant, series);
  const out: Array<[string, string]> = [];
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < perGroup; r++) {
      for (const method of CARDINALITY.methods) {
        for (const status of statuses) {
          for (let k = 0; k < OBSERVATIONS; k++) {
            // Ours alternates the status: its histogram has none, its counter two series.
            const s = variant === 'ours' ? [200, 500][k % 2] : status;
            out.push([method, `/g${g}/r${r}?s=${s}`]);
          }
        }
      }
    }
  }
  return out;
}

/** Histogram series of the populated routes in an exposition, and every sample line. */
function seriesIn(body: string, variant: ScrapeVariant): { histogram: number; samples: number } {
  let histogram = 0;
  let samples = 0;
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    samples++;
    if (line.startsWith(FAMILY[variant]) && line.includes('"/g')) histogram++;
  }
  return { histogram, samples };
}

async function probe(server: Server, op: 'start' | 'stop'): Promise<ProbeReport> {
  const res = await fetch(`${server.probeUrl}/${op}`);
  return (await res.json()) as ProbeReport;
}

function overlap([a, b]: Span, [c, d]: Span): number {
  return Math.max(0, Math.min(b, d) - Math.max(a, c));
}

/**
 * The longest block, the longest SDK collection, and the longest block once the time of any SDK
 * collection inside it is taken out: what the rest of the scrape (writing, compressing, sending,
 * and the garbage collection they cause) held the event loop for at most; and the same with the
 * garbage collector's pauses taken out too, and the longest pause.
 */
function blocks(report: ProbeReport): {
  longest: number;
  collection: number;
  collectionMedian: number;
  rest: number;
  restWithoutGc: number;
  gcPause: number;
} {
  let longest = 0;
  let rest = 0;
  let restWithoutGc = 0;
  const within = (gap: Span, spans: Span[]): number =>
    spans.reduce((sum, s) => sum + overlap(gap, s), 0);
  for (const [start, end, cpu] of report.gaps) {
    const span: Span = [start, end];
    // What the main thread ran: the wall time, unless it waited for a core part of it.
    const held = Math.min(end - start, cpu);
    longest = Math.max(longest, held);
    const outside = held - within(span, report.collections);
    rest = Math.max(rest, outside);
    restWithoutGc = Math.max(restWithoutGc, outside - within(span, report.pauses));
  }
  const collections = report.collections.map(([a, b]) => b - a);
  const collection = Math.max(0, ...collections);
  const collectionMedian = collections.length === 0 ? 0 : median(collections);
  const gcPause = Math.max(0, ...report.pauses.map(([a, b]) => b - a));
  return { longest, collection, collectionMedian, rest, restWithoutGc, gcPause };
}

/**
 * App requests (`GET /users/1`) at LATENCY_RATE per second for LATENCY_SECONDS, each timed from
 * when it was due, not when it was sent, so that a held event loop counts for every request
 * that waited on it.
 */
async function appLatencies(server: Server): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(server.url);
  const total = LATENCY_SECONDS * LATENCY_RATE;
  const start = performance.now();
  const done: Array<Promise<number>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / LATENCY_RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    done.push(
      new Promise<number>((resolve, reject) => {
        request({ host: url.hostname, port: url.port, path: '/users/1', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(performance.now() - due));
        })
          .on('error', reject)
          .end();
      }),
    );
  }
  const latencies = await Promise.all(done);
  agent.destroy();
  return latencies;
}

/** App latencies while a scraper asks again as soon as each scrape ends, gzip accepted. */
async function latenciesUnderScrapes(
  server: Server,
): Promise<{ latencies: number[]; scrapes: number }> {
  let running = true;
  let scrapes = 0;
  const scraper = (async () => {
    while (running) {
      await scrape(server.metricsUrl as string, true);
      scrapes++;
    }
  })();
  const latencies = await appLatencies(server);
  running = false;
  await scraper;
  return { latencies, scrapes };
}

interface Row {
  variant: ScrapeVariant;
  series: number;
  histogram: number;
  samples: number;
  times: number[];
  cpuMs: number;
  plainBytes: number;
  gzipBytes: number;
  rssMiB: number;
  peakMiB: number;
  longest: number;
  collection: number;
  collectionMedian: number;
  collections: number;
  rest: number;
  restWithoutGc: number;
  gcPause: number;
  p99Idle: number;
  p99Scraped: number;
  scrapesDuringLatency: number;
}

async function measure(series: number): Promise<Row[]> {
  const servers = new Map<ScrapeVariant, Server>();
  const rows = new Map<ScrapeVariant, Row>();
  for (const v of SCRAPE_VARIANTS) {
    const server = await startServer(v, SERVER_CORE, `series:${series}`);
    servers.set(v, server);
    const sent = jobs(v, series);
    await sendAll(server.url, sent);
    const { body } = await scrape(server.metricsUrl as string);
    const found = seriesIn(body, v);
    if (found.histogram !== series) {
      throw new Error(`${v}: ${found.histogram} histogram series after populating, not ${series}`);
    }
    process.stderr.write(`${series}: populated ${v} with ${sent.length} requests\n`);
    rows.set(v, {
      variant: v,
      series,
      histogram: found.histogram,
      samples: found.samples,
      times: [],
      cpuMs: 0,
      plainBytes: 0,
      gzipBytes: 0,
      rssMiB: 0,
      peakMiB: 0,
      longest: 0,
      collection: 0,
      collectionMedian: 0,
      collections: 0,
      rest: 0,
      restWithoutGc: 0,
      gcPause: 0,
      p99Idle: 0,
      p99Scraped: 0,
      scrapesDuringLatency: 0,
    });
  }
  const lastEnd = new Map<ScrapeVariant, number>();
  const lastMs = new Map<ScrapeVariant, number>();
  async function timed(v: ScrapeVariant): Promise<number> {
    const server = servers.get(v) as Server;
    const ready = (lastEnd.get(v) ?? 0) + REUSE_GUARD * (lastMs.get(v) ?? 0) + 20;
    if (performance.now() < ready) await sleep(ready - performance.now());
    const cpu0 = cpuSeconds(server.pid);
    const s = await scrape(server.metricsUrl as string);
    const row = rows.get(v) as Row;
    row.cpuMs += (cpuSeconds(server.pid) - cpu0) * 1000;
    row.plainBytes = s.bytes;
    lastEnd.set(v, performance.now());
    lastMs.set(v, s.ms);
    return s.ms;
  }
  for (let i = 0; i < WARMUP_SCRAPES; i++) for (const v of SCRAPE_VARIANTS) await timed(v);
  for (const row of rows.values()) row.cpuMs = 0;
  for (const server of servers.values()) await probe(server, 'start');
  // Interleaved, so a noisy moment of the machine hits every variant alike.
  for (let i = 0; i < SCRAPES; i++) {
    for (const v of SCRAPE_VARIANTS) (rows.get(v) as Row).times.push(await timed(v));
  }
  for (const [v, server] of servers) {
    const report = await probe(server, 'stop');
    const row = rows.get(v) as Row;
    Object.assign(row, blocks(report), { collections: report.collections.length });
    row.cpuMs /= SCRAPES;
    // Ours and the stock exporter collect once per scrape: fewer would mean an answer was reused.
    if (v !== 'prom-bundle' && report.collections.length < SCRAPES) {
      throw new Error(`${v}: ${report.collections.length} collections in ${SCRAPES} scrapes`);
    }
    row.gzipBytes = (await scrape(server.metricsUrl as string, true)).bytes;
  }
  for (const [v, server] of servers) {
    const row = rows.get(v) as Row;
    row.p99Idle = percentile(await appLatencies(server), 0.99);
    const scraped = await latenciesUnderScrapes(server);
    row.p99Scraped = percentile(scraped.latencies, 0.99);
    row.scrapesDuringLatency = scraped.scrapes;
    Object.assign(row, memory(server.pid));
    await server.stop();
  }
  return [...rows.values()];
}

function resultsTable(rows: readonly Row[]): string {
  return table(
    [
      'series',
      'app',
      'histogram series / samples',
      'scrape (median)',
      'p90',
      'vs prom-client',
      'per 1,000 series',
      'server CPU per scrape',
      'bytes',
      'bytes (gzip)',
      'RSS after / peak',
      'longest event-loop block',
      'SDK collection: median / longest',
      'longest block without the SDK collection',
      'same, without GC pauses',
      'longest GC pause',
      'app p99: idle / under back-to-back scrapes (scrapes)',
    ],
    rows.map((r) => {
      const ms = median(r.times);
      const prom = rows.find((x) => x.series === r.series && x.variant === 'prom-bundle') as Row;
      return [
        r.series.toLocaleString('en-US'),
        LABELS[r.variant],
        `${r.histogram} / ${r.samples}`,
        `${f(ms)} ms`,
        `${f(percentile(r.times, 0.9))} ms`,
        `${f(ms / median(prom.times), 2)}x`,
        `${f((ms * 1000) / r.series, 2)} ms`,
        `${f(r.cpuMs)} ms`,
        mb(r.plainBytes),
        mb(r.gzipBytes),
        `${f(r.rssMiB, 0)} / ${f(r.peakMiB, 0)} MiB`,
        `${f(r.longest)} ms`,
        r.variant === 'prom-bundle'
          ? '(no OTel SDK)'
          : `${f(r.collectionMedian)} / ${f(r.collection)} ms`,
        `${f(r.rest)} ms`,
        `${f(r.restWithoutGc)} ms`,
        `${f(r.gcPause)} ms`,
        `${f(r.p99Idle)} / ${f(r.p99Scraped)} ms (${r.scrapesDuringLatency})`,
      ];
    }),
  );
}

/** Time per series at each count against the smallest, per app. */
function growthTable(rows: readonly Row[]): string {
  const first = COUNTS[0] as number;
  return table(
    [
      'app',
      ...COUNTS.map(
        (n) => `per series at ${n.toLocaleString('en-US')} vs ${first.toLocaleString('en-US')}`,
      ),
    ],
    SCRAPE_VARIANTS.map((v) => {
      const at = (n: number): number => {
        const row = rows.find((r) => r.variant === v && r.series === n) as Row;
        return median(row.times) / n;
      };
      return [LABELS[v], ...COUNTS.map((n) => `${f(at(n) / at(first), 2)}x`)];
    }),
  );
}

function targetsTable(rows: readonly Row[]): string {
  const largest = COUNTS[COUNTS.length - 1] as number;
  const first = COUNTS[0] as number;
  const get = (v: ScrapeVariant, n: number): Row =>
    rows.find((r) => r.variant === v && r.series === n) as Row;
  const perSeries = (n: number): number => median(get('ours', n).times) / n;
  const growth = perSeries(largest) / perSeries(first);
  const rest = Math.max(...COUNTS.map((n) => get('ours', n).rest));
  const restWithoutGc = Math.max(...COUNTS.map((n) => get('ours', n).restWithoutGc));
  const ours = get('ours', largest);
  const prom = get('prom-bundle', largest);
  const timeRatio = median(ours.times) / median(prom.times);
  const met = (ok: boolean): string => (ok ? 'met' : '**not met**');
  return table(
    ['target', 'measured', ''],
    [
      [
        `time per series at ${largest.toLocaleString('en-US')} at most 1.2x that at ${first.toLocaleString('en-US')}`,
        `${f(growth, 2)}x`,
        met(growth <= 1.2),
      ],
      [
        'the event loop held at most 10 ms at a time by the scrape beyond the SDK collection, at every count',
        `${f(rest)} ms at most`,
        met(rest <= 10),
      ],
      [
        'the same, V8 garbage-collector pauses taken out (writing, compressing and sending alone)',
        `${f(restWithoutGc)} ms at most`,
        met(restWithoutGc <= 10),
      ],
      [
        `RSS at ${largest.toLocaleString('en-US')} no more than prom-client's (peak)`,
        `${f(ours.peakMiB, 0)} vs ${f(prom.peakMiB, 0)} MiB`,
        met(ours.peakMiB <= prom.peakMiB),
      ],
      [
        `scrape time at ${largest.toLocaleString('en-US')} at most 0.25x prom-client's`,
        `${f(timeRatio, 2)}x`,
        met(timeRatio <= 0.25),
      ],
    ],
  );
}

async function main(): Promise<void> {
  execFileSync('which', ['taskset']);
  // The driver on the other core, so that receiving 77 MB does not take the apps' core.
  execFileSync('taskset', ['-pc', DRIVER_CPUS, String(process.pid)]);
  const rows: Row[] = [];
  for (const n of COUNTS) rows.push(...(await measure(n)));
  const results = resultsTable(rows);
  const growth = growthTable(rows);
  const targets = targetsTable(rows);
  console.log(`\n${results}\n\n${growth}\n\n${targets}\n`);
  if (smoke) return;
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout.
  }
  writeFileSync(
    join(PACKAGE_DIR, 'SERIES-RESULTS.md'),
    [
      '# Scrape by series count',
      '',
      `${new Date().toISOString().slice(0, 10)}, ${machine()}; Node.js ${process.version}; commit ${commit}. Written by \`pnpm bench:series\`.`,
      '',
      `Every app on CPU ${SERVER_CORE}, this driver on CPU ${DRIVER_CPUS}. Each app got the same requests: route templates in routers of 100 (\`/g<i>/r<j>\`) x 5 methods, ${OBSERVATIONS} requests per label set of its latency histogram (ours alternates two statuses, which makes two counter series per histogram series; prom-client's histogram has the status as a label, so it has half the routes). Series limits raised to fit (ours \`cardinalityLimit\`, the stock exporter's View \`aggregationCardinalityLimit\`). ${WARMUP_SCRAPES} warm-up scrapes, then ${SCRAPES} timed scrapes of each app in turn, each on a fresh connection, plain text, to the last byte; a scrape waits ${REUSE_GUARD}x the app's previous scrape time, so that none is answered from the one before (each of ours and the stock exporter's was checked to collect). Server CPU is user + system from /proc. Event-loop blocks are measured inside the app by a 1 ms timer: a late tick is a block, from the tick before, as long as the main thread's CPU time in it (\`process.threadCpuUsage\`) when that is less than the wall time (the rest the process waited for a core); the SDK's collections (\`MetricReader#collect\`, call to settlement) and V8's garbage-collector pauses (perf_hooks) are timed there too, and "without" takes their time out of the blocks they fall in. App latency: \`GET /users/1\` at ${LATENCY_RATE} requests/s for ${LATENCY_SECONDS} s on schedule, timed from when each was due; first with no scrape, then while a scraper asks again as soon as each scrape ends (gzip accepted, as Prometheus asks; ours shares one answer among scrapes that come within 4x its making time).`,
      '',
      results,
      '',
      '## Growth: time per series against the smallest count',
      '',
      growth,
      '',
      '## Targets',
      '',
      targets,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
