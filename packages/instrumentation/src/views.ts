import {
  AggregationType,
  createAllowListAttributesProcessor,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import {
  CATALOGUE,
  ENTRIES,
  METER_NAME,
  seriesOf,
  type CatalogueEntry,
  type SeriesDef,
} from './catalogue.js';
import { NATIVE_SUFFIX } from './export/collected.js';
import { instrumentName } from './instruments.js';
import { BODY_SIZE_BUCKETS } from './options/defaults.js';
import { resolveOptions, type ResolvedOptions } from './options/resolve.js';
import type { CollectorGroup, RegisterMetricsOptions } from './options/types.js';

/**
 * The Views a `MeterProvider` of your own needs for the package's series to keep their names,
 * buckets and series limits, from the same options you give `registerMetrics` (validated the same
 * way: a wrong one throws a TypeError naming it). Pass them to the provider before it is built,
 * e.g. `new NodeSDK({ views: createViews(options) })`; options other than `naming`, `collectors`,
 * the buckets and the limits do not change them.
 *
 * They also drop what OpenTelemetry's HTTP and Node.js runtime instrumentations record under a
 * name the package records too in that naming (with `naming: 'semconv'`,
 * `http.server.request.duration`, `nodejs.eventloop.delay.*`, `v8js.*`), so that no name is
 * exported twice, by two scopes; a group of ours switched off by `collectors` leaves theirs be.
 * Where those instrumentations are not loaded, these Views match nothing.
 */
export function createViews(options?: RegisterMetricsOptions): ViewOptions[] {
  const resolved = resolveOptions(options);
  return [...viewsFor(resolved), ...overlapViewsFor(resolved)];
}

type ViewSettings = Pick<
  ResolvedOptions,
  | 'latencyBuckets'
  | 'gcDurationBuckets'
  | 'cardinalityLimit'
  | 'naming'
  | 'latencyHistogram'
  | 'nativeHistogramMaxSize'
>;

/**
 * The Views of the naming in `options`, one for each series of the catalogue that needs one, and
 * a second for the latency histogram's native half with `latencyHistogram: 'both'`.
 */
export function viewsFor(options: ViewSettings): ViewOptions[] {
  return ENTRIES.flatMap((entry) => {
    const series = seriesOf(entry, options.naming);
    if (series === undefined) return [];
    const view = viewOf(series, options);
    const views = view === undefined ? [] : [view];
    if (series.buckets === 'latencyBuckets' && options.latencyHistogram === 'both') {
      views.push({ ...(view as ViewOptions), ...nativeOf(series, options) });
    }
    return views;
  });
}

/**
 * The latency histogram's native form: OpenTelemetry's base-2 exponential aggregation, under the
 * series' name with `'native'`, under that name and NATIVE_SUFFIX with `'both'` (the classic View
 * keeps the name). Min and max as for the classic form.
 */
function nativeOf(series: SeriesDef, options: ViewSettings): Partial<ViewOptions> {
  return {
    ...(options.latencyHistogram === 'both' && { name: `${series.name}${NATIVE_SUFFIX}` }),
    aggregation: {
      type: AggregationType.EXPONENTIAL_HISTOGRAM,
      options: {
        maxSize: options.nativeHistogramMaxSize,
        ...(options.naming === 'prometheus' && { recordMinMax: false }),
      },
    },
  };
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
  if (series.buckets === 'latencyBuckets' && options.latencyHistogram === 'native') {
    Object.assign(view, nativeOf(series, options));
    needed = true;
  } else if (series.buckets !== undefined) {
    view.aggregation = {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: {
        boundaries: [...bucketsOf(series.buckets, options)],
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

/** The bounds of a histogram's buckets: an option's, or the fixed body size buckets. */
export function bucketsOf(
  buckets: NonNullable<SeriesDef['buckets']>,
  options: Pick<ResolvedOptions, 'latencyBuckets' | 'gcDurationBuckets'>,
): readonly number[] {
  return buckets === 'bodySizeBuckets' ? BODY_SIZE_BUCKETS : options[buckets];
}

/**
 * What OpenTelemetry's instrumentations for Node.js record that the package may record too: by
 * meter, every instrument it creates (instrumentation-http 0.301, instrumentation-runtime-node
 * 0.37), and the catalogue entries of ours that may carry the same series, under the `collectors`
 * group that switches them (none: always recorded). Which of them share a name depends on the
 * naming; `overlapViewsFor` works it out.
 */
export const SDK_INSTRUMENTATIONS: ReadonlyArray<{
  meter: string;
  instruments: readonly string[];
  ours: ReadonlyArray<readonly [CollectorGroup | undefined, readonly CatalogueEntry[]]>;
}> = [
  {
    meter: '@opentelemetry/instrumentation-http',
    instruments: ['http.server.request.duration', 'http.client.request.duration'],
    ours: [[undefined, [CATALOGUE.app.requestLatency, CATALOGUE.app.requestCount]]],
  },
  {
    meter: '@opentelemetry/instrumentation-runtime-node',
    instruments: [
      ...['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(
        (stat) => `nodejs.eventloop.delay.${stat}`,
      ),
      'nodejs.eventloop.time',
      'nodejs.eventloop.utilization',
      'v8js.gc.duration',
      'v8js.memory.heap.space.available_size',
      'v8js.memory.heap.space.physical_size',
      'v8js.memory.heap.space.size',
      'v8js.memory.heap.used',
      'v8js.resource.active',
    ],
    ours: [
      [
        'eventLoop',
        [
          CATALOGUE.nodejs.eventLoopLagMin,
          CATALOGUE.nodejs.eventLoopLagMax,
          CATALOGUE.nodejs.eventLoopLagMean,
          CATALOGUE.nodejs.eventLoopLagStddev,
          CATALOGUE.nodejs.eventLoopLagP50,
          CATALOGUE.nodejs.eventLoopLagP90,
          CATALOGUE.nodejs.eventLoopLagP99,
          CATALOGUE.nodejs.eventLoopUtilization,
        ],
      ],
      ['gc', [CATALOGUE.nodejs.gcDuration]],
      [
        'runtime',
        [
          CATALOGUE.nodejs.heapSizeTotal,
          CATALOGUE.nodejs.heapSizeUsed,
          CATALOGUE.nodejs.heapSpaceSizeTotal,
          CATALOGUE.nodejs.heapSpaceSizeUsed,
          CATALOGUE.nodejs.heapSpaceSizeAvailable,
          CATALOGUE.nodejs.activeResources,
        ],
      ],
    ],
  },
];

/**
 * A name as OpenTelemetry's Prometheus exporter writes it (every character but `[a-zA-Z0-9_]` as
 * `_`, runs of `_` as one), so that `a.b` and `a_b` count as one name.
 */
const exportedAs = (name: string): string =>
  name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_');

/**
 * Views that drop the instruments of OpenTelemetry's instrumentations (`SDK_INSTRUMENTATIONS`)
 * exported under a name that one of the package's series of this naming has, where its collector
 * is on: the name is then exported once, by the package. Ours is the one kept because it follows
 * the same conventions and carries more: `http.route` from Express' own route table, with or
 * without the Express instrumentation, bounded label values, and the `collectors` and `naming`
 * options to choose with.
 */
function overlapViewsFor(options: Pick<ResolvedOptions, 'naming' | 'collectors'>): ViewOptions[] {
  return SDK_INSTRUMENTATIONS.flatMap(({ meter, instruments, ours }) => {
    const recorded = new Set(
      ours.flatMap(([group, entries]) =>
        group !== undefined && !options.collectors[group]
          ? []
          : entries.flatMap((entry) => {
              const series = seriesOf(entry, options.naming);
              return series === undefined ? [] : [exportedAs(series.name)];
            }),
      ),
    );
    return instruments
      .filter((name) => recorded.has(exportedAs(name)))
      .map((name): ViewOptions => ({
        meterName: meter,
        instrumentName: name,
        aggregation: { type: AggregationType.DROP },
      }));
  });
}
