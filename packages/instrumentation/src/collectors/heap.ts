import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { Attributes } from '@opentelemetry/api';
import { heapSpaceLabel } from '../gather/runtime.js';
import { NODEJS_METRICS, RUNTIME_LABELS, SEMCONV_ATTRIBUTES, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector, type CollectorContext } from './collector.js';

/**
 * V8 heap totals, external memory, and the size of each heap space. The semantic conventions
 * describe the spaces only (their sums are the totals) and not external memory, which keeps its
 * name.
 */
export const heapCollector: Collector = {
  name: 'heap',
  group: 'runtime',
  start(ctx) {
    if (ctx.options.naming === 'semconv') return startSemconv(ctx);
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

function startSemconv(ctx: CollectorContext): () => void {
  const { meter } = ctx;
  const upDown = (name: string, description: string) =>
    meter.createObservableUpDownCounter(name, { description, unit: 'By' });
  const used = upDown(SEMCONV_METRICS.heapUsed, 'Heap Memory size allocated.');
  const size = upDown(
    SEMCONV_METRICS.heapSpaceSize,
    'Total heap memory size pre-allocated for a heap space.',
  );
  const available = upDown(SEMCONV_METRICS.heapSpaceAvailableSize, 'Heap space available size.');
  const external = meter.createObservableGauge(NODEJS_METRICS.externalMemory, {
    description: 'V8 external memory size in bytes.',
    unit: 'By',
  });
  // One attribute object per space, made once: the set of spaces is fixed for the process.
  const spaces = new Map<string, Attributes>();
  return observeBatch(ctx, [used, size, available, external], (r) => {
    r.observe(external, getHeapStatistics().external_memory);
    for (const space of getHeapSpaceStatistics()) {
      let attributes = spaces.get(space.space_name);
      if (attributes === undefined) {
        attributes = { [SEMCONV_ATTRIBUTES.heapSpaceName]: space.space_name };
        spaces.set(space.space_name, attributes);
      }
      r.observe(used, space.space_used_size, attributes);
      r.observe(size, space.space_size, attributes);
      r.observe(available, space.space_available_size, attributes);
    }
  });
}
