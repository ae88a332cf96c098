/**
 * OpenTelemetry's exponential histogram points as Prometheus native histograms: hand-computed
 * cases, and the SDK's own bucketing of boundary values checked against Prometheus' rule, computed
 * exactly.
 */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { AggregationType, DataPointType, MeterProvider } from '@opentelemetry/sdk-metrics';
import type { ExponentialHistogramValue } from '../../../src/export/collected';
import {
  nativeBuckets,
  nativeHistogram,
  nativeSchema,
  prometheusIndex,
} from '../../../src/export/native-histogram';

function point(
  scale: number,
  positive: { offset: number; bucketCounts: number[] },
  negative: { offset: number; bucketCounts: number[] } = { offset: 0, bucketCounts: [] },
  zeroCount = 0,
): ExponentialHistogramValue {
  const count =
    zeroCount + [...positive.bucketCounts, ...negative.bucketCounts].reduce((a, b) => a + b, 0);
  return { count, sum: 0, scale, zeroCount, positive, negative };
}

/** A double as an exact M * 2^E, M an integer. */
function exact(value: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return biased === 0
    ? { mantissa: fraction, exponent: -1074 }
    : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** Whether value <= 2^(k / 2^schema), exactly (both sides raised to the power 2^schema). */
function atMostBound(value: number, k: number, schema: number): boolean {
  const { mantissa, exponent } = exact(value);
  if (schema >= 0) {
    // M^(2^n) * 2^(E 2^n) <= 2^k
    const power = 2 ** schema;
    const shift = k - exponent * power;
    return shift >= 0 && mantissa ** BigInt(power) <= 1n << BigInt(shift);
  }
  // M * 2^E <= 2^(k 2^-n)
  const shift = k * 2 ** -schema - exponent;
  return shift >= 0 && mantissa <= 1n << BigInt(shift);
}

/**
 * Prometheus' bucket of a positive value at `schema`: the k whose (2^((k-1)/2^n), 2^(k/2^n)]
 * holds it (prometheus/prometheus model/histogram/generic.go `getBoundExponential`), found
 * exactly rather than through logarithms.
 */
function prometheusBucket(value: number, schema: number): number {
  const guess = Math.ceil(Math.log2(value) * 2 ** schema);
  for (let k = guess - 3; k <= guess + 3; k++) {
    if (atMostBound(value, k, schema) && !atMostBound(value, k - 1, schema)) return k;
  }
  throw new Error(`no bucket found for ${value} at schema ${schema}`);
}

describe('nativeSchema', () => {
  it('keeps scales -4 to 8, lowers finer ones, and has none below -4', () => {
    expect([-4, 0, 3, 8].map((s) => nativeSchema(s))).toEqual([-4, 0, 3, 8]);
    expect(nativeSchema(20)).toBe(8);
    expect(nativeSchema(9)).toBe(8);
    expect(nativeSchema(-5)).toBeUndefined();
    expect(nativeSchema(-10)).toBeUndefined();
    expect(nativeSchema(20, 3)).toBe(3);
    expect(nativeSchema(2, 3)).toBe(2);
    // A maximum outside Prometheus' range is held to it.
    expect(nativeSchema(20, 12)).toBe(8);
    expect(nativeSchema(0, -7)).toBe(-4);
  });
});

describe('prometheusIndex', () => {
  it("is OpenTelemetry's index plus one at the same scale", () => {
    // OTel -1 at scale 0 is (0.5, 1]; Prometheus 0 at schema 0 is (0.5, 1].
    expect(prometheusIndex(-1, 0, 0)).toBe(0);
    expect(prometheusIndex(0, 3, 3)).toBe(1);
    expect(prometheusIndex(-9, -2, -2)).toBe(-8);
  });

  it('merges 2^d buckets into one when lowering the resolution by d', () => {
    // OTel 0..3 at scale 10 are (1, 2^(4/1024)], one bucket 0 at scale 8, Prometheus' 1.
    expect([0, 1, 2, 3].map((i) => prometheusIndex(i, 10, 8))).toEqual([1, 1, 1, 1]);
    expect([-4, -3, -2, -1].map((i) => prometheusIndex(i, 10, 8))).toEqual([0, 0, 0, 0]);
    expect(prometheusIndex(4, 10, 8)).toBe(2);
    expect(prometheusIndex(-5, 10, 8)).toBe(-1);
    // Scale 20 to 8, 4096 buckets into one: 1.5 (OTel 613377) is Prometheus' 150,
    // (2^(149/256), 2^(150/256)] = (1.4972..., 1.5013...].
    expect(prometheusIndex(613377, 20, 8)).toBe(150);
    expect(prometheusBucket(1.5, 8)).toBe(150);
    // The extremes of scale 20 stay within 32 bits.
    expect(prometheusIndex((1024 << 20) - 1, 20, 8)).toBe(262144);
    expect(prometheusIndex(-1022 << 20, 20, 8)).toBe(-261631);
  });
});

describe('nativeBuckets', () => {
  it('writes one span of deltas for consecutive buckets', () => {
    // Scale 0: OTel -1 (0.5, 1] and 0 (1, 2], as 1 and 2 recorded once and twice.
    expect(nativeBuckets({ offset: -1, bucketCounts: [1, 2] }, 0, 0)).toEqual({
      spans: [{ offset: 0, length: 2 }],
      deltas: [1, 1],
    });
  });

  it('fills a gap of two empty buckets and starts a new span after three', () => {
    // Prometheus 6, 9, 13: two empty (7, 8), then three (10, 11, 12).
    expect(nativeBuckets({ offset: 5, bucketCounts: [1, 0, 0, 2, 0, 0, 0, 3] }, 3, 3)).toEqual({
      spans: [
        { offset: 6, length: 4 },
        { offset: 3, length: 1 },
      ],
      deltas: [1, -1, 0, 2, 1],
    });
  });

  it('leaves out empty buckets at the ends', () => {
    expect(nativeBuckets({ offset: -3, bucketCounts: [0, 0, 4, 0] }, 2, 2)).toEqual({
      spans: [{ offset: 0, length: 1 }],
      deltas: [4],
    });
    expect(nativeBuckets({ offset: 7, bucketCounts: [0, 0] }, 2, 2)).toEqual({
      spans: [],
      deltas: [],
    });
  });

  it('merges buckets when lowering the scale', () => {
    // Scale 10 to 8: OTel -5 -> -2 -> -1; -4..-1 -> -1 -> 0; 0..2 -> 0 -> 1.
    expect(nativeBuckets({ offset: -5, bucketCounts: [1, 1, 1, 1, 1, 1, 1, 1] }, 10, 8)).toEqual({
      spans: [{ offset: -1, length: 3 }],
      deltas: [1, 3, -1],
    });
    // Scale 12 to 8 (16 into 1): OTel 0 and 40 are Prometheus 1 and 3, one empty between.
    const counts = new Array<number>(41).fill(0);
    counts[0] = 2;
    counts[40] = 5;
    expect(nativeBuckets({ offset: 0, bucketCounts: counts }, 12, 8)).toEqual({
      spans: [{ offset: 1, length: 3 }],
      deltas: [2, -2, 5],
    });
  });
});

describe('nativeHistogram', () => {
  it('maps both sides, zeros and the scale', () => {
    // Scale 1: positive OTel 0 (1, 1.414], 1 (1.414, 2]; negative OTel -2 and 0 (of magnitudes
    // (0.5, 0.707] and (1, 1.414]), one empty between.
    const native = nativeHistogram(
      point(1, { offset: 0, bucketCounts: [3, 1] }, { offset: -2, bucketCounts: [2, 0, 1] }, 4),
    );
    expect(native).toEqual({
      schema: 1,
      zeroThreshold: 0,
      zeroCount: 4,
      positive: { spans: [{ offset: 1, length: 2 }], deltas: [3, -2] },
      negative: { spans: [{ offset: -1, length: 3 }], deltas: [2, -2, 1] },
    });
  });

  it('has only the zero bucket for zeros, and nothing for nothing', () => {
    expect(nativeHistogram(point(0, { offset: 0, bucketCounts: [] }, undefined, 3))).toEqual({
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 3,
      positive: { spans: [], deltas: [] },
      negative: { spans: [], deltas: [] },
    });
    expect(nativeHistogram(point(20, { offset: 0, bucketCounts: [] }))?.positive.spans).toEqual([]);
  });

  it('lowers a scale above 8, or above the maximum asked for, and has none below -4', () => {
    // 1 recorded alone: OTel -1 at scale 20, Prometheus 0 at schema 8 (upper bound 1).
    expect(nativeHistogram(point(20, { offset: -1, bucketCounts: [1] }))).toMatchObject({
      schema: 8,
      positive: { spans: [{ offset: 0, length: 1 }], deltas: [1] },
    });
    // Scale 5 at most 3, 4 buckets into 1: OTel 8 -> 2 -> Prometheus 3; 15 -> 3 -> 4; 16 -> 4 -> 5.
    expect(
      nativeHistogram(point(5, { offset: 8, bucketCounts: [1, 0, 0, 0, 0, 0, 0, 1, 6] }), 3),
    ).toMatchObject({
      schema: 3,
      positive: { spans: [{ offset: 3, length: 3 }], deltas: [1, 0, 5] },
    });
    expect(nativeHistogram(point(-5, { offset: 0, bucketCounts: [1] }))).toBeUndefined();
    expect(nativeHistogram(point(-4, { offset: 0, bucketCounts: [1] }))?.schema).toBe(-4);
  });
});

/**
 * Points of sdk-metrics 3.1's exponential aggregation, one per value, each with two anchors
 * (`low`, `high`) that, with `maxSize` just large enough, hold the point at one scale.
 */
async function recorded(
  values: number[],
  low: number,
  high: number,
  maxSize: number,
): Promise<Array<{ value: number; point: ExponentialHistogramValue }>> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [reader],
    views: [
      {
        instrumentName: 'spread',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize } },
      },
    ],
  });
  const histogram = provider.getMeter('boundaries').createHistogram('spread');
  values.forEach((value, i) => {
    histogram.record(low, { i });
    histogram.record(high, { i });
    histogram.record(value, { i });
  });
  try {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics[0]?.metrics[0];
    if (metric?.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) throw new Error('none');
    return metric.dataPoints.map((p) => ({
      value: values[p.attributes.i as number] as number,
      point: p.value,
    }));
  } finally {
    await provider.shutdown();
  }
}

