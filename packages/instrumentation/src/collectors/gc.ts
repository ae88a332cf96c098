import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { gcKind } from '../gather/runtime.js';
import { NODEJS_METRICS, RUNTIME_LABELS } from '../names.js';
import type { Collector } from './collector.js';

/**
 * `nodejs_gc_duration_seconds{kind}`: every GC pause, observed as it happens (one of the two
 * always-on parts of the collectors). Each registration has its own observer feeding its own
 * provider, so two providers in one process each count every collection once.
 */
export const gcCollector: Collector = {
  name: 'gc',
  group: 'gc',
  start(ctx) {
    const histogram = ctx.meter.createHistogram(NODEJS_METRICS.gcDuration, {
      description: 'Garbage collection duration by kind, in seconds.',
      unit: 's',
    });
    const observer = new PerformanceObserver(
      ctx.guard((list: { getEntries(): PerformanceEntry[] }) => {
        for (const entry of list.getEntries()) {
          const kind = gcKind(
            ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind,
          );
          if (kind !== undefined) {
            histogram.record(entry.duration / 1000, { [RUNTIME_LABELS.kind]: kind });
          }
        }
      }),
    );
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  },
};
