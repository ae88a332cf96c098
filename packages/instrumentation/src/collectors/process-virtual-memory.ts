import { readVirtualMemoryBytes } from '../gather/proc.js';
import { PROCESS_METRICS, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/**
 * `process_virtual_memory_bytes` (semantic conventions: `process.memory.virtual`, an UpDownCounter),
 * from `/proc/self/status`; absent where there is none.
 */
export const processVirtualMemoryCollector: Collector = {
  name: 'process-virtual-memory',
  group: 'process',
  start(ctx) {
    if (readVirtualMemoryBytes() === undefined) return () => undefined;
    const gauge =
      ctx.options.naming === 'semconv'
        ? ctx.meter.createObservableUpDownCounter(SEMCONV_METRICS.memoryVirtual, {
            description: 'The amount of committed virtual memory.',
            unit: 'By',
          })
        : ctx.meter.createObservableGauge(PROCESS_METRICS.virtualMemory, {
            description: 'Virtual memory size in bytes.',
            unit: 'By',
          });
    return observeBatch(ctx, [gauge], (result) => {
      const bytes = readVirtualMemoryBytes();
      if (bytes !== undefined) result.observe(gauge, bytes);
    });
  },
};