/** The OpenTelemetry index the value (not the anchors) was counted in. */
function indexOf(point: ExponentialHistogramValue, value: number, low: number, high: number) {
  const { offset, bucketCounts } = point.positive;
  const found: number[] = [];
  for (let i = 0; i < bucketCounts.length; i++) {
    for (let c = 0; c < (bucketCounts[i] as number); c++) found.push(offset + i);
  }
  // The anchors are powers of two, whose buckets the rule fixes: remove theirs.
  for (const anchor of [low, high]) {
    const at = found.indexOf(prometheusBucket(anchor, point.scale) - 1);
    if (at < 0) throw new Error(`anchor ${anchor} not where expected for ${value}`);
    found.splice(at, 1);
  }
  return found[0] as number;
}

describe("sdk-metrics 3.1's buckets against Prometheus' rule", () => {
  it.each([-2, -1, 0, 1, 2, 3, 8])(
    'puts powers of two in the bucket they close, at scale %i',
    async (scale) => {
      // From 2^-3 to 2^5: the span of indexes at this scale is the size that holds it there.
      const low = 2 ** -3;
      const high = 2 ** 5;
      const size = prometheusBucket(high, scale) - prometheusBucket(low, scale) + 1;
      const values = [-3, -2, -1, 0, 1, 2, 3, 4, 5].map((j) => 2 ** j);
      for (const { value, point } of await recorded(values, low, high, size)) {
        expect([value, point.scale]).toEqual([value, scale]);
        const index = indexOf(point, value, low, high);
        expect([value, prometheusIndex(index, scale, scale)]).toEqual([
          value,
          prometheusBucket(value, scale),
        ]);
      }
    },
  );

  /**
   * 2^(k/2^s) is irrational but for whole powers of two, so no double is on those boundaries: the
   * nearest doubles lie a fraction of an ulp to one side. The SDK's `LogarithmMapping` places them
   * by floor(ln(v) 2^s / ln 2) in doubles, which is off by one bucket for some of them: at scale 5,
   * 1.2690509571917332 and 1.7947090750031072, just below 2^(11/32) and 2^(27/32), go to the
   * bucket above; at scale 8, 30 of the 255 (one, 1.7420442251551564, to the bucket below).
   * Prometheus' client_golang compares with a table of bounds, and places 1.2690509571917332, twice
   * its table's 0.6345254785958666, in bucket 11, as the exact rule does. That is where the SDK
   * places an observation within an ulp of a boundary, before any mapping: an index, once given,
   * maps exactly. Between the boundaries the SDK's bucket is the exact one.
   */
  it.each([1, 2, 3, 5, 8])(
    'places the doubles between boundaries exactly, those nearest one within a bucket, at scale %i',
    async (scale) => {
      const per = 2 ** scale;
      const nearest = Array.from({ length: per + 1 }, (_, k) => 2 ** (k / per));
      const between = Array.from({ length: per }, (_, k) => 2 ** ((k + 0.5) / per));
      let off = 0;
      for (const { value, point } of await recorded([...nearest, ...between], 1, 2, per + 1)) {
        expect([value, point.scale]).toEqual([value, scale]);
        const index = prometheusIndex(indexOf(point, value, 1, 2), scale, scale);
        const exactIndex = prometheusBucket(value, scale);
        if (nearest.includes(value) && value !== 1 && value !== 2) {
          expect([value, Math.abs(index - exactIndex)]).toEqual([
            value,
            index === exactIndex ? 0 : 1,
          ]);
          if (index !== exactIndex) off++;
        } else {
          expect([value, index]).toEqual([value, exactIndex]);
        }
      }
      expect(off).toBeLessThan(per / 4 + 1);
    },
  );

  it('keeps to the rule after lowering scale 20 to schema 8', async () => {
    const values = [0.5, 1, 2, 4, 0.003, 0.1, 0.25, 1.5, 3, 7.5, 100, 2 ** (3 / 256)];
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({
      readers: [reader],
      views: [
        {
          instrumentName: 'spread',
          aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
        },
      ],
    });
    const histogram = provider.getMeter('boundaries').createHistogram('spread');
    values.forEach((value, i) => histogram.record(value, { i }));
    try {
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics[0]?.metrics[0];
      if (metric?.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) throw new Error('none');
      for (const { attributes, value } of metric.dataPoints) {
        const recordedValue = values[attributes.i as number] as number;
        expect(value.scale).toBe(20);
        const native = nativeHistogram(value);
        expect([recordedValue, native]).toEqual([
          recordedValue,
          {
            schema: 8,
            zeroThreshold: 0,
            zeroCount: 0,
            positive: {
              spans: [{ offset: prometheusBucket(recordedValue, 8), length: 1 }],
              deltas: [1],
            },
            negative: { spans: [], deltas: [] },
          },
        ]);
      }
    } finally {
      await provider.shutdown();
    }
  });
});
