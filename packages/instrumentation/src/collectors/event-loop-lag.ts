import { createHistogram } from 'node:perf_hooks';
import { NODEJS_METRICS, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

type StatNames = Record<'min' | 'max' | 'mean' | 'stddev' | 'p50' | 'p90' | 'p99', string>;

const PROMETHEUS_NAMES: StatNames = {
  min: NODEJS_METRICS.eventLoopLagMin,
  max: NODEJS_METRICS.eventLoopLagMax,
  mean: NODEJS_METRICS.eventLoopLagMean,
  stddev: NODEJS_METRICS.eventLoopLagStddev,
  p50: NODEJS_METRICS.eventLoopLagP50,
  p90: NODEJS_METRICS.eventLoopLagP90,
  p99: NODEJS_METRICS.eventLoopLagP99,
};

const SEMCONV_NAMES: StatNames = {
  min: SEMCONV_METRICS.eventLoopDelayMin,
  max: SEMCONV_METRICS.eventLoopDelayMax,
  mean: SEMCONV_METRICS.eventLoopDelayMean,
  stddev: SEMCONV_METRICS.eventLoopDelayStddev,
  p50: SEMCONV_METRICS.eventLoopDelayP50,
  p90: SEMCONV_METRICS.eventLoopDelayP90,
  p99: SEMCONV_METRICS.eventLoopDelayP99,
};

/** How often the event loop is sampled, in milliseconds. */
const RESOLUTION_MS = 10;
const RESOLUTION_NS = RESOLUTION_MS * 1e6;

/**
 * `nodejs_eventloop_lag_*_seconds`: statistics of the event-loop lag since the previous collection,
 * so each scrape describes its own interval. The lag is how late a 10 ms timer fires, so an idle
 * loop reads about 0.
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
    let last = process.hrtime.bigint();
    const timer = setInterval(() => {
      const now = process.hrtime.bigint();
      // The histogram takes integers >= 1: a timer on time records the 1 ns floor.
      lag.record(Math.max(1, Number(now - last) - RESOLUTION_NS));
      last = now;
    }, RESOLUTION_MS);
    timer.unref();

    const gauge = (name: string, what: string) =>
      ctx.meter.createObservableGauge(name, {
        description: `${what} of the event-loop lag since the previous collection, in seconds.`,
        unit: 's',
      });
    const names = ctx.options.naming === 'semconv' ? SEMCONV_NAMES : PROMETHEUS_NAMES;
    const stats: Array<[ReturnType<typeof gauge>, () => number]> = [
      [gauge(names.min, 'Minimum'), () => lag.min],
      [gauge(names.max, 'Maximum'), () => lag.max],
      [gauge(names.mean, 'Mean'), () => lag.mean],
      [gauge(names.stddev, 'Standard deviation'), () => lag.stddev],
      [gauge(names.p50, 'Median'), () => lag.percentile(50)],
      [gauge(names.p90, '90th percentile'), () => lag.percentile(90)],
      [gauge(names.p99, '99th percentile'), () => lag.percentile(99)],
    ];
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
