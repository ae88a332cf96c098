import { CATALOGUE } from '../catalogue.js';
import { hasProc, readMaxFds, readOpenFds } from '../platform/proc.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

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
    const open = observableOf(ctx, CATALOGUE.process.openFds).instrument;
    const max = observableOf(ctx, CATALOGUE.process.maxFds).instrument;
    return observeBatch(ctx, [open, max], (result) => {
      const openFds = readOpenFds();
      if (openFds !== undefined) result.observe(open, openFds);
      const maxFds = readMaxFds();
      if (maxFds !== undefined) result.observe(max, maxFds);
    });
  },
};
