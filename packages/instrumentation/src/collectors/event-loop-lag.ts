import { createHistogram } from 'node:perf_hooks';
import { CATALOGUE } from '../catalogue.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

/** How often the event loop is sampled, in milliseconds. */
const RESOLUTION_MS = 10;
const RESOLUTION_NS = RESOLUTION_MS * 1e6;

/**
 * `nodejs_eventloop_lag_*_seconds`: statistics of the event-loop lag since the previous collection,
 * so each scrape describes its own interval. The lag is how late a 10 ms timer fires, so an idle
 * loop reads about 0. The semantic conventions define `nodejs.eventloop.delay.*` as what
 * `monitorEventLoopDelay` reports, the whole time between two firings (the lag plus the 10 ms), and
 * instrumentation-runtime-node exports that under the same names: in that naming, so do we.
 *
 * The sampler is a timer of its own rather than `monitorEventLoopDelay`: resetting that monitor
 * also forgets when it last fired, so the first interval after each scrape was never recorded and
 * a stall right after a scrape went unseen. The semantic conventions call the statistics
 * `nodejs.eventloop.delay.*`.
 */
export const eventLoopLagCollector: Collector = {
  name: 'event-loop-lag',
  group: 'eventLoop',
  start(ctx) {
    const lag = createHistogram();
    const offset = ctx.options.naming === 'semconv' ? 0 : RESOLUTION_NS;
    let last = process.hrtime.bigint();
    const timer = setInterval(() => {
      const now = process.hrtime.bigint();
      // The histogram takes integers >= 1: a timer on time records the lag's 1 ns floor.
      lag.record(Math.max(1, Number(now - last) - offset));
      last = now;
    }, RESOLUTION_MS);
    timer.unref();

    const n = CATALOGUE.nodejs;
    const stats = (
      [
        [n.eventLoopLagMin, () => lag.min],
        [n.eventLoopLagMax, () => lag.max],
        [n.eventLoopLagMean, () => lag.mean],
        [n.eventLoopLagStddev, () => lag.stddev],
        [n.eventLoopLagP50, () => lag.percentile(50)],
        [n.eventLoopLagP90, () => lag.percentile(90)],
        [n.eventLoopLagP99, () => lag.percentile(99)],
      ] as const
    ).map(([entry, read]) => [observableOf(ctx, entry).instrument, read] as const);
    const stop = observeBatch(
      ctx,
      stats.map(([g]) => g),
      (result) => {
        // No sample yet (a collection within 10 ms of the previous one): nothing to describe.
        if (lag.count === 0) return;
        for (const [g, read] of stats) result.observe(g, read() / 1e9);
        lag.reset();
      },
    );
    return () => {
      stop();
      clearInterval(timer);
    };
  },
};
