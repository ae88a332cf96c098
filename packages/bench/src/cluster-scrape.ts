// `pnpm bench:cluster [--smoke] [--cpus 0] [--driver-cpus 1]`: the scrape of a node:cluster
// primary with 2 and 8 workers of 2,000 series each, against the scrape of one process with the
// same 2,000 series: the package (serveClusterMetrics gathering every second, and asking at each
// scrape), and prom-client's AggregatorRegistry beside it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, machine, median, memory, table } from './proc.js';
import { percentile, startApp, type App, type Probe } from './cluster-proc.js';
import { histogramSeries, populate, scrape, type Scrape } from './scrape.js';
import { CARDINALITY, type ScrapeVariant } from './variants.js';

/** The package directory (this file runs from dist/). */
const PACKAGE_DIR = join(__dirname, '..');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const smoke = process.argv.includes('--smoke');
/** Where the apps run (the primary, its workers and the single process alike), for taskset. */
const CPUS = option('--cpus', '0');
/** Where this process (the scraper and the load) runs. */
const DRIVER_CPUS = option('--driver-cpus', '1');
const WORKER_COUNTS = smoke ? [2] : [2, 8];
const SCRAPES = smoke ? 3 : 20;
const WARMUP_SCRAPES = smoke ? 1 : 5;
const PROBES = smoke ? 1 : 3;
/** Latency-histogram series per process: routes x 5 methods, as in the scrape benchmark. */
const SERIES = smoke ? 50 : 2000;
const ROUTES = SERIES / CARDINALITY.methods.length;
const SCALE = ROUTES / CARDINALITY.ours.routes;
const SCRAPE_TIMEOUT_MS = 30_000;
/** After the requests: past a round of gathering (an interval and its duration) that has them. */
const SETTLE_MS = 2000;
/** How long the primaries are left alone to measure what they cost between scrapes. */
const IDLE_MS = smoke ? 1000 : 5000;

/** The apps of a library: its single process, and its primary with workers. */
type Library = Extract<ScrapeVariant, 'ours' | 'prom-bundle'>;

interface PrimaryVariant {
  library: Library;
  label: string;
  args(workers: number): string[];
  /** Whether it is the package's, whose gathering the probe breaks down. */
  probed: boolean;
}

const PRIMARIES: readonly PrimaryVariant[] = [
  {
    library: 'ours',
    label: 'express-otel-metrics, gatherInterval 1000 (default)',
    args: (workers) => ['primary', String(ROUTES), String(workers), '1000'],
    probed: true,
  },
  {
    library: 'ours',
    label: 'express-otel-metrics, gatherInterval 0 (asks at each scrape)',
    args: (workers) => ['primary', String(ROUTES), String(workers), '0'],
    probed: true,
  },
  {
    library: 'prom-bundle',
    label: "prom-client 15.1.3, AggregatorRegistry's clusterMetrics()",
    args: (workers) => ['prom-primary', String(ROUTES), String(workers)],
    probed: false,
  },
];

const SINGLES: Record<Library, { label: string; role: string }> = {
  ours: { label: 'express-otel-metrics (registerMetrics)', role: 'single' },
  'prom-bundle': { label: 'prom-client 15.1.3 (express-prom-bundle)', role: 'prom-single' },
};

