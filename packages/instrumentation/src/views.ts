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
 * the names, the buckets and the labels kept. The allow-lists keep a stray attribute (from a
 * future hook or another library's meter of the same name) from adding series.
 */
export function createViews(
  options: Pick<
    ResolvedOptions,
    'latencyBuckets' | 'gcDurationBuckets' | 'extraLabels' | 'cardinalityLimit'
  >,
): ViewOptions[] {
  const extra = options.extraLabels?.names ?? [];
  return [
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.requestLatency,
      name: METRICS.requestLatency,
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: [...options.latencyBuckets], recordMinMax: false },
      },
      attributesProcessors: [
        createAllowListAttributesProcessor([LABELS.method, LABELS.endpoint, ...extra]),
      ],
      aggregationCardinalityLimit: options.cardinalityLimit,
    },
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.requestCount,
      name: METRICS.requestCount,
      attributesProcessors: [
        createAllowListAttributesProcessor([
          LABELS.method,
          LABELS.endpoint,
          LABELS.httpStatus,
          ...extra,
        ]),
      ],
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
