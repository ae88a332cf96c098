import type { BatchObservableResult, Meter, MeterProvider, Observable } from '@opentelemetry/api';
import { seriesOf, type CatalogueEntry, type SeriesDef } from '../catalogue.js';
import { createObservable } from '../instruments.js';
import type { ResolvedOptions } from '../options/resolve.js';
import type { CollectorGroup } from '../options/types.js';

/** What a collector is given to create its instruments. */
export interface CollectorContext {
  meter: Meter;
  /** For collectors that wrap an OpenTelemetry instrumentation with a meter of its own. */
  meterProvider: MeterProvider;
  options: ResolvedOptions;
  /**
   * Wraps a callback so that a throw is reported once through `diag`, naming the collector, and the
   * collection carries on with the other series.
   */
  guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
}

/**
 * One group of series read at collection time rather than on the request path. A collector
 * creates its instruments and returns how to stop it (remove callbacks, observers and timers).
 */
export interface Collector {
  /** Shown in reports when the collector fails. */
  readonly name: string;
  /** The `collectors` option that switches it; always on when absent. */
  readonly group?: CollectorGroup;
  start(ctx: CollectorContext): () => void;
}

/**
 * The series of `entry` in the naming of the options; undefined when the series of another entry
 * carries it in that naming.
 */
export function seriesIn(ctx: CollectorContext, entry: CatalogueEntry): SeriesDef | undefined {
  return seriesOf(entry, ctx.options.naming);
}

/**
 * The observable instrument of `entry` in the naming of the options, and its series. For an entry
 * that has a series of its own in that naming; asked of another, it throws, and the collector is
 * reported as failed to start.
 */
export function observableOf(
  ctx: CollectorContext,
  entry: CatalogueEntry,
): { instrument: Observable; series: SeriesDef } {
  const series = seriesIn(ctx, entry);
  if (series === undefined) {
    throw new Error(`${entry.prometheus.name} has no series of its own in this naming`);
  }
  return { instrument: createObservable(ctx.meter, series), series };
}

/** Registers one guarded batch callback for `observables` and returns its removal. */
export function observeBatch(
  ctx: CollectorContext,
  observables: Observable[],
  callback: (result: BatchObservableResult) => void,
): () => void {
  const guarded = ctx.guard(callback);
  ctx.meter.addBatchObservableCallback(guarded, observables);
  return () => ctx.meter.removeBatchObservableCallback(guarded, observables);
}
