import { CATALOGUE } from '../catalogue.js';
import { readVirtualMemoryBytes } from '../platform/proc.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

/**
 * `process_virtual_memory_bytes` (semantic conventions: `process.memory.virtual`, an UpDownCounter),
 * from `/proc/self/status`; absent where there is none.
 */
export const processVirtualMemoryCollector: Collector = {
  name: 'process-virtual-memory',
  group: 'process',
  start(ctx) {
    if (readVirtualMemoryBytes() === undefined) return () => undefined;
    const { instrument } = observableOf(ctx, CATALOGUE.process.virtualMemory);
    return observeBatch(ctx, [instrument], (result) => {
      const bytes = readVirtualMemoryBytes();
      if (bytes !== undefined) result.observe(instrument, bytes);
    });
  },
};
