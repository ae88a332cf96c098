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
} from './names.js';
import type { ResolvedOptions } from './options.js';

/**
 * The Views that turn the package's instruments into the Prometheus series of the contract:
 * the names, the buckets and the series limit. The request instruments have no attribute filter:
 * the middleware alone records into them with exactly the declared labels, and a filter costs an
 * object and a context lookup on every request. The instruments recorded once or rarely keep an
 * allow-list against a stray attribute.
 */
export function createViews(
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
