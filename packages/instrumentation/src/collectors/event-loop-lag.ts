import { monitorEventLoopDelay } from 'node:perf_hooks';
import { NODEJS_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/** How often the event-loop delay is sampled, in milliseconds (Node's default). */
const RESOLUTION_MS = 10;
const RESOLUTION_NS = RESOLUTION_MS * 1e6;

/**
 * `nodejs_eventloop_lag_*_seconds`: statistics of the event-loop delay since the previous
 * collection (the histogram is reset after each one), so each scrape describes its own interval.
 * Node records the whole time between two samples; the sampling interval is taken off, so an idle
 * loop reads 0 rather than 10 ms.
 */
export const eventLoopLagCollector: Collector = {
  name: 'event-loop-lag',
  group: 'eventLoop',
  start(ctx) {
    const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    delay.enable();
    const gauge = (name: string, what: string) =>
      ctx.meter.createObservableGauge(name, {
        description: `${what} of the event-loop delay since the previous collection, in seconds.`,
        unit: 's',
      });
    const lag = (ns: number): number => Math.max(0, ns - RESOLUTION_NS) / 1e9;
    const stats: Array<[ReturnType<typeof gauge>, () => number]> = [
      [gauge(NODEJS_METRICS.eventLoopLagMin, 'Minimum'), () => lag(delay.min)],
      [gauge(NODEJS_METRICS.eventLoopLagMax, 'Maximum'), () => lag(delay.max)],
      [gauge(NODEJS_METRICS.eventLoopLagMean, 'Mean'), () => lag(delay.mean)],
      [gauge(NODEJS_METRICS.eventLoopLagStddev, 'Standard deviation'), () => delay.stddev / 1e9],
      [gauge(NODEJS_METRICS.eventLoopLagP50, 'Median'), () => lag(delay.percentile(50))],
      [gauge(NODEJS_METRICS.eventLoopLagP90, '90th percentile'), () => lag(delay.percentile(90))],
      [gauge(NODEJS_METRICS.eventLoopLagP99, '99th percentile'), () => lag(delay.percentile(99))],
    ];
    const stop = observeBatch(
      ctx,
      stats.map(([g]) => g),
      (result) => {
        // No sample yet (a collection right after the previous one): nothing to describe.
        if (delay.count === 0) return;
        for (const [g, read] of stats) result.observe(g, read());
        delay.reset();
      },
    );
    return () => {
      stop();
      delay.disable();
    };
  },
};
