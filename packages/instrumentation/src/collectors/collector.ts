import type { Meter } from '@opentelemetry/api';
import type { ResolvedOptions } from '../options.js';

/**
 * One group of series that is read at collection time rather than recorded on the request path
 * (the app's version now; process, runtime and GC series next). A collector creates its
 * instruments on the meter it is given and returns how to stop it.
 */
export interface Collector {
  /** Shown in reports when the collector fails. */
  readonly name: string;
  /** Creates the instruments; the returned function removes callbacks and timers. */
  start(meter: Meter, options: ResolvedOptions): () => void;
}
