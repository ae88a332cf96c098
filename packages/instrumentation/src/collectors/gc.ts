import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { gcKind } from '../gather/runtime.js';
import { NODEJS_METRICS, RUNTIME_LABELS, SEMCONV_ATTRIBUTES, SEMCONV_METRICS } from '../names.js';
import type { Collector } from './collector.js';

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
    const semconv = ctx.options.naming === 'semconv';
    const histogram = semconv
      ? ctx.meter.createHistogram(SEMCONV_METRICS.gcDuration, {
          description: 'Garbage collection duration.',
          unit: 's',
          // For a provider built without the package's Views (option `meterProvider`).
          advice: { explicitBucketBoundaries: [...ctx.options.gcDurationBuckets] },
        })
      : ctx.meter.createHistogram(NODEJS_METRICS.gcDuration, {
          description: 'Garbage collection duration by kind, in seconds.',
          unit: 's',
        });
    const key = semconv ? SEMCONV_ATTRIBUTES.gcType : RUNTIME_LABELS.kind;
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
