import {
  AggregationType,
  createAllowListAttributesProcessor,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { INSTRUMENTS, LABELS, METER_NAME, METRICS } from './names.js';
import type { ResolvedOptions } from './options.js';

/**
 * The Views that turn the package's instruments into the Prometheus series of the contract:
 * the names, the buckets and the labels kept. The allow-lists keep a stray attribute (from a
 * future hook or another library's meter of the same name) from adding series.
 */
export function createViews(options: Pick<ResolvedOptions, 'latencyBuckets'>): ViewOptions[] {
  return [
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.requestLatency,
      name: METRICS.requestLatency,
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: [...options.latencyBuckets], recordMinMax: false },
      },
      attributesProcessors: [createAllowListAttributesProcessor([LABELS.method, LABELS.endpoint])],
    },
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.requestCount,
      name: METRICS.requestCount,
      attributesProcessors: [
        createAllowListAttributesProcessor([LABELS.method, LABELS.endpoint, LABELS.httpStatus]),
      ],
    },
    {
      meterName: METER_NAME,
      instrumentName: INSTRUMENTS.versionInfo,
      name: METRICS.versionInfo,
      attributesProcessors: [createAllowListAttributesProcessor([LABELS.version, LABELS.config])],
    },
  ];
}
