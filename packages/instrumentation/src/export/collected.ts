/**
 * What the exposition writer reads: the data of one collection. The SDK's collected data
 * (`ResourceMetrics`) satisfies it as it is; a cluster primary's merge of its workers' series is
 * made in it directly, with no SDK type in between. Only what the writer reads is here.
 */

import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { InstrumentKind } from '../catalogue.js';

export interface Collected {
  readonly resource: { readonly attributes: Attributes };
  readonly scopeMetrics: readonly CollectedScope[];
}

export interface CollectedScope {
  readonly scope: { readonly name: string; readonly version?: string; readonly schemaUrl?: string };
  readonly metrics: readonly CollectedMetric[];
}

export interface Descriptor {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
}

export interface Point<V> {
  readonly attributes: Attributes;
  readonly value: V;
  /**
   * OpenMetrics exemplars of the point, where the package keeps any (the SDK's data has none): a
   * histogram's by bucket index (the last is the overflow bucket's), a counter's at index 0. An
   * empty slot has none.
   */
  readonly exemplars?: ReadonlyArray<Exemplar | undefined>;
}

/** One observation of a traced request, linking a bucket or a counter to its trace. */
export interface Exemplar {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** The observed value: the latency in the histogram's unit, 1 for a count. */
  readonly value: number;
  /** When it was observed, milliseconds since the epoch. */
  readonly timestamp: number;
}

export interface HistogramValue {
  readonly count: number;
  /** Absent where the SDK keeps none (histograms of instruments that may record negatives). */
  readonly sum?: number;
  readonly buckets: {
    /** Upper bounds; the last count is the overflow bucket's. */
    readonly boundaries: readonly number[];
    readonly counts: readonly number[];
  };
}

/** One side (positive or negative) of an exponential histogram's buckets, as the SDK gives it. */
export interface ExponentialBuckets {
  /** The index of the first bucket (OpenTelemetry's indexing, at the point's scale). */
  readonly offset: number;
  readonly bucketCounts: readonly number[];
}

/**
 * A base-2 exponential histogram point (the SDK's `ExponentialHistogram`): at scale `scale`,
 * bucket `offset + i` of a side counts the observations of magnitude in
 * (2^((offset + i) / 2^scale), 2^((offset + i + 1) / 2^scale)]; exact zeros are `zeroCount`.
 * What Prometheus calls a native histogram.
 */
export interface ExponentialHistogramValue {
  readonly count: number;
  /** Absent where the SDK keeps none (instruments that may record negatives). */
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
  readonly scale: number;
  readonly zeroCount: number;
  readonly positive: ExponentialBuckets;
  readonly negative: ExponentialBuckets;
}

export type CollectedMetric =
  | {
      readonly descriptor: Descriptor;
      readonly dataPointType: DataPointType.SUM;
      readonly isMonotonic: boolean;
      readonly dataPoints: ReadonlyArray<Point<number>>;
    }
  | {
      readonly descriptor: Descriptor;
      readonly dataPointType: DataPointType.GAUGE;
      readonly dataPoints: ReadonlyArray<Point<number>>;
    }
  | {
      readonly descriptor: Descriptor;
      readonly dataPointType: DataPointType.HISTOGRAM;
      readonly dataPoints: ReadonlyArray<Point<HistogramValue>>;
    }
  | {
      readonly descriptor: Descriptor;
      readonly dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM;
      readonly dataPoints: ReadonlyArray<Point<ExponentialHistogramValue>>;
    };

/**
 * The kind of a collected metric, as the catalogue names kinds: a sum that can go down is an
 * `updown`, which Prometheus shows as a gauge. Undefined for an exponential histogram, which is
 * no instrument kind of the catalogue (the writers and the cluster's snapshots take it apart).
 */
export function kindOf(metric: CollectedMetric): InstrumentKind | undefined {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'updown';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return undefined;
  }
}

/**
 * With `latencyHistogram: 'both'`, the request latency is aggregated twice, by two Views of its
 * instrument: the classic buckets under the series' name, and the exponential histogram under
 * that name with this suffix (`app_request_latency_seconds_native`,
 * `http.server.request.duration_native`). OTLP exports them as two metrics; the Prometheus
 * exposition writes them as one histogram family of the series' name, the native buckets beside
 * the classic ones where the format has a place for them (Prometheus' protobuf format), the
 * classic ones alone elsewhere.
 */
export const NATIVE_SUFFIX = '_native';
