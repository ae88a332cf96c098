import {
  AggregationType,
  createAllowListAttributesProcessor,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import {
  HOST_METRICS,
  INSTRUMENTS,
  LABELS,
  METER_NAME,
  METRICS,
  NODEJS_METRICS,
  PROCESS_METRICS,
  RUNTIME_LABELS,
  SEMCONV_ATTRIBUTES,
  SEMCONV_METRICS,
} from './names.js';
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

/**
 * The Views of the naming in `options`: the buckets and the series limits, and for the Prometheus
 * naming the names of the contract. With the semantic conventions the instruments already carry
 * their names, and no View renames them.
 */
export function viewsFor(
  options: Pick<
    ResolvedOptions,
    'latencyBuckets' | 'gcDurationBuckets' | 'cardinalityLimit' | 'naming'
  >,
): ViewOptions[] {
  return options.naming === 'semconv' ? semconvViews(options) : prometheusViews(options);
}

/**
 * The Views that turn the package's instruments into the Prometheus series of the contract:
 * the names, the buckets and the series limit. The request instruments have no attribute filter:
 * the middleware alone records into them with exactly the declared labels, and a filter costs an
 * object and a context lookup on every request. The instruments recorded once or rarely keep an
 * allow-list against a stray attribute.
 */
function prometheusViews(
  options: Pick<ResolvedOptions, 'latencyBuckets' | 'gcDurationBuckets' | 'cardinalityLimit'>,
): ViewOptions[] {
  return [
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.requestLatency,
      name: METRICS.requestLatency,
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: [...options.latencyBuckets], recordMinMax: false },
      },
      aggregationCardinalityLimit: options.cardinalityLimit,
    },
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.requestCount,
      name: METRICS.requestCount,
      aggregationCardinalityLimit: options.cardinalityLimit,
    },
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.versionInfo,
      name: METRICS.versionInfo,
      attributesProcessors: [createAllowListAttributesProcessor([LABELS.version, LABELS.config])],
    },
    {
      meterName: METER_NAME,
      instrumentName: NODEJS_METRICS.gcDuration,
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: [...options.gcDurationBuckets], recordMinMax: false },
      },
      attributesProcessors: [createAllowListAttributesProcessor([RUNTIME_LABELS.kind])],
    },
    {
      meterName: HOST_METRICS.meterName,
      instrumentName: HOST_METRICS.processMemoryUsage,
      name: PROCESS_METRICS.residentMemory,
      description: 'Resident memory size in bytes.',
    },
  ];
}

/**
 * The semantic-convention instruments: their names stay, the histograms get their buckets. The
 * request histogram keeps min and max, which OTLP backends show and Prometheus ignores. Resident
 * memory is recorded by a collector of the package here, not by host metrics, so nothing else
 * needs a View.
 */
function semconvViews(
  options: Pick<ResolvedOptions, 'latencyBuckets' | 'gcDurationBuckets' | 'cardinalityLimit'>,
): ViewOptions[] {
  return [
    {
      meterName: METER_NAME,
      instrumentName: SEMCONV_METRICS.requestDuration,
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: [...options.latencyBuckets] },
      },
      aggregationCardinalityLimit: options.cardinalityLimit,
    },
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.versionInfo,
      attributesProcessors: [createAllowListAttributesProcessor([LABELS.version, LABELS.config])],
    },
    {
      meterName: METER_NAME,
      instrumentName: SEMCONV_METRICS.gcDuration,
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: [...options.gcDurationBuckets] },
      },
      attributesProcessors: [createAllowListAttributesProcessor([SEMCONV_ATTRIBUTES.gcType])],
    },
  ];
}
