/**
 * An OpenTelemetry base-2 exponential histogram point as a Prometheus native histogram: the
 * fields of the `Histogram` message of Prometheus' protobuf exposition (prometheus/client_model
 * io/prometheus/client/metrics.proto, "Everything below here is for native histograms"), exactly
 * the same buckets at the same or a coarser resolution.
 *
 * Both formats divide each power of two into 2^scale (OpenTelemetry) or 2^schema (Prometheus)
 * logarithmic buckets, with 1 on a boundary, so a scale is a schema; they differ in range (see
 * {@link nativeSchema}) and in where they start counting (see {@link prometheusIndex}).
 */

import type { ExponentialBuckets, ExponentialHistogramValue } from './collected.js';

/**
 * The finest schema Prometheus reads: "Currently, valid numbers are -4 <= n <= 8" (metrics.proto,
 * field `schema`); prometheus/prometheus model/histogram/generic.go `ExponentialSchemaMax`.
 * OpenTelemetry JS' aggregation starts at scale 20 and keeps it while the observations fit in
 * `maxSize` buckets, so a histogram of a few observations comes finer than this.
 */
export const SCHEMA_MAX = 8;

/** The coarsest schema Prometheus reads (generic.go `ExponentialSchemaMin`). */
export const SCHEMA_MIN = -4;

/**
 * Buckets per span gap tolerated before a new span starts: runs of up to this many empty buckets
 * are written as zero deltas inside a span, longer ones as a new span. client_golang's choice
 * (prometheus/histogram.go `makeBuckets`: "we assume that gaps of one or two buckets should not
 * create a new span"): a span costs two varints and a message header (4 bytes at least), an empty
 * bucket one delta (2 bytes with its tag), so two empty buckets are about what one span costs.
 */
export const MAX_GAP = 2;

/** One run of consecutive buckets (metrics.proto `BucketSpan`). */
export interface BucketSpan {
  /**
   * For the first span, the index of its first bucket; for the others, the number of buckets
   * between the end of the previous span and the start of this one.
   */
  offset: number;
  length: number;
}

/** One side of a native histogram: its spans, and each bucket's count less the previous one's. */
export interface NativeBuckets {
  readonly spans: BucketSpan[];
  /** Count deltas, the first against zero (metrics.proto `positive_delta`, `negative_delta`). */
  readonly deltas: number[];
}

export interface NativeHistogram {
  readonly schema: number;
  /**
   * The breadth of the zero bucket: 0. OpenTelemetry JS' aggregation counts only exact zeros in
   * its zero bucket (sdk-metrics 3.1 `ExponentialHistogramAccumulation.updateByIncrement`:
   * `if (value === 0) this._zeroCount += increment`) and puts every other value, the smallest
   * subnormals included, in a regular bucket. A wider zero bucket (client_golang's default,
   * 2^-128) would claim observations that are counted in regular buckets below it, which
   * Prometheus would then count twice when it widens another histogram's zero bucket to match.
   * With 0 the zero bucket says what the SDK counted, and Prometheus widens it only if it merges
   * this histogram with one of a wider zero bucket.
   */
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly positive: NativeBuckets;
  readonly negative: NativeBuckets;
}

/**
 * The schema a point of `scale` is written in: its scale, lowered to `maxSchema` (at most
 * {@link SCHEMA_MAX}) by merging buckets; undefined below {@link SCHEMA_MIN}, which Prometheus
 * rejects ("histogram has an invalid schema", generic.go `InvalidSchemaError`) and which a scale
 * cannot be raised to without splitting buckets whose observations are not known. Such a point
 * is written without its native buckets (the caller says so): it takes 2^16 of range per bucket at
 * scale -4, so the SDK goes lower only for observations spread over more than 2^(16 maxSize) of
 * range, which a latency never is.
 */
export function nativeSchema(scale: number, maxSchema: number = SCHEMA_MAX): number | undefined {
  if (scale < SCHEMA_MIN) return undefined;
  const ceiling = Math.max(SCHEMA_MIN, Math.min(SCHEMA_MAX, Math.trunc(maxSchema)));
  return Math.min(scale, ceiling);
}

