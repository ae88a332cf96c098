// Inside a benchmark app: how long the event loop is held at a time, and when the OpenTelemetry
// SDK's collections ran, so that the driver can tell the SDK's share of a long block from the
// rest of the scrape's. Served on a port of its own (BENCH_PROBE_PORT), so that its requests are
// no series of the app.
import { createServer } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { MetricReader } from '@opentelemetry/sdk-metrics';

/** A gap between two ticks longer than this is a block worth keeping (the tick is 1 ms). */
const GAP_MS = 2;
/** At most this many gaps and collections are kept between a start and a stop. */
const MAX_KEPT = 100_000;

/** `[start, end]` in this process' `performance.now()` milliseconds. */
export type Span = [number, number];

/** A late tick: `[start, end, cpu]`, with the main thread's CPU time between the two ticks. */
export type Gap = [number, number, number];

export interface ProbeReport {
  /**
   * Ticks of the 1 ms timer that came late: from the tick before to the late one, with what the
   * main thread ran meanwhile (less than the wall time when the process waited for a core).
   */
  gaps: Gap[];
  /** SDK collections (`MetricReader#collect`), from the call to the promise settling. */
  collections: Span[];
  /** Pauses of V8's garbage collector, as perf_hooks reports them. */
  pauses: Span[];
}

export function installLoopProbe(port: number): void {
  const gaps: Gap[] = [];
  const collections: Span[] = [];
  const pauses: Span[] = [];
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  let lastCpu = 0;
  const cpuMs = (): number => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };

  const original = MetricReader.prototype.collect;
  MetricReader.prototype.collect = function collect(
    this: MetricReader,
    ...args: Parameters<MetricReader['collect']>
  ) {
    const start = performance.now();
    const result = original.apply(this, args);
    // Registered before the caller's continuation, so the end is taken as the promise settles.
    const end = (): void => {
      if (timer !== undefined && collections.length < MAX_KEPT)
        collections.push([start, performance.now()]);
    };
    result.then(end, end);
    return result;
  };

  new PerformanceObserver((list) => {
    if (timer === undefined) return;
    for (const e of list.getEntries()) {
      if (pauses.length < MAX_KEPT) pauses.push([e.startTime, e.startTime + e.duration]);
    }
  }).observe({ entryTypes: ['gc'] });

  const tick = (): void => {
    const now = performance.now();
    const cpu = cpuMs();
    if (now - last > GAP_MS && gaps.length < MAX_KEPT) gaps.push([last, now, cpu - lastCpu]);
    last = now;
    lastCpu = cpu;
  };

  createServer((req, res) => {
    if (req.url === '/start') {
      gaps.length = 0;
      collections.length = 0;
      pauses.length = 0;
      clearInterval(timer);
      last = performance.now();
      lastCpu = cpuMs();
      timer = setInterval(tick, 1);
      res.end('{}');
    } else if (req.url === '/stop') {
      clearInterval(timer);
      // The collector's entries arrive a turn after its pauses.
      setTimeout(() => {
        timer = undefined;
        const report: ProbeReport = { gaps, collections, pauses };
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(report));
      }, 50);
    } else {
      res.statusCode = 404;
      res.end();
    }
  })
    .listen(port, '127.0.0.1')
    .unref();
}
