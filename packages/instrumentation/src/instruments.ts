/** The package's instruments, made from their catalogue records. */

import type { Counter, Histogram, Meter, Observable, UpDownCounter } from '@opentelemetry/api';
import type { Naming, SeriesDef } from './catalogue.js';

const optionsOf = (def: SeriesDef) => ({ description: def.description, unit: def.unit });

/** The name an instrument is recorded under (a View may rename it). */
export const instrumentName = (def: SeriesDef): string => def.instrument ?? def.name;

/** The observable instrument of a series read at collection time. */
export function createObservable(meter: Meter, def: SeriesDef): Observable {
  const name = instrumentName(def);
  switch (def.kind) {
    case 'counter':
      return meter.createObservableCounter(name, optionsOf(def));
    case 'updown':
      return meter.createObservableUpDownCounter(name, optionsOf(def));
    case 'gauge':
      return meter.createObservableGauge(name, optionsOf(def));
    case 'histogram':
      throw new TypeError(`express-otel-metrics: ${name} is a histogram, which is not observable`);
  }
}

/**
 * A histogram. Under the semantic conventions it carries their advice on buckets, for a provider
 * built without the package's Views (option `meterProvider`); the Prometheus naming's buckets
 * come from the Views alone, so that without them the SDK's defaults show.
 */
export function createHistogram(
  meter: Meter,
  def: SeriesDef,
  naming: Naming,
  buckets: readonly number[],
): Histogram {
  return meter.createHistogram(instrumentName(def), {
    ...optionsOf(def),
    ...(naming === 'semconv' && { advice: { explicitBucketBoundaries: [...buckets] } }),
  });
}

export function createCounter(meter: Meter, def: SeriesDef): Counter {
  return meter.createCounter(instrumentName(def), optionsOf(def));
}

export function createUpDownCounter(meter: Meter, def: SeriesDef): UpDownCounter {
  return meter.createUpDownCounter(instrumentName(def), optionsOf(def));
}
