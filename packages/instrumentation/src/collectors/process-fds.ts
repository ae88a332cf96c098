import { hasProc, readMaxFds, readOpenFds } from '../gather/proc.js';
import { PROCESS_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/** `process_open_fds` and `process_max_fds`, from `/proc`; absent where there is none. */
export const processFdsCollector: Collector = {
  name: 'process-fds',
  group: 'process',
  start(ctx) {
    if (!hasProc()) return () => undefined;
    const open = ctx.meter.createObservableGauge(PROCESS_METRICS.openFds, {
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
