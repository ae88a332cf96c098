import {
  AggregationType,
  createAllowListAttributesProcessor,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { ENTRIES, METER_NAME, seriesOf, type SeriesDef } from './catalogue.js';
import { instrumentName } from './instruments.js';
import { resolveOptions, type ResolvedOptions } from './options/resolve.js';
import type { RegisterMetricsOptions } from './options/types.js';

/**
 * The Views a `MeterProvider` of your own needs for the package's series to keep their names,
 * buckets and series limits, from the same options you give `registerMetrics` (validated the same
 * way: a wrong one throws a TypeError naming it). Pass them to the provider before it is built,
 * e.g. `new NodeSDK({ views: createViews(options) })`; options other than `naming`, the buckets and
 * the limits do not change them.
 */
export function createViews(options?: RegisterMetricsOptions): ViewOptions[] {
  return viewsFor(resolveOptions(options));
}

type ViewSettings = Pick<
  ResolvedOptions,
  'latencyBuckets' | 'gcDurationBuckets' | 'cardinalityLimit' | 'naming'
>;

/** The Views of the naming in `options`, one for each series of the catalogue that needs one. */
export function viewsFor(options: ViewSettings): ViewOptions[] {
  return ENTRIES.flatMap((entry) => {
    const series = seriesOf(entry, options.naming);
    const view = series === undefined ? undefined : viewOf(series, options);
    return view === undefined ? [] : [view];
  });
}

/**
 * A series' View: its name where it is recorded under another (the Prometheus naming's contract),
 * with the description of the package where the instrument is another meter's; its buckets; the
 * series limit of the instruments that record request data; and an allow-list of its labels on
 * those recorded once or rarely, against a stray attribute. The request instruments have no
 * attribute filter: the interceptor alone records into them with exactly the declared labels, and
 * a filter costs an object and a context lookup on every request. Prometheus shows no min and max,
 * so its naming does not record them; OTLP backends do, so the semantic conventions keep them.
 */
function viewOf(series: SeriesDef, options: ViewSettings): ViewOptions | undefined {
  const view: ViewOptions = {
    meterName: series.meter ?? METER_NAME,
    instrumentName: instrumentName(series),
  };
  let needed = false;
  if (series.instrument !== undefined) {
    view.name = series.name;
    if (series.meter !== undefined) view.description = series.description;
    needed = true;
  }
  if (series.buckets !== undefined) {
    view.aggregation = {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: {
        boundaries: [...options[series.buckets]],
        ...(options.naming === 'prometheus' && { recordMinMax: false }),
      },
    };
    needed = true;
  }
  if (series.limited === true) {
    view.aggregationCardinalityLimit = options.cardinalityLimit;
    needed = true;
  }
  if (series.allowList === true) {
    view.attributesProcessors = [createAllowListAttributesProcessor([...series.attributes])];
    needed = true;
  }
  return needed ? view : undefined;
}
