import { hasProc, readMaxFds, readOpenFds } from '../gather/proc.js';
import { PROCESS_METRICS, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/**
 * `process_open_fds` and `process_max_fds`, from `/proc`; absent where there is none. With the
 * semantic conventions the open ones are `process.unix.file_descriptor.count`, an UpDownCounter;
 * the conventions have no limit, which keeps its name.
 */
export const processFdsCollector: Collector = {
  name: 'process-fds',
  group: 'process',
  start(ctx) {
    if (!hasProc()) return () => undefined;
    const open =
      ctx.options.naming === 'semconv'
        ? ctx.meter.createObservableUpDownCounter(SEMCONV_METRICS.fileDescriptorCount, {
            description: 'Number of UNIX file descriptors in use by the process.',
            unit: '{file_descriptor}',
          })
        : ctx.meter.createObservableGauge(PROCESS_METRICS.openFds, {
            description: 'Number of open file descriptors.',
          });
    const max = ctx.meter.createObservableGauge(PROCESS_METRICS.maxFds, {
      description: 'Maximum number of open file descriptors.',
    });
    return observeBatch(ctx, [open, max], (result) => {
      const openFds = readOpenFds();
      if (openFds !== undefined) result.observe(open, openFds);
      const maxFds = readMaxFds();
      if (maxFds !== undefined) result.observe(max, maxFds);
    });
  },
};
