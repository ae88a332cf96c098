// `pnpm bench:cluster [--smoke] [--cpus 0] [--driver-cpus 1]`: the scrape of a node:cluster
// primary (serveClusterMetrics) with 2 and 8 workers of 2,000 series each, against the scrape of
// one process (registerMetrics) with the same 2,000 series.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, machine, median, memory, table } from './proc.js';
import { percentile, startApp, type App, type Probe } from './cluster-proc.js';
import { histogramSeries, populate, scrape, type Scrape } from './scrape.js';
import { CARDINALITY } from './variants.js';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f = (n: number, digits = 1): string => n.toFixed(digits);
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

function timedScrape(url: string, gzip = false): Promise<Scrape> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    scrape(url, gzip),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no scrape of ${url} in ${SCRAPE_TIMEOUT_MS} ms`)),
        SCRAPE_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Series of an exposition: latency histograms, request counters, and every sample line. */
function seriesOf(body: string): { histogram: number; counter: number; samples: number } {
  const lines = body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return {
    histogram: histogramSeries(body, 'ours'),
    counter: lines.filter((l) => l.startsWith('app_request_count_total{')).length,
    samples: lines.length,
  };
}

/** The sum of the latency histograms' `_count`s: every request the processes counted. */
function requestsCounted(body: string): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith('app_request_latency_seconds_count{'))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function fill(app: App): Promise<number> {
  let sent = 0;
  for (const worker of app.workers) sent += await populate(worker.url, 'ours', SCALE);
  return sent;
}

/** Every process of the app that has the series (the workers, not the primary). */
function workersCpu(app: App): number {
  return app.workers.reduce((s, w) => s + cpuSeconds(w.pid), 0);
}

interface Row {
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
  workers: number;
  probe: Probe;
}

async function measure(
  single: App,
  singleTimes: number[],
  singleCpu: { s: number },
  workers: number,
): Promise<{ row: Row; breakdown: Breakdown }> {
  process.stderr.write(`starting a primary with ${workers} workers\n`);
  const primary = await startApp(['primary', String(ROUTES), String(workers)], CPUS);
  try {
    const sent = await fill(primary);
    process.stderr.write(`populated ${workers} workers with ${sent} requests\n`);
    await sleep(1000);
    // Warm-up scrapes: the first ones measure the JIT compiler, in the primary and the workers.
    for (let i = 0; i < WARMUP_SCRAPES; i++) {
      await timedScrape(primary.metricsUrl);
      await timedScrape(single.metricsUrl);
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
      const c0 = cpuSeconds(single.pid);
      const r = await timedScrape(single.metricsUrl);
      singleCpu.s += cpuSeconds(single.pid) - c0;
      singleTimes.push(r.ms);
      phaseSingle.push(r.ms);
      ratios.push(s.ms / r.ms);
    }
    const body = (last as Scrape).body;
    const counted = requestsCounted(body);
    if (body.includes('otel_metric_overflow')) {
      throw new Error('series overflowed the cardinality limit; the workers would not match');
    }
    if (counted !== sent) {
      throw new Error(`the merged exposition counts ${counted} requests; ${sent} were sent`);
    }
    const gz = await timedScrape(primary.metricsUrl, true);
    const probes: Probe[] = [];
    for (let i = 0; i < PROBES; i++) probes.push((await primary.call({ op: 'probe' })) as Probe);
    probes.sort((a, b) => a.totalMs - b.totalMs);
    return {
      row: {
        label: `cluster primary, ${workers} workers`,
        processes: workers,
        series: seriesOf(body),
        times,
        ratios,
        singleMs: median(phaseSingle),
        bytes: (last as Scrape).bytes,
        gzipBytes: gz.bytes,
        cpuMsPerScrape: (cpu * 1000) / SCRAPES,
        workersCpuMsPerScrape: (workersCpuUsed * 1000) / SCRAPES,
        rssMiB: memory(primary.pid).rssMiB,
      },
      breakdown: { workers, probe: probes[probes.length >> 1] as Probe },
    };
  } finally {
    await primary.stop();
  }
}

function scrapeTable(rows: readonly Row[]): string {
  return table(
    [
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
      'workers',
      'in-process scrape',
      'first snapshot in',
      'last snapshot in',
      'after the last snapshot (merge + exposition)',
      'IPC message per worker (JSON)',
      'JSON.stringify per message',
      'JSON.parse per message',
    ],
    rows.map(({ workers, probe: p }) => [
      String(workers),
      `${f(p.totalMs)} ms`,
      `${f(p.firstSnapshotMs)} ms`,
      `${f(p.lastSnapshotMs)} ms`,
      `${f(p.totalMs - p.lastSnapshotMs)} ms`,
      kib(median(p.messages.map((m) => m.bytes))),
      `${f(median(p.messages.map((m) => m.stringifyMs)))} ms`,
      `${f(median(p.messages.map((m) => m.parseMs)))} ms`,
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

  const single = await startApp(['single', String(ROUTES)], CPUS);
  const rows: Row[] = [];
  const breakdowns: Breakdown[] = [];
  const singleTimes: number[] = [];
  const singleCpu = { s: 0 };
  try {
    const sent = await fill(single);
    process.stderr.write(`populated the single process with ${sent} requests\n`);
    for (const workers of WORKER_COUNTS) {
      const { row, breakdown } = await measure(single, singleTimes, singleCpu, workers);
      rows.push(row);
      breakdowns.push(breakdown);
    }
    const last = await timedScrape(single.metricsUrl);
    const gz = await timedScrape(single.metricsUrl, true);
    rows.unshift({
      label: 'single process (registerMetrics)',
      processes: 1,
      series: seriesOf(last.body),
      times: singleTimes,
      ratios: [1],
      singleMs: undefined,
      bytes: last.bytes,
      gzipBytes: gz.bytes,
      cpuMsPerScrape: (singleCpu.s * 1000) / singleTimes.length,
      workersCpuMsPerScrape: undefined,
      rssMiB: memory(single.pid).rssMiB,
    });
  } finally {
    await single.stop();
  }

  const results = [
    `# Cluster scrape: ${SERIES} latency-histogram series per process`,
    '',
    `${new Date().toISOString().slice(0, 10)}, ${machine()}; Node.js ${process.version}.`,
    `Apps on CPU ${CPUS} (the primary and all its workers too), the scraper on CPU ${DRIVER_CPUS} (taskset).`,
    smoke ? '\n**Smoke run: figures are not meaningful.**\n' : '',
    `Every process with the series (each worker, or the single process) got the same ${ROUTES} routes x 5 methods x 10 requests over HTTP, all answered 200, with cardinalityLimit 2001 so that none overflows; the workers' series have the same labels, so they merge into one set. ` +
      `${WARMUP_SCRAPES} warm-up scrapes, then ${SCRAPES} timed scrapes of the cluster primary, each followed by one of the single process. ` +
      'Scrape time is to the last byte on a fresh connection, plain text; "vs single process" is the median of the per-scrape ratios; CPU is user + system from /proc.',
    '',
    scrapeTable(rows),
    '',
    `Where the primary's time goes: one scrape in-process (handle.scrape()), the median of ${PROBES} by total time; times from the start of the scrape. The JSON costs are measured in the primary on the messages received, after the scrape.`,
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
