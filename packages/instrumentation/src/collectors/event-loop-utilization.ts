import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { CATALOGUE } from '../catalogue.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

/**
 * `nodejs_eventloop_utilization_ratio` (semantic conventions: `nodejs.eventloop.utilization`): busy
 * share of the event loop since the previous collection.
 */
export const eventLoopUtilizationCollector: Collector = {
  name: 'event-loop-utilization',
  group: 'eventLoop',
  start(ctx) {
    const { instrument } = observableOf(ctx, CATALOGUE.nodejs.eventLoopUtilization);
    let previous: EventLoopUtilization = performance.eventLoopUtilization();
    return observeBatch(ctx, [instrument], (result) => {
      const now = performance.eventLoopUtilization();
      result.observe(instrument, performance.eventLoopUtilization(now, previous).utilization);
      previous = now;
    });
  },
};
