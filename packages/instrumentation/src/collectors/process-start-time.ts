import { performance } from 'node:perf_hooks';
import { PROCESS_METRICS, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/**
 * `process_start_time_seconds`. `performance.timeOrigin` is when the process started, before any
 * module loaded, so the value does not move with the time the package was imported.
 *
 * The semantic conventions have no start time but `process.uptime`, the seconds since then
 * (`time() - process_start_time_seconds`); it is measured from the same origin.
 */
export const processStartTimeCollector: Collector = {
  name: 'process-start-time',
  group: 'process',
  start(ctx) {
    if (ctx.options.naming === 'semconv') {
      const uptime = ctx.meter.createObservableGauge(SEMCONV_METRICS.uptime, {
        description: 'The time the process has been running.',
        unit: 's',
      });
      return observeBatch(ctx, [uptime], (result) =>
        result.observe(uptime, performance.now() / 1000),
      );
    }
    const gauge = ctx.meter.createObservableGauge(PROCESS_METRICS.startTime, {
      description: 'Start time of the process since unix epoch in seconds.',
      unit: 's',
    });
    const startSeconds = performance.timeOrigin / 1000;
    return observeBatch(ctx, [gauge], (result) => result.observe(gauge, startSeconds));
  },
};