/** The `_count` samples of each library's latency histogram. */
const COUNT_PREFIX: Record<Library, string> = {
  ours: 'app_request_latency_seconds_count{',
  'prom-bundle': 'http_request_duration_seconds_count{',
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f = (n: number, digits = 1): string => n.toFixed(digits);
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

/**
 * The package serves an answer again to the scrapes that arrive within 4 times the time it took to
 * make (at most a second): each timed scrape waits that long after the last one of its app, so
 * that it collects anew.
 */
const REUSE_FACTOR = 4;
const REUSE_MAX_MS = 1000;
/**
 * Up to this much more, at random, before each timed scrape. Prometheus scrapes at times that have
 * nothing to do with the primary's rounds of gathering (about one a second); without the jitter,
 * a primary scrape of some 180 ms waited about as long as a round's period and fell into step
 * with the rounds: every scrape met one under way, and its median was a round's duration.
 */
const JITTER_MS = 1000;
const lastScrape = new Map<string, { endedAt: number; ms: number }>();

async function timedScrape(url: string, gzip = false): Promise<Scrape> {
  const last = lastScrape.get(url);
  if (last !== undefined) {
    const reusedUntil = last.endedAt + Math.min(REUSE_FACTOR * last.ms, REUSE_MAX_MS);
    await sleep(Math.max(0, reusedUntil - performance.now() + 5) + Math.random() * JITTER_MS);
  }
  let timer: NodeJS.Timeout | undefined;
  const s = await Promise.race([
    scrape(url, gzip),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no scrape of ${url} in ${SCRAPE_TIMEOUT_MS} ms`)),
        SCRAPE_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  lastScrape.set(url, { endedAt: performance.now(), ms: s.ms });
  return s;
}

/** Series of an exposition: latency histograms, request counters (prom-client has none), and every sample line. */
function seriesOf(
  body: string,
  library: Library,
): { histogram: number; counter: number; samples: number } {
  const lines = body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return {
    histogram: histogramSeries(body, library),
    counter: lines.filter((l) => l.startsWith('app_request_count_total{')).length,
    samples: lines.length,
  };
}

/** The sum of the latency histograms' `_count`s: every request the processes counted. */
function requestsCounted(body: string, library: Library): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith(COUNT_PREFIX[library]))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Every process with the series gets the scrape benchmark's requests for the library. */
async function fill(app: App, library: Library): Promise<number> {
  let sent = 0;
  for (const worker of app.workers) sent += await populate(worker.url, library, SCALE);
  return sent;
}

/** Every process of the app that has the series (the workers, not the primary). */
function workersCpu(app: App): number {
  return app.workers.reduce((s, w) => s + cpuSeconds(w.pid), 0);
}

interface Row {
  variant: string;
  label: string;
  processes: number;
  series: ReturnType<typeof seriesOf>;
  times: number[];
  /** Per-scrape ratios to the single process's scrape next to it. */
  ratios: number[];
  singleMs: number | undefined;
  bytes: number;
  gzipBytes: number;
  cpuMsPerScrape: number;
  workersCpuMsPerScrape: number | undefined;
  rssMiB: number;
}

interface Breakdown {
  variant: string;
  workers: number;
  probe: Probe;
}

/** What a primary and its workers spend while nobody scrapes: the package's rounds. */
interface Idle {
  variant: string;
  workers: number;
  primaryMsPerS: number;
  workersMsPerS: number;
  /** Snapshots received per worker per second (the package's primaries). */
  roundsPerS: number | undefined;
}

/** The single process of a library, and its scrapes taken beside the primaries'. */
interface Single {
  app: App;
  times: number[];
  cpuS: number;
}

async function idleCost(app: App, variant: PrimaryVariant, workers: number): Promise<Idle> {
  const snapshots = async (): Promise<number | undefined> =>
    variant.library === 'ours' ? ((await app.call({ op: 'snapshots' })) as number) : undefined;
  const [s0, p0, w0, t0] = [await snapshots(), cpuSeconds(app.pid), workersCpu(app), Date.now()];
  await sleep(IDLE_MS);
  const [s1, p1, w1, t1] = [await snapshots(), cpuSeconds(app.pid), workersCpu(app), Date.now()];
  const seconds = (t1 - t0) / 1000;
  return {
    variant: variant.label,
    workers,
    primaryMsPerS: ((p1 - p0) * 1000) / seconds,
    workersMsPerS: ((w1 - w0) * 1000) / seconds,
    roundsPerS: s0 === undefined || s1 === undefined ? undefined : (s1 - s0) / workers / seconds,
  };
}

async function measure(
  single: Single,
  variant: PrimaryVariant,
  workers: number,
): Promise<{ row: Row; breakdown: Breakdown | undefined; idle: Idle }> {
  process.stderr.write(`starting a primary with ${workers} workers: ${variant.label}\n`);
  const primary = await startApp(variant.args(workers), CPUS);
  try {
    const sent = await fill(primary, variant.library);
    process.stderr.write(`populated ${workers} workers with ${sent} requests\n`);
    await sleep(SETTLE_MS);
    // Warm-up scrapes: the first ones measure the JIT compiler, in the primary and the workers.
    for (let i = 0; i < WARMUP_SCRAPES; i++) {
      await timedScrape(primary.metricsUrl);
      await timedScrape(single.app.metricsUrl);
    }
    const times: number[] = [];
    const ratios: number[] = [];
    const phaseSingle: number[] = [];
    let cpu = 0;
    let workersCpuUsed = 0;
    let last: Scrape | undefined;
    // Interleaved with the single process, so a noisy moment of the machine hits both alike.
    for (let i = 0; i < SCRAPES; i++) {
      const cpu0 = cpuSeconds(primary.pid);
      const w0 = workersCpu(primary);
      const s = await timedScrape(primary.metricsUrl);
      cpu += cpuSeconds(primary.pid) - cpu0;
      workersCpuUsed += workersCpu(primary) - w0;
      times.push(s.ms);
      last = s;
      const c0 = cpuSeconds(single.app.pid);
      const r = await timedScrape(single.app.metricsUrl);
      single.cpuS += cpuSeconds(single.app.pid) - c0;
      single.times.push(r.ms);
      phaseSingle.push(r.ms);
      ratios.push(s.ms / r.ms);
    }
    const body = (last as Scrape).body;
    const counted = requestsCounted(body, variant.library);
    if (body.includes('otel_metric_overflow')) {
      throw new Error('series overflowed the cardinality limit; the workers would not match');
    }
    if (counted !== sent) {
      throw new Error(`the merged exposition counts ${counted} requests; ${sent} were sent`);
    }
    const gz = await timedScrape(primary.metricsUrl, true);
    const idle = await idleCost(primary, variant, workers);
    const probes: Probe[] = [];
    for (let i = 0; variant.probed && i < PROBES; i++) {
      probes.push((await primary.call({ op: 'probe' })) as Probe);
    }
    probes.sort((a, b) => a.totalMs - b.totalMs);
    const probe = probes[probes.length >> 1];
    return {
      row: {
        variant: variant.label,
        label: `cluster primary, ${workers} workers`,
        processes: workers,
        series: seriesOf(body, variant.library),
        times,
        ratios,
        singleMs: median(phaseSingle),
        bytes: (last as Scrape).bytes,
        gzipBytes: gz.bytes,
        cpuMsPerScrape: (cpu * 1000) / SCRAPES,
        workersCpuMsPerScrape: (workersCpuUsed * 1000) / SCRAPES,
        rssMiB: memory(primary.pid).rssMiB,
      },
      breakdown: probe && { variant: variant.label, workers, probe },
      idle,
    };
  } finally {
    await primary.stop();
  }
}

function scrapeTable(rows: readonly Row[]): string {
  return table(
    [
      'variant',
      'setup',
      'processes with the series',
      'series in the exposition: histogram / counter / all samples',
      'scrape (median)',
      'p90',
      'vs single process',
      'single process, same rounds',
      'bytes',
      'bytes (gzip asked)',
      'primary CPU per scrape',
      "workers' CPU per scrape (all)",
      'primary RSS',
    ],
    rows.map((r) => [
      r.variant,
      r.label,
      String(r.processes),
      `${r.series.histogram} / ${r.series.counter} / ${r.series.samples}`,
      `${f(median(r.times))} ms`,
      `${f(percentile(r.times, 0.9))} ms`,
      `${f(median(r.ratios), 2)}x`,
      r.singleMs === undefined ? '' : `${f(r.singleMs)} ms`,
      kib(r.bytes),
      kib(r.gzipBytes),
      `${f(r.cpuMsPerScrape)} ms`,
      r.workersCpuMsPerScrape === undefined ? '' : `${f(r.workersCpuMsPerScrape)} ms`,
      `${f(r.rssMiB)} MiB`,
    ]),
  );
}

function breakdownTable(rows: readonly Breakdown[]): string {
  return table(
    [
      'variant',
      'workers',
      'in-process scrape',
      'first snapshot in',
      'last snapshot in',
      'after the last snapshot (merge + exposition)',
      'IPC message per worker (JSON)',
      'JSON.stringify per message',
      'JSON.parse per message',
    ],
    rows.map(({ variant, workers, probe: p }) => {
      // A scrape served from a round of gathering receives no snapshot.
      if (p.messages.length === 0) {
        return [variant, String(workers), `${f(p.totalMs)} ms`, 'none', 'none', '', '', '', ''];
      }
      return [
        variant,
        String(workers),
        `${f(p.totalMs)} ms`,
        `${f(p.firstSnapshotMs)} ms`,
        `${f(p.lastSnapshotMs)} ms`,
        `${f(p.totalMs - p.lastSnapshotMs)} ms`,
        kib(median(p.messages.map((m) => m.bytes))),
        `${f(median(p.messages.map((m) => m.stringifyMs)))} ms`,
        `${f(median(p.messages.map((m) => m.parseMs)))} ms`,
      ];
    }),
  );
}

function idleTable(rows: readonly Idle[]): string {
  return table(
    [
      'variant',
      'workers',
      'primary CPU per second',
      "workers' CPU per second (all)",
      'rounds per second',
    ],
    rows.map((r) => [
      r.variant,
      String(r.workers),
      `${f(r.primaryMsPerS)} ms`,
      `${f(r.workersMsPerS)} ms`,
      r.roundsPerS === undefined ? '' : f(r.roundsPerS, 2),
    ]),
  );
}

async function main(): Promise<void> {
  try {
    execFileSync('which', ['taskset']);
  } catch {
    throw new Error('taskset is needed (Debian: apt-get install util-linux)');
  }
  // Keep the scraper off the apps' CPUs (all of its threads).
  execFileSync('taskset', ['-a', '-p', '-c', DRIVER_CPUS, String(process.pid)], {
    stdio: 'ignore',
  });

  const rows: Row[] = [];
  const breakdowns: Breakdown[] = [];
  const idles: Idle[] = [];
  // Each library's single process, its scrapes taken beside its primaries' (its row first).
  for (const library of ['ours', 'prom-bundle'] as const) {
    const app = await startApp([SINGLES[library].role, String(ROUTES)], CPUS);
    const single: Single = { app, times: [], cpuS: 0 };
    const own: Row[] = [];
    try {
      const sent = await fill(app, library);
      process.stderr.write(`populated the ${library} single process with ${sent} requests\n`);
      for (const workers of WORKER_COUNTS) {
        for (const variant of PRIMARIES.filter((v) => v.library === library)) {
          const { row, breakdown, idle } = await measure(single, variant, workers);
          own.push(row);
          if (breakdown !== undefined) breakdowns.push(breakdown);
          idles.push(idle);
        }
      }
      const last = await timedScrape(app.metricsUrl);
      const gz = await timedScrape(app.metricsUrl, true);
      rows.push({
        variant: SINGLES[library].label,
        label: 'single process',
        processes: 1,
        series: seriesOf(last.body, library),
        times: single.times,
        ratios: [1],
        singleMs: undefined,
        bytes: last.bytes,
        gzipBytes: gz.bytes,
        cpuMsPerScrape: (single.cpuS * 1000) / single.times.length,
        workersCpuMsPerScrape: undefined,
        rssMiB: memory(app.pid).rssMiB,
      });
      rows.push(...own);
    } finally {
      await app.stop();
    }
  }

  const results = [
    `# Cluster scrape: ${SERIES} latency-histogram series per process`,
    '',
    `${new Date().toISOString().slice(0, 10)}, ${machine()}; Node.js ${process.version}.`,
    `Apps on CPU ${CPUS} (the primary and all its workers too), the scraper on CPU ${DRIVER_CPUS} (taskset).`,
    smoke ? '\n**Smoke run: figures are not meaningful.**\n' : '',
    `Every process with the package's series (each worker, or the single process) got the same ${ROUTES} routes x 5 methods x 10 requests over HTTP, all answered 200, with cardinalityLimit 2001 so that none overflows; prom-client's (express-prom-bundle, default metrics, as in the scrape benchmark) ${ROUTES / 2} routes x 5 methods x 2 statuses x 10 requests, the same number of latency series. The workers' series have the same labels, so they merge into one set. ` +
      `The package's primary gathers every second (gatherInterval 1000, the default) or asks at each scrape (0); prom-client's AggregatorRegistry asks at each scrape. ` +
      `${SETTLE_MS} ms after the requests, ${WARMUP_SCRAPES} warm-up scrapes, then ${SCRAPES} timed scrapes of the cluster primary, each followed by one of the single process of the same library. ` +
      "Each scrape starts at least 4 times the previous one's time after it (at most 1 s), past the package's reuse of an answer, so that every scrape collects anew, and up to 1 s later again, at random, so that the scrapes do not fall into step with the primary's rounds of gathering. " +
      'Scrape time is to the last byte on a fresh connection, plain text; "vs single process" is the median of the per-scrape ratios to the single process of the same library; CPU is user + system from /proc.',
    '',
    scrapeTable(rows),
    '',
    `What the primaries cost while nobody scrapes, over ${IDLE_MS / 1000} s after the timed scrapes: the package's rounds of gathering (snapshots received per worker per second), and the processes' CPU then.`,
    '',
    idleTable(idles),
    '',
    `Where the package's primary's time goes: one scrape in-process (handle.scrape()), the median of ${PROBES} by total time; times from the start of the scrape. The JSON costs are measured in the primary on the messages received, after the scrape; a scrape served from a round receives none.`,
    '',
    breakdownTable(breakdowns),
    '',
  ].join('\n');
  console.log(`\n${results}`);
  // Kept beside RESULTS.md, so the README's figures have a source; a smoke run keeps its own.
  writeFileSync(
    join(PACKAGE_DIR, smoke ? 'CLUSTER-RESULTS.smoke.md' : 'CLUSTER-RESULTS.md'),
    results,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
