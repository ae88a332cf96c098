/**
 * Exponential (native) histograms in the cluster: added up over the processes, and held at their
 * floors, exactly. Two points at different scales are added at the lower one: a bucket of scale
 * s - 1 is exactly two buckets of scale s, so lowering a scale only adds counts together, while
 * raising one would have to split them.
 */

import type { ExponentialBuckets, ExponentialHistogramValue } from '../export/collected.js';

/** One side of a merged point, with arrays of its own that the merge adds into. */
export interface MutableBuckets {
  offset: number;
  bucketCounts: number[];
}

/** A merged exponential histogram point, which later parts are added into. */
export interface MutableExponential {
  count: number;
  sum?: number;
  min?: number;
  max?: number;
  scale: number;
  zeroCount: number;
  positive: MutableBuckets;
  negative: MutableBuckets;
}

function hasBuckets(value: ExponentialHistogramValue): boolean {
  return value.positive.bucketCounts.length > 0 || value.negative.bucketCounts.length > 0;
}

/**
 * The scale at which two points combine: the lower of theirs. A point with no buckets (it has
 * counted only zeros, and the SDK then gives scale 0) does not lower it: one process recording
 * both points' observations would have the other's scale, and the merge is to equal that.
 */
export function commonScale(a: ExponentialHistogramValue, b: ExponentialHistogramValue): number {
  const aHas = hasBuckets(a);
  const bHas = hasBuckets(b);
  if (aHas !== bHas) return aHas ? a.scale : b.scale;
  return Math.min(a.scale, b.scale);
}

/**
 * A side `by` scales lower, in arrays of its own: OpenTelemetry's bucket i becomes i >> by. The
 * shift is written as a floor division so that it holds for negative indexes and whatever the
 * size of `by`.
 */
export function downscaleSide(side: ExponentialBuckets, by: number): MutableBuckets {
  const { offset, bucketCounts } = side;
  if (bucketCounts.length === 0) return { offset: 0, bucketCounts: [] };
  if (by <= 0) return { offset, bucketCounts: [...bucketCounts] };
  const factor = 2 ** by;
  const first = Math.floor(offset / factor);
  const last = Math.floor((offset + bucketCounts.length - 1) / factor);
  const counts = new Array<number>(last - first + 1).fill(0);
  for (let i = 0; i < bucketCounts.length; i++) {
    const at = Math.floor((offset + i) / factor) - first;
    counts[at] = (counts[at] as number) + (bucketCounts[i] as number);
  }
  return { offset: first, bucketCounts: counts };
}

/** A side as seen at scale `scale` (no lower than its own when it has buckets). */
function sideAt(side: ExponentialBuckets, from: number, scale: number): ExponentialBuckets {
  return from > scale ? downscaleSide(side, from - scale) : side;
}

/**
 * Combines `from` into `into`, bucket by bucket, at one scale: `into` grows to cover both ranges
 * (their offsets need not line up), and a bucket only one of them has is combined with 0.
 */
function combineSide(
  into: MutableBuckets,
  from: ExponentialBuckets,
  combine: (a: number, b: number) => number,
): void {
  const n = from.bucketCounts.length;
  if (n === 0) return;
  if (into.bucketCounts.length === 0) {
    into.offset = from.offset;
    into.bucketCounts = [...from.bucketCounts];
    return;
  }
  if (from.offset < into.offset) {
    const before = new Array<number>(into.offset - from.offset).fill(0);
    into.bucketCounts = before.concat(into.bucketCounts);
    into.offset = from.offset;
  }
  const start = from.offset - into.offset;
  const counts = into.bucketCounts;
  while (counts.length < start + n) counts.push(0);
  for (let i = 0; i < n; i++) {
    counts[start + i] = combine(counts[start + i] as number, from.bucketCounts[i] as number);
  }
}

const add = (a: number, b: number): number => a + b;

