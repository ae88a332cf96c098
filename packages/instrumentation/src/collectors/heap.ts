import { getHeapSpaceStatistics, getHeapStatistics, type HeapSpaceInfo } from 'node:v8';
import type { Attributes, Observable } from '@opentelemetry/api';
import { CATALOGUE } from '../catalogue.js';
import { heapSpaceLabel } from '../platform/runtime.js';
import { observableOf, observeBatch, seriesIn, type Collector } from './collector.js';

/**
 * V8 heap totals, external memory, and the size of each heap space. The semantic conventions
 * describe the spaces only (their sums are the totals) and not external memory, which keeps its
 * name; they name a space as V8 does (`old_space`), where the Prometheus naming drops the suffix
 * (`old`), as other Node.js exporters write it.
 */
export const heapCollector: Collector = {
  name: 'heap',
  group: 'runtime',
  start(ctx) {
    const n = CATALOGUE.nodejs;
    // The totals, where the naming has series of their own.
    const totals: Array<[Observable, 'total_heap_size' | 'used_heap_size']> = [];
    if (seriesIn(ctx, n.heapSizeTotal) !== undefined) {
      totals.push([observableOf(ctx, n.heapSizeTotal).instrument, 'total_heap_size']);
      totals.push([observableOf(ctx, n.heapSizeUsed).instrument, 'used_heap_size']);
    }
    const external = observableOf(ctx, n.externalMemory).instrument;
    const spaces = (
      [
        [n.heapSpaceSizeTotal, 'space_size'],
        [n.heapSpaceSizeUsed, 'space_used_size'],
        [n.heapSpaceSizeAvailable, 'space_available_size'],
      ] as const
    ).map(([entry, field]) => ({ ...observableOf(ctx, entry), field }));
    const [key = ''] = spaces[0]?.series.attributes ?? [];
    const label = ctx.options.naming === 'semconv' ? (name: string) => name : heapSpaceLabel;
    // One attribute object per space, made once: the set of spaces is fixed for the process.
    const attributesOf = new Map<string, Attributes>();
    const attributes = (space: HeapSpaceInfo): Attributes => {
      let made = attributesOf.get(space.space_name);
      if (made === undefined) {
        made = { [key]: label(space.space_name) };
        attributesOf.set(space.space_name, made);
      }
      return made;
    };
    return observeBatch(
      ctx,
      [...totals.map(([o]) => o), external, ...spaces.map((s) => s.instrument)],
      (r) => {
        const heap = getHeapStatistics();
        for (const [instrument, field] of totals) r.observe(instrument, heap[field]);
        r.observe(external, heap.external_memory);
        for (const space of getHeapSpaceStatistics()) {
          for (const { instrument, field } of spaces) {
            r.observe(instrument, space[field], attributes(space));
          }
        }
      },
    );
  },
};
