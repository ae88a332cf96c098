import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { CATALOGUE } from '../catalogue.js';
import { createHistogram } from '../instruments.js';
import { gcKind } from '../platform/runtime.js';
import { seriesIn, type Collector } from './collector.js';

/**
 * `nodejs_gc_duration_seconds{kind}`: every GC pause, observed as it happens (one of the two
 * always-on parts of the collectors). Each registration has its own observer feeding its own
 * provider, so two providers in one process each count every collection once. The semantic
 * conventions call it `v8js.gc.duration{v8js.gc.type}`, with the same kinds.
 */
export const gcCollector: Collector = {
  name: 'gc',
  group: 'gc',
  start(ctx) {
    const series = seriesIn(ctx, CATALOGUE.nodejs.gcDuration);
    if (series === undefined) return () => undefined;
    const { naming, gcDurationBuckets } = ctx.options;
    const histogram = createHistogram(ctx.meter, series, naming, gcDurationBuckets);
    const [key = ''] = series.attributes;
    const observer = new PerformanceObserver(
      ctx.guard((list: { getEntries(): PerformanceEntry[] }) => {
        for (const entry of list.getEntries()) {
          const kind = gcKind(
            ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind,
          );
          if (kind !== undefined) {
            histogram.record(entry.duration / 1000, { [key]: kind });
          }
        }
      }),
    );
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  },
};
