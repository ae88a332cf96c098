import { readVirtualMemoryBytes } from '../gather/proc.js';
import { PROCESS_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/** `process_virtual_memory_bytes`, from `/proc/self/status`; absent where there is none. */
export const processVirtualMemoryCollector: Collector = {
  name: 'process-virtual-memory',
  group: 'process',
  start(ctx) {
    if (readVirtualMemoryBytes() === undefined) return () => undefined;
    const gauge = ctx.meter.createObservableGauge(PROCESS_METRICS.virtualMemory, {
      description: 'Virtual memory size in bytes.',
      unit: 'By',
    });
    return observeBatch(ctx, [gauge], (result) => {
      const bytes = readVirtualMemoryBytes();
      if (bytes !== undefined) result.observe(gauge, bytes);
    });
  },
};
