import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { heapSpaceLabel } from '../gather/runtime.js';
import { NODEJS_METRICS, RUNTIME_LABELS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/** V8 heap totals, external memory, and the size of each heap space. */
export const heapCollector: Collector = {
  name: 'heap',
  group: 'runtime',
  start(ctx) {
    const gauge = (name: string, description: string) =>
      ctx.meter.createObservableGauge(name, { description, unit: 'By' });
    const total = gauge(NODEJS_METRICS.heapSizeTotal, 'Process heap size from V8 in bytes.');
    const used = gauge(NODEJS_METRICS.heapSizeUsed, 'Process heap size used from V8 in bytes.');
    const external = gauge(NODEJS_METRICS.externalMemory, 'V8 external memory size in bytes.');
    const spaceTotal = gauge(
      NODEJS_METRICS.heapSpaceSizeTotal,
      'Size of each V8 heap space in bytes.',
    );
    const spaceUsed = gauge(
      NODEJS_METRICS.heapSpaceSizeUsed,
      'Used size of each V8 heap space in bytes.',
    );
    const spaceAvailable = gauge(
      NODEJS_METRICS.heapSpaceSizeAvailable,
      'Available size of each V8 heap space in bytes.',
    );
    return observeBatch(
      ctx,
      [total, used, external, spaceTotal, spaceUsed, spaceAvailable],
      (r) => {
        const heap = getHeapStatistics();
        r.observe(total, heap.total_heap_size);
        r.observe(used, heap.used_heap_size);
        r.observe(external, heap.external_memory);
        for (const space of getHeapSpaceStatistics()) {
          const attributes = { [RUNTIME_LABELS.space]: heapSpaceLabel(space.space_name) };
          r.observe(spaceTotal, space.space_size, attributes);
          r.observe(spaceUsed, space.space_used_size, attributes);
          r.observe(spaceAvailable, space.space_available_size, attributes);
        }
      },
    );
  },
};
