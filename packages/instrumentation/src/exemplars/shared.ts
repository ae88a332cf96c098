/**
 * Exemplars across the package's two halves when the app records into a `MeterProvider` of its
 * own (option `meterProvider`, OpenTelemetry's NodeSDK) and `createPrometheusReader` serves it: the
 * registration keeps the exemplars of its requests (it alone sees the spans), the reader writes the
 * collections (it alone sees them), and neither holds the other. They meet here, in the process:
 * each registration with `meterProvider` adds its store, and every such reader decorates what it
 * collects with every store. A store only touches the points of the package's meter whose metric
 * names, label sets and bucket counts are its own (store.ts `decorate`), so a reader of another
 * provider is left as it was.
 *
 * Registrations look for spans only while such a reader is open: an app that exports OTLP from its
 * provider (whose exporters carry no exemplars) pays nothing for them.
 */

import type { Collected } from '../export/collected.js';
import type { ExemplarStore } from './store.js';

const stores = new Set<ExemplarStore>();
let readers = 0;

/** Adds a registration's store; the function returned removes it (at its shutdown). */
export function shareStore(store: ExemplarStore): () => void {
  stores.add(store);
  return () => stores.delete(store);
}

/** A reader opens; the function returned closes it (at its shutdown), once however often called. */
export function openReader(): () => void {
  readers++;
  let open = true;
  return () => {
    if (open) readers--;
    open = false;
  };
}

/** Whether any reader may read exemplars now: the request path asks it before looking for a span. */
export function readersOpen(): boolean {
  return readers > 0;
}

/** `collected` with the exemplars of every shared store on its points. */
export function withSharedExemplars(collected: Collected): Collected {
  let decorated = collected;
  for (const store of stores) decorated = store.decorate(decorated);
  return decorated;
}