/**
 * Prometheus' index of OpenTelemetry's bucket `index` at `scale`, at `schema` (at most `scale`).
 *
 * OpenTelemetry's bucket i at scale s holds the values in (2^(i/2^s), 2^((i+1)/2^s)]
 * (opentelemetry-specification data-model.md, "Exponential Buckets": "bucket index i ... greater
 * than base^i and less than or equal to base^(i+1)"); Prometheus' bucket k at schema n holds
 * those in (2^((k-1)/2^n), 2^(k/2^n)] (prometheus/prometheus model/histogram/generic.go
 * `getBoundExponential`: bucket k's upper bound is 2^(k/2^n), the previous bucket's its lower one;
 * client_golang prometheus/histogram.go `observe`, where a power of two, `frac == 0.5`, goes to
 * the bucket it bounds from above). Both are open below and closed above, so the same interval is
 * i at scale s and k = i + 1 at schema s, exactly, for every index: no boundary value can land in
 * different buckets. sdk-metrics 3.1 keeps to its rule on the boundaries that doubles can hold,
 * the powers of two: `ExponentMapping.mapToIndex` and `LogarithmMapping.mapToIndex` give 2^e the
 * index (e << scale) - 1, the bucket it closes. The other boundaries are irrational, and the
 * logarithm with which `LogarithmMapping` places a double puts some of those within an ulp of one
 * in the bucket on its other side (at scale 8, 30 of the 255 doubles nearest to a boundary in
 * (1, 2)): that is where the SDK counted the observation, which no mapping of indexes can undo.
 * test/unit/export/native-histogram.test.ts records both kinds through a MeterProvider at several
 * scales and checks them against Prometheus' rule computed exactly.
 *
 * Lowering the resolution by d merges 2^d buckets into one: OpenTelemetry's i becomes i >> d (its
 * downscaling, sdk-metrics `Buckets.downscale`: `indexStart >>= by`), Prometheus' k becomes
 * ((k - 1) >> d) + 1 (model/histogram/float_histogram.go `targetIdx`); with k = i + 1 the two
 * agree, so the index is lowered on OpenTelemetry's side and then shifted. `>>` is a floor
 * division by 2^d for the 32-bit integers the indexes are (at scale 20, from about -2^30 to 2^30).
 */
export function prometheusIndex(index: number, scale: number, schema: number): number {
  return (index >> (scale - schema)) + 1;
}

/**
 * One side's buckets at `schema`: buckets merged down from `scale`, empty ones left out at the
 * ends and where more than {@link MAX_GAP} follow each other, counts as deltas.
 */
export function nativeBuckets(
  side: ExponentialBuckets,
  scale: number,
  schema: number,
): NativeBuckets {
  const spans: BucketSpan[] = [];
  const deltas: number[] = [];
  const { offset, bucketCounts } = side;
  const length = bucketCounts.length;
  let span: BucketSpan | undefined;
  /** The index after the last bucket written, and that bucket's count. */
  let next = 0;
  let previous = 0;
  /** The bucket being added up (several of `scale` make one of `schema`), and its count. */
  let current = 0;
  let pending = 0;
  // One pass past the end, to write the last bucket.
  for (let i = 0; i <= length; i++) {
    let index = 0;
    let count = 0;
    if (i < length) {
      count = bucketCounts[i] as number;
      if (!(count > 0)) continue;
      index = prometheusIndex(offset + i, scale, schema);
      if (pending > 0 && index === current) {
        pending += count;
        continue;
      }
    }
    if (pending > 0) {
      const gap = current - next;
      if (span === undefined || gap > MAX_GAP) {
        span = { offset: span === undefined ? current : gap, length: 0 };
        spans.push(span);
      } else {
        for (let j = 0; j < gap; j++) {
          deltas.push(0 - previous);
          previous = 0;
        }
        span.length += gap;
      }
      deltas.push(pending - previous);
      previous = pending;
      span.length++;
      next = current + 1;
    }
    current = index;
    pending = count;
  }
  return { spans, deltas };
}

/**
 * The native histogram of a point, at most at `maxSchema`; undefined when its scale is below
 * {@link SCHEMA_MIN} (see {@link nativeSchema}). Count and sum are the point's own.
 */
export function nativeHistogram(
  value: ExponentialHistogramValue,
  maxSchema: number = SCHEMA_MAX,
): NativeHistogram | undefined {
  const schema = nativeSchema(value.scale, maxSchema);
  if (schema === undefined) return undefined;
  return {
    schema,
    zeroThreshold: 0,
    zeroCount: value.zeroCount,
    positive: nativeBuckets(value.positive, value.scale, schema),
    negative: nativeBuckets(value.negative, value.scale, schema),
  };
}
