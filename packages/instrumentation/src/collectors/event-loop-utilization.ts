import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { NODEJS_METRICS, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/**
 * `nodejs_eventloop_utilization_ratio` (semantic conventions: `nodejs.eventloop.utilization`): busy
 * share of the event loop since the previous collection.
 */
export const eventLoopUtilizationCollector: Collector = {
  name: 'event-loop-utilization',
  group: 'eventLoop',
  start(ctx) {
    const gauge = ctx.meter.createObservableGauge(
      ctx.options.naming === 'semconv'
        ? SEMCONV_METRICS.eventLoopUtilization
        : NODEJS_METRICS.eventLoopUtilization,
      {
        description: 'Share of time the event loop was busy since the previous collection (0..1).',
        unit: '1',
      },
    );
    let previous: EventLoopUtilization = performance.eventLoopUtilization();
    return observeBatch(ctx, [gauge], (result) => {
      const now = performance.eventLoopUtilization();
      result.observe(gauge, performance.eventLoopUtilization(now, previous).utilization);
      previous = now;
    });
  },
};
