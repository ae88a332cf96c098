import type { BatchObservableResult, Meter, MeterProvider, Observable } from '@opentelemetry/api';
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
