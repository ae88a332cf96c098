import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { mergeCollected, type Contribution } from '../../src/cluster/merge';
import {
  readSnapshot,
  takeSnapshot,
  type Snapshot,
  type SnapshotMetric,
} from '../../src/cluster/snapshot';
import {
  NATIVE_SUFFIX,
  type Collected,
  type ExponentialHistogramValue,
} from '../../src/export/collected';
import { createResource } from '../../src/export/resource';

/** A worker's request counter, as a snapshot carries it. */
export const counter = (value: number, status = '200'): SnapshotMetric => ({
  name: 'app_request_count',
  description: 'Requests',
  unit: '',
  kind: 'counter',
  points: [{ attributes: { method: 'GET', endpoint: '/users/:id', http_status: status }, value }],
});

/** The processes' parts: a worker's as it arrives (a snapshot), or data already merged. */
export function parts(of: Array<[string, Snapshot | Collected, boolean]>): Contribution[] {
  return of.map(([worker, s, fresh]) => ({
    worker,
    data: 'scopes' in s ? readSnapshot(s) : s,
    fresh,
  }));
}

/** The merge of the parts, warnings to `warn`. */
export const merge = (
  contributions: Contribution[],
  warn: (key: string, message: string) => void = () => undefined,
) => mergeCollected(contributions, createResource(), warn);

/** The request latency's exponential histogram beside the classic one (`latencyHistogram: 'both'`). */
export const NATIVE_LATENCY = `app_request_latency_seconds${NATIVE_SUFFIX}`;

export const USERS: Attributes = { method: 'GET', endpoint: '/users/:id' };

/**
 * An exponential histogram point by its buckets (a side as its offset and counts), its count
 * being what they and the zero bucket hold.
 */
export function exponential(
  scale: number,
  sides: {
    positive?: [number, number[]];
    negative?: [number, number[]];
    zeroCount?: number;
    sum?: number;
    min?: number;
    max?: number;
  },
): ExponentialHistogramValue {
  const side = (s: [number, number[]] | undefined) =>
    s === undefined ? { offset: 0, bucketCounts: [] } : { offset: s[0], bucketCounts: s[1] };
  const positive = side(sides.positive);
  const negative = side(sides.negative);
  const zeroCount = sides.zeroCount ?? 0;
  const total = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  return {
    count: zeroCount + total(positive.bucketCounts) + total(negative.bucketCounts),
    ...(sides.sum !== undefined && { sum: sides.sum }),
    ...(sides.min !== undefined && { min: sides.min }),
    ...(sides.max !== undefined && { max: sides.max }),
    scale,
    zeroCount,
    positive,
    negative,
  };
}

/** A process's collection of one exponential histogram metric. */
export function nativeCollection(
  points: Array<[Attributes, ExponentialHistogramValue]>,
  name = NATIVE_LATENCY,
): Collected {
  return {
    resource: { attributes: {} },
    scopeMetrics: [
      {
        scope: { name: 'express-otel-metrics' },
        metrics: [
          {
            descriptor: { name, description: 'Request latency', unit: 's' },
            dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
            dataPoints: points.map(([attributes, value]) => ({ attributes, value })),
          },
        ],
      },
    ],
  };
}

/** A snapshot as the primary receives it: taken by the worker, through JSON. */
export const overTheWire = (collected: Collected): Snapshot =>
  JSON.parse(JSON.stringify(takeSnapshot(collected))) as Snapshot;

/** The value of the point of exponential histogram `name` with attributes `attributes`. */
export function nativePoint(
  data: Collected,
  attributes: Attributes = USERS,
  name = NATIVE_LATENCY,
): ExponentialHistogramValue {
  const wanted = JSON.stringify(Object.entries(attributes).sort());
  for (const { metrics } of data.scopeMetrics) {
    for (const metric of metrics) {
      if (metric.descriptor.name !== name) continue;
      if (metric.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) {
        throw new Error(`${name} is not an exponential histogram`);
      }
      const point = metric.dataPoints.find(
        (p) => JSON.stringify(Object.entries(p.attributes).sort()) === wanted,
      );
      if (point === undefined) throw new Error(`${name} has no point ${wanted}`);
      return point.value;
    }
  }
  throw new Error(`no metric ${name}`);
}
