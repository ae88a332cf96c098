/*
 * The primary's merge of exponential (native) histograms: exact, at the lowest scale of the
 * workers' points, whatever their offsets, and the same as one process recording every
 * observation would have, brought to the same scale.
 */
import {
  AggregationType,
  DataPointType,
  MeterProvider,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type {
  Collected,
  ExponentialBuckets,
  ExponentialHistogramValue,
} from '../../../src/export/collected';
import { mergeRuleOf } from '../../../src/cluster/merge';
import {
  exponential,
  merge,
  NATIVE_LATENCY,
  nativeCollection,
  nativePoint,
  overTheWire,
  parts,
  USERS,
} from '../../helpers/cluster-snapshots';

/** The workers' collections as the primary reads them, all fresh, merged. */
function mergeOf(...values: ExponentialHistogramValue[]): ExponentialHistogramValue {
  const merged = merge(
    parts(
      values.map((value, i) => [String(i), overTheWire(nativeCollection([[USERS, value]])), true]),
    ),
  );
  return nativePoint(merged);
}

const EMPTY = { offset: 0, bucketCounts: [] };

describe('merging exponential histograms', () => {
  it('adds two workers at different scales at the lower one, both sides, offsets not lined up', () => {
    // Scale 2: positive buckets 5..8, negative -3..-1 (one empty).
    const a = exponential(2, {
      positive: [5, [1, 2, 3, 4]],
      negative: [-3, [2, 0, 1]],
      zeroCount: 2,
      sum: 4.5,
      min: -1.5,
      max: 3.2,
    });
    // Scale 0: positive buckets -1..1 (the middle one empty), no negative ones.
    const b = exponential(0, {
      positive: [-1, [7, 0, 5]],
      zeroCount: 1,
      sum: 10.25,
      min: 0,
      max: 2.5,
    });
    const expected = {
      count: 28,
      sum: 14.75,
      min: -1.5,
      max: 3.2,
      scale: 0,
      zeroCount: 3,
      // a's 5, 6, 7 are bucket 1 at scale 0 (1 + 2 + 3, with b's 5), its 8 is bucket 2.
      positive: { offset: -1, bucketCounts: [7, 0, 11, 4] },
      // -3, -2 and -1 >> 2 are all -1.
      negative: { offset: -1, bucketCounts: [3] },
    };
    expect(mergeOf(a, b)).toEqual(expected);
    expect(mergeOf(b, a)).toEqual(expected);
  });

  it('lowers negative indexes by floor division, in whatever order the workers come', () => {
    const c = exponential(3, { positive: [-5, [1, 1, 1, 1]] });
    const d = exponential(1, { positive: [10, [2]] });
    const e = exponential(2, { negative: [3, [5, 5]] });
    const expected = {
      count: 16,
      scale: 1,
      zeroCount: 0,
      // -5 >> 2 is -2; -4, -3 and -2 >> 2 are -1; d's 10 stays 10.
      positive: { offset: -2, bucketCounts: [1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] },
      // 3 >> 1 is 1, 4 >> 1 is 2.
      negative: { offset: 1, bucketCounts: [5, 5] },
    };
    expect(mergeOf(c, d, e)).toEqual(expected);
    expect(mergeOf(e, c, d)).toEqual(expected);
    expect(mergeOf(d, e, c)).toEqual(expected);
  });

  it('does not lower the scale for a worker that has counted only zeros', () => {
    // The SDK gives scale 0 to a histogram of zeros alone.
    const zeros = exponential(0, { zeroCount: 4, sum: 0, min: 0, max: 0 });
    const some = exponential(3, { positive: [8, [1, 2]], sum: 6, min: 2.1, max: 2.3 });
    const expected = {
      count: 7,
      sum: 6,
      min: 0,
      max: 2.3,
      scale: 3,
      zeroCount: 4,
      positive: { offset: 8, bucketCounts: [1, 2] },
      negative: EMPTY,
    };
    expect(mergeOf(zeros, some)).toEqual(expected);
    expect(mergeOf(some, zeros)).toEqual(expected);
    // Zeros only, on every worker: the zero bucket alone.
    expect(mergeOf(zeros, zeros)).toEqual({
      count: 8,
      sum: 0,
      min: 0,
      max: 0,
      scale: 0,
      zeroCount: 8,
      positive: EMPTY,
      negative: EMPTY,
    });
  });

  it('has no sum, min or max where one worker has none (it is not known of the whole)', () => {
    const withAll = exponential(1, { positive: [0, [1]], sum: 1.2, min: 1.2, max: 1.2 });
    const withNone = exponential(1, { positive: [0, [1]] });
    const merged = mergeOf(withAll, withNone);
    expect(merged).toEqual({
      count: 2,
      scale: 1,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [2] },
      negative: EMPTY,
    });
    expect(merged).not.toHaveProperty('sum');
    expect(merged).not.toHaveProperty('min');
  });

  it('keeps series apart by their attributes, and does not change the data it was given', () => {
    const post = { method: 'POST', endpoint: '/users' };
    const kept = readBack(
      nativeCollection([
        [USERS, exponential(2, { positive: [4, [1, 1]] })],
        [post, exponential(2, { positive: [0, [3]] })],
      ]),
    );
    const before = JSON.stringify(kept);
    const merged = merge(
      parts([
        ['0', kept, true],
        [
          '1',
          overTheWire(nativeCollection([[USERS, exponential(1, { positive: [3, [2]] })]])),
          true,
        ],
      ]),
    );
    // 4 >> 1 and 5 >> 1 are 2, beside the other worker's 3.
    expect(nativePoint(merged).positive).toEqual({ offset: 2, bucketCounts: [2, 2] });
    expect(nativePoint(merged, post).positive).toEqual({ offset: 0, bucketCounts: [3] });
    expect(JSON.stringify(kept)).toBe(before);
  });

  it('is a total: a stale worker and the retired totals count, merged again at the lower scale', () => {
    const [metric] = nativeCollection([]).scopeMetrics[0]?.metrics ?? [];
    expect(metric && mergeRuleOf(metric)).toBe('total');
    const retired = merge(
      parts([
        [
          '',
          overTheWire(nativeCollection([[USERS, exponential(0, { positive: [1, [4]] })]])),
          false,
        ],
      ]),
    );
    const merged = merge(
      parts([
        [
          '0',
          overTheWire(
            nativeCollection([[USERS, exponential(2, { positive: [4, [1, 1, 1, 1, 1]] })]]),
          ),
          true,
        ],
        [
          '1',
          overTheWire(nativeCollection([[USERS, exponential(1, { positive: [2, [1]] })]])),
          false,
        ],
        ['', retired, false],
      ]),
    );
    expect(nativePoint(merged)).toEqual({
      count: 10,
      scale: 0,
      zeroCount: 0,
      // 4..7 >> 2 and 2 >> 1 are 1, with the retired 4; 8 >> 2 is 2.
      positive: { offset: 1, bucketCounts: [9, 1] },
      negative: EMPTY,
    });
  });

  it('serves the first of a classic and a native histogram of one name, and says why', () => {
    const classic: Collected = {
      resource: { attributes: {} },
      scopeMetrics: [
        {
          scope: { name: 'express-otel-metrics' },
          metrics: [
            {
              descriptor: { name: 'app_request_latency_seconds', description: '', unit: 's' },
              dataPointType: DataPointType.HISTOGRAM,
              dataPoints: [
                {
                  attributes: USERS,
                  value: { count: 1, sum: 0.2, buckets: { boundaries: [0.1], counts: [0, 1] } },
                },
              ],
            },
          ],
        },
      ],
    };
    // A worker still on `latencyHistogram: 'classic'` and one on 'native', during a deploy.
    const native = nativeCollection(
      [[USERS, exponential(3, { positive: [-19, [1]] })]],
      'app_request_latency_seconds',
    );
    const warnings: string[] = [];
    const merged = merge(
      parts([
        ['0', overTheWire(classic), true],
        ['1', overTheWire(native), true],
      ]),
      (_key, message) => warnings.push(message),
    );
    const [metric] = merged.scopeMetrics[0]?.metrics ?? [];
    expect(metric?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(metric?.dataPoints).toHaveLength(1);
    expect(warnings).toEqual([
      'metric app_request_latency_seconds is a native histogram in one process and a histogram in another; only the first is served',
    ]);
  });
});

function readBack(collected: Collected): Collected {
  const [part] = parts([['0', overTheWire(collected), true]]);
  return part?.data as Collected;
}

/** A side lowered by `by` scales, written here again from the definition: index i -> i >> by. */
function lowered(side: ExponentialBuckets, by: number): ExponentialBuckets {
  if (side.bucketCounts.length === 0) return { offset: 0, bucketCounts: [] };
  const byIndex = new Map<number, number>();
  side.bucketCounts.forEach((count, i) => {
    const index = (side.offset + i) >> by;
    byIndex.set(index, (byIndex.get(index) ?? 0) + count);
  });
  const indexes = [...byIndex.keys()];
  const first = Math.min(...indexes);
  const last = Math.max(...indexes);
  const bucketCounts: number[] = [];
  for (let i = first; i <= last; i++) bucketCounts.push(byIndex.get(i) ?? 0);
  return { offset: first, bucketCounts };
}

function atScale(value: ExponentialHistogramValue, scale: number) {
  const by = value.scale - scale;
  return {
    count: value.count,
    zeroCount: value.zeroCount,
    min: value.min,
    max: value.max,
    positive: lowered(value.positive, by),
    negative: lowered(value.negative, by),
  };
}

describe('merging what real SDKs recorded', () => {
  const VIEW: ViewOptions = {
    instrumentName: 'latency',
    name: NATIVE_LATENCY,
    aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
  };

  /** One process's collection of the latency histogram, after it recorded `values`. */
  async function recorded(values: readonly number[]): Promise<Collected> {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader], views: [VIEW] });
    const histogram = provider.getMeter('express-otel-metrics').createHistogram('latency');
    for (const value of values) histogram.record(value, USERS);
    const { resourceMetrics } = await reader.collect();
    await provider.shutdown();
    return resourceMetrics;
  }

  /** `n` values spread evenly over [from, to]. */
  const spread = (n: number, from: number, to: number): number[] =>
    Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));

  it.each([
    // Fast requests on one worker, a wide range on the other: their ranges overlap.
    ['overlapping', [0, 0, ...spread(300, 0.001, 0.004)], [0, ...spread(500, 0.001, 2)]],
    // Two ranges far apart: one process recording both needs a scale lower than either.
    ['far apart', spread(200, 0.001, 0.002), spread(200, 5, 20)],
  ])(
    'equals one process recording every value, brought to one scale (%s ranges)',
    async (_case, first, second) => {
      const [a, b, all] = await Promise.all([
        recorded(first),
        recorded(second),
        recorded([...first, ...second]),
      ]);
      const pa = nativePoint(a);
      const pb = nativePoint(b);
      const one = nativePoint(all);
      expect(pa.scale).not.toBe(pb.scale);

      const merged = nativePoint(
        merge(
          parts([
            ['0', overTheWire(a), true],
            ['1', overTheWire(b), true],
          ]),
        ),
      );
      // Exact at the lower of the workers' scales: the sum of both, bucket by bucket.
      expect(merged.scale).toBe(Math.min(pa.scale, pb.scale));
      expect(merged.count).toBe(first.length + second.length);
      expect(merged.zeroCount).toBe([...first, ...second].filter((v) => v === 0).length);
      expect(merged.sum).toBeCloseTo(one.sum as number, 10);
      expect(merged.min).toBe(Math.min(...first, ...second));
      expect(merged.max).toBe(Math.max(...first, ...second));
      const scale = Math.min(merged.scale, one.scale);
      expect(atScale(merged, scale)).toEqual(atScale(one, scale));
      expect(merged.negative.bucketCounts).toEqual([]);
      expect(merged.positive.bucketCounts.reduce((x, y) => x + y, 0)).toBe(
        merged.count - merged.zeroCount,
      );
    },
  );
});
