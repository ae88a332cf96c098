import { performance } from 'node:perf_hooks';
import { CATALOGUE } from '../catalogue.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

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
    const { instrument } = observableOf(ctx, CATALOGUE.process.startTime);
    const startSeconds = performance.timeOrigin / 1000;
    const read =
      ctx.options.naming === 'semconv' ? () => performance.now() / 1000 : () => startSeconds;
    return observeBatch(ctx, [instrument], (result) => result.observe(instrument, read()));
  },
};
