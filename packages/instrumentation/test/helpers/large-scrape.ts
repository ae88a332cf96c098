/**
 * Large collections for the scrape tests, and a process that times how long a scrape of one
 * holds the event loop: run apart from jest, whose open-handle tracker (CI runs it with
 * `--detectOpenHandles`) takes a stack trace for every async resource and would put hundreds of
 * milliseconds of its own in the blocks measured.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createExposition, REUSE_MAX_MS } from '../../src/export/exposition';
import { INSTRUMENTS } from '../../src/names';
import { resolveOptions } from '../../src/options/resolve';
import { createReporter } from '../../src/report';
import { viewsFor } from '../../src/views';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

export const LARGE_OPTIONS = { targetInfo: true, scopeInfo: false };

/**
 * `series` latency-histogram series of the package's request metrics with their counters (two
 * statuses each), recorded through the package's Views and collected by a Prometheus reader,
 * as the benchmark populates them.
 */
export async function collected(series: number): Promise<ResourceMetrics> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const limit = 2 * series + 10;
  const provider = new MeterProvider({
    readers: [reader],
    views: viewsFor(resolveOptions({ cardinalityLimit: limit })),
  });
  const meter = provider.getMeter('express-otel-metrics');
  const latency = meter.createHistogram(INSTRUMENTS.requestLatency, { unit: 's' });
  const count = meter.createCounter(INSTRUMENTS.requestCount);
  for (let i = 0; i < series; i++) {
    const labels = {
      method: METHODS[i % 5] as string,
      endpoint: `/g${Math.floor(i / 500)}/r${i % 500}`,
    };
    latency.record((i % 1000) / 997, labels);
    latency.record((i % 37) / 41, labels);
    count.add(1, { ...labels, http_status: '200' });
    count.add(1, { ...labels, http_status: '500' });
  }
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new AggregateError(errors, 'the collection failed');
  await provider.shutdown();
  return resourceMetrics;
}

/**
 * A scrape from another process: prints the bytes received, and fails on a status other than 200
 * or a Content-Encoding other than the one asked for.
 */
const SCRAPER = `
const [url, encoding] = process.argv.slice(1);
require('node:http').get(url, { headers: { 'Accept-Encoding': encoding } }, (res) => {
  const expected = encoding === 'gzip' ? 'gzip' : undefined;
  if (res.statusCode !== 200 || res.headers['content-encoding'] !== expected) process.exit(2);
  let received = 0;
  res.on('data', (piece) => (received += piece.length));
  res.on('end', () => console.log(received));
});
`;

/** CPU time of this process' main thread (the event loop's), user and system, in ms. */
function mainThreadMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

export interface Blocks {
  /** Bytes the scraper received. */
  bytes: number;
  /** The longest the main thread ran between two ticks of a 1 ms timer, GC pauses out. */
  longest: number;
  /** Ticks seen during the scrape. */
  ticks: number;
}

/** Serves `series` series, lets one scrape warm it up, and times the blocks of a second. */
async function measure(series: number, encoding: string): Promise<Blocks> {
  const data = await collected(series);
  // The collection is made beforehand, so that what is timed is the exposition's part alone.
  const exposition = createExposition(
    { collect: async () => ({ resourceMetrics: data, errors: [] }) },
    {
      ...LARGE_OPTIONS,
      naming: 'prometheus',
      cardinalityLimit: 2 * series + 10,
      endpoint: { timeout: 60_000, maxConcurrentScrapes: 10, maxScrapesPerConnection: 1 },
    },
    createReporter(),
  );
  // Blocks count from the scrape's arrival: starting the scraper's process is the test's cost.
  let arrived = Infinity;
  const server = createServer((req, res) => {
    arrived = performance.now();
    exposition.handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // The scraper runs in a process of its own, as Prometheus does: reading 77 MB in this one
  // would put the client's work in the blocks measured.
  const scrape = (): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      execFile(
        process.execPath,
        ['-e', SCRAPER, `http://127.0.0.1:${port}/metrics`, encoding],
        (err, stdout) => (err ? reject(err) : resolve(Number(stdout.trim()))),
      );
    });
  // An app's scrapes after its first: the writer compiled, the pool of chunks filled.
  await scrape();
  await new Promise((resolve) => setTimeout(resolve, REUSE_MAX_MS + 100));
  // What the event loop ran between two ticks, in the main thread's own CPU time (the machine
  // runs other work too, and a tick that is late because the process waited for a core is no
  // block of the scrape's), less the pauses of V8's garbage collector, which perf_hooks
  // reports and the benchmark shows apart.
  const gaps: Array<{ start: number; end: number; cpu: number }> = [];
  const pauses: Array<{ start: number; end: number }> = [];
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      pauses.push({ start: e.startTime, end: e.startTime + e.duration });
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  let wall = performance.now();
  let cpu = mainThreadMs();
  const ticker = setInterval(() => {
    const [nowWall, nowCpu] = [performance.now(), mainThreadMs()];
    gaps.push({ start: wall, end: nowWall, cpu: nowCpu - cpu });
    [wall, cpu] = [nowWall, nowCpu];
  }, 1);
  const bytes = await scrape();
  clearInterval(ticker);
  // The observer's entries are delivered after the pauses, in a later turn.
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc.disconnect();
  server.close();
  let longest = 0;
  let ticks = 0;
  for (const gap of gaps) {
    if (gap.end < arrived) continue;
    ticks++;
    const paused = pauses.reduce(
      (sum, p) => sum + Math.max(0, Math.min(gap.end, p.end) - Math.max(gap.start, p.start)),
      0,
    );
    longest = Math.max(longest, Math.min(gap.end - gap.start, gap.cpu) - paused);
  }
  return { bytes, longest, ticks };
}

/** {@link measure} in a process of its own, outside jest. */
export function measureBlocks(series: number, encoding: string): Promise<Blocks> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--require', join(__dirname, 'ts-child.cjs'), __filename, String(series), encoding],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (piece: Buffer) => (out += piece.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as Blocks);
      else reject(new Error(`the timed scrape exited with ${code}`));
    });
  });
}

if (require.main === module) {
  const [series, encoding] = process.argv.slice(2) as [string, string];
  measure(Number(series), encoding).then(
    (blocks) => {
      process.stdout.write(JSON.stringify(blocks));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