function total(side: MutableBuckets): number {
  let sum = 0;
  for (const count of side.bucketCounts) sum += count;
  return sum;
}

function copySide(side: ExponentialBuckets): MutableBuckets {
  return side.bucketCounts.length === 0
    ? { offset: 0, bucketCounts: [] }
    : { offset: side.offset, bucketCounts: [...side.bucketCounts] };
}

/** A point's value with arrays of its own: the data it comes from is kept unchanged. */
export function copyExponential(value: ExponentialHistogramValue): MutableExponential {
  return {
    count: value.count,
    ...(value.sum !== undefined && { sum: value.sum }),
    ...(value.min !== undefined && { min: value.min }),
    ...(value.max !== undefined && { max: value.max }),
    scale: value.scale,
    zeroCount: value.zeroCount,
    positive: copySide(value.positive),
    negative: copySide(value.negative),
  };
}

/** Lowers `into` to `scale` in place, when it is above it. */
function lowerTo(into: MutableExponential, scale: number): void {
  if (into.scale > scale) {
    into.positive = downscaleSide(into.positive, into.scale - scale);
    into.negative = downscaleSide(into.negative, into.scale - scale);
  }
  into.scale = scale;
}

/**
 * Adds another process's point to a merged one: both at the lower scale, counts, zero counts and
 * sums added, the least min and the greatest max. A sum, min or max that one of them lacks (it
 * comes from an instrument that may record negatives, or one that keeps no min and max) is not
 * known of the whole, so the merge has none.
 */
export function addExponential(into: MutableExponential, value: ExponentialHistogramValue): void {
  const scale = commonScale(into, value);
  lowerTo(into, scale);
  combineSide(into.positive, sideAt(value.positive, value.scale, scale), add);
  combineSide(into.negative, sideAt(value.negative, value.scale, scale), add);
  into.count += value.count;
  into.zeroCount += value.zeroCount;
  if (into.sum !== undefined && value.sum !== undefined) into.sum += value.sum;
  else delete into.sum;
  if (into.min !== undefined && value.min !== undefined) into.min = Math.min(into.min, value.min);
  else delete into.min;
  if (into.max !== undefined && value.max !== undefined) into.max = Math.max(into.max, value.max);
  else delete into.max;
}

/**
 * `value` raised to `floor`, what was served of the series before: at the lower of their scales,
 * so that a series never comes back to a finer scale once served at a coarser one (Prometheus
 * reads a higher schema as a counter reset), and with no bucket, zero count, count or sum below
 * the floor's. Where nothing was lost the result is `value` itself, lowered to that scale. The
 * min and max, kept over the whole history as the SDK keeps them, stay the least and the greatest.
 */
export function raiseExponential(
  floor: ExponentialHistogramValue,
  value: ExponentialHistogramValue,
): MutableExponential {
  const scale = commonScale(floor, value);
  const out: MutableExponential = {
    count: 0,
    scale,
    zeroCount: Math.max(floor.zeroCount, value.zeroCount),
    positive: downscaleSide(value.positive, value.scale - scale),
    negative: downscaleSide(value.negative, value.scale - scale),
  };
  combineSide(out.positive, sideAt(floor.positive, floor.scale, scale), Math.max);
  combineSide(out.negative, sideAt(floor.negative, floor.scale, scale), Math.max);
  // The buckets may each be the other's where both lost some: the count is at least their total.
  out.count = Math.max(
    value.count,
    floor.count,
    out.zeroCount + total(out.positive) + total(out.negative),
  );
  if (value.sum !== undefined) {
    out.sum = floor.sum === undefined ? value.sum : Math.max(floor.sum, value.sum);
  }
  if (value.min !== undefined) {
    out.min = floor.min === undefined ? value.min : Math.min(floor.min, value.min);
  }
  if (value.max !== undefined) {
    out.max = floor.max === undefined ? value.max : Math.max(floor.max, value.max);
  }
  return out;
}
