import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createExposition, REUSE_MAX_MS } from '../../src/export/exposition';
import { writeExposition, writeExpositionInSlices } from '../../src/export/writer';
import { INSTRUMENTS } from '../../src/names';
import { resolveOptions } from '../../src/options/resolve';
import { createReporter } from '../../src/report';
import { viewsFor } from '../../src/views';
import { sleep } from '../helpers/wait';

/** The series counts of the scrape benchmark (packages/bench, `pnpm bench:series`). */
const SERIES_COUNTS = [2000, 10_000, 50_000];

/**
 * The longest the event loop may be held at a time by the part of a scrape after the SDK's
 * collection (writing, compressing, sending), whatever the series count.
 */
const BLOCK_BOUND_MS = 10;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

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

/**
 * `series` latency-histogram series of the package's request metrics with their counters (two
 * statuses each), recorded through the package's Views and collected by a Prometheus reader,
 * as the benchmark populates them.
 */
async function collected(series: number): Promise<ResourceMetrics> {
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
  expect(errors).toEqual([]);
  await provider.shutdown();
  return resourceMetrics;
}

const OPTIONS = { targetInfo: true, scopeInfo: false };

describe.each(SERIES_COUNTS)('a scrape of %i latency series', (series) => {
  let data: ResourceMetrics;
  beforeAll(async () => {
    data = await collected(series);
  }, 60_000);

  it('writes, in chunks, the bytes of the stock serializer', async () => {
    const stock = new PrometheusSerializer(
      '',
      false,
      undefined,
      !OPTIONS.targetInfo,
      true,
    ).serialize(data);
    const body = await writeExpositionInSlices(data, OPTIONS, 5);
    const { chunks } = body;
    const ours = Buffer.concat(chunks);
    expect(ours.equals(Buffer.from(stock, 'utf8'))).toBe(true);
    expect(writeExposition(data, OPTIONS)).toBe(stock);
    const histograms = stock.match(/^app_request_latency_seconds_count\{/gm)?.length;
    expect(histograms).toBe(series);
    expect(stock.match(/^app_request_count_total\{/gm)?.length).toBe(2 * series);
    // About 1.5 KB a series, so a megabyte's chunks: each one ends on a whole line.
    expect(chunks.length).toBeGreaterThanOrEqual(Math.floor(ours.length / (1024 * 1024)));
    for (const chunk of chunks) expect(chunk[chunk.length - 1]).toBe(0x0a);
    body.release();
  }, 120_000);

  it.each(['identity', 'gzip'])(
    `lets a timer run at least every ${BLOCK_BOUND_MS} ms while a scrape is answered (%s)`,
    async (encoding) => {
      // The collection is made beforehand, so that what is timed is the exposition's part alone.
      const exposition = createExposition(
        { collect: async () => ({ resourceMetrics: data, errors: [] }) },
        {
          ...OPTIONS,
          naming: 'prometheus',
          cardinalityLimit: 2 * series + 10,
          endpoint: { timeout: 60_000, maxConcurrentScrapes: 10, maxScrapesPerConnection: 1 },
        },
        createReporter(),
      );
      // Blocks count from the scrape's arrival: starting the scraper's process (a fork of this
      // large one) is the test's own cost.
      let arrived = Infinity;
      const server = createServer((req, res) => {
        arrived = performance.now();
        exposition.handler(req, res);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      // The scraper runs in a process of its own, as Prometheus does: reading 77 MB in this
      // one would put the client's work in the blocks measured.
      const scrape = (): Promise<number> =>
        new Promise<number>((resolve, reject) => {
          execFile(
            process.execPath,
            ['-e', SCRAPER, `http://127.0.0.1:${port}/metrics`, encoding],
            (err, stdout) => {
              if (err) reject(err);
              else resolve(Number(stdout.trim()));
            },
          );
        });
      let ticker: NodeJS.Timeout | undefined;
      try {
        // An app's scrapes after its first: the writer compiled, the pool of chunks filled.
        await scrape();
        await sleep(REUSE_MAX_MS + 100);
        // What the event loop ran between two ticks of a 1 ms timer, in the main thread's own
        // CPU time (the test's machine runs other work too, and a tick that is late because the
        // process waited for a core is no block of the scrape's), less the pauses of V8's
        // garbage collector, which perf_hooks reports and the benchmark shows apart.
        const gaps: Array<{ start: number; end: number; cpu: number }> = [];
        const pauses: Array<{ start: number; end: number }> = [];
        const gc = new PerformanceObserver((list) => {
          for (const e of list.getEntries())
            pauses.push({ start: e.startTime, end: e.startTime + e.duration });
        });
        gc.observe({ entryTypes: ['gc'] });
        let wall = performance.now();
        let cpu = mainThreadMs();
        ticker = setInterval(() => {
          const [nowWall, nowCpu] = [performance.now(), mainThreadMs()];
          gaps.push({ start: wall, end: nowWall, cpu: nowCpu - cpu });
          [wall, cpu] = [nowWall, nowCpu];
        }, 1);
        const bytes = await scrape();
        clearInterval(ticker);
        // The observer's entries are delivered after the pauses, in a later turn.
        await sleep(50);
        gc.disconnect();
        let longest = 0;
        for (const gap of gaps) {
          if (gap.end < arrived) continue;
          const paused = pauses.reduce(
            (sum, p) => sum + Math.max(0, Math.min(gap.end, p.end) - Math.max(gap.start, p.start)),
            0,
          );
          longest = Math.max(longest, Math.min(gap.end - gap.start, gap.cpu) - paused);
        }
        expect(gaps.length).toBeGreaterThan(10);
        // Gzipped, the text of a series is about 60 bytes.
        expect(bytes).toBeGreaterThan(series * (encoding === 'gzip' ? 20 : 1000));
        expect(longest).toBeLessThanOrEqual(BLOCK_BOUND_MS);
      } finally {
        clearInterval(ticker);
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
    120_000,
  );
});
