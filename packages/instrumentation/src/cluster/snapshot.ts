import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import {
  kindOf,
  type Collected,
  type CollectedMetric,
  type Exemplar,
  type ExponentialBuckets,
  type ExponentialHistogramValue,
  type Point,
} from '../export/collected.js';
import type { InstrumentKind } from '../catalogue.js';

/**
 * One process's collected series in a form that survives the cluster's IPC channel, which
 * carries JSON by default: plain objects, and non-finite numbers as strings (JSON has no NaN or
 * Infinity, and would turn them into null).
 *
 * Exemplars came later to format 1, as a field that may be absent: a primary that predates them
 * reads only the fields it knows, and one that has them reads a worker's snapshot without them as
 * having none, so the format number stays.
 *
 * Exponential histograms came later too, in a field of their own, `native`, for the same reason:
 * in `metrics`, a primary that predates them would read one as a gauge of NaN. Such a primary
 * serves the rest of the worker's series without them (it has no form to write them in anyway),
 * and a primary that has them reads a snapshot without the field as having none.
 */
export interface Snapshot {
  scopes: SnapshotScope[];
  /** The exponential histograms, of every scope; absent when there are none. */
  native?: SnapshotNativeMetric[];
}

export interface SnapshotScope {
  name: string;
  version?: string;
  schemaUrl?: string;
  metrics: SnapshotMetric[];
}

export type SnapshotKind = InstrumentKind;

export interface SnapshotMetric {
  name: string;
  description: string;
  unit: string;
  kind: SnapshotKind;
  /** Bucket bounds of a histogram, shared by its points. */
  bounds?: WireNumber[];
  points: SnapshotPoint[];
}

/** A number as JSON can carry it. */
export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface SnapshotHistogram {
  count: number;
  /** Absent where the SDK keeps none (histograms of instruments that may record negatives). */
  sum?: WireNumber;
  /** One count per bucket, the overflow bucket last. */
  counts: readonly number[];
}

export interface SnapshotPoint {
  attributes: Attributes;
  value: WireNumber | SnapshotHistogram;
  /**
   * The point's exemplars where it has any: a histogram's by bucket, a counter's at 0; `null`
   * for an empty slot (JSON's form of a hole).
   */
  exemplars?: Array<SnapshotExemplar | null>;
}

/** An exponential histogram metric, outside `metrics` so that older primaries pass over it. */
export interface SnapshotNativeMetric {
  /** The index of its scope in `scopes`. */
  scope: number;
  /**
   * Its place among its scope's metrics: before the `at`-th of `metrics` (after the last when
   * `at` is their number), where the collection had it, so that the read keeps the order.
   */
  at: number;
  name: string;
  description: string;
  unit: string;
  points: SnapshotNativePoint[];
}

export interface SnapshotNativePoint {
  attributes: Attributes;
  value: SnapshotExponential;
  /** As a classic point's, where it has any (no recorder keeps them today). */
  exemplars?: Array<SnapshotExemplar | null>;
}

/** An exponential histogram point (`ExponentialHistogramValue`), as JSON carries it. */
export interface SnapshotExponential {
  count: number;
  /** Absent where the SDK keeps none (instruments that may record negatives). */
  sum?: WireNumber;
  /** Absent where the SDK keeps none (`recordMinMax: false`). */
  min?: WireNumber;
  max?: WireNumber;
  scale: number;
  zeroCount: number;
  /** Absent when the side has no buckets. */
  positive?: SnapshotSide;
  negative?: SnapshotSide;
}

/** One side of an exponential histogram's buckets. */
export interface SnapshotSide {
  /** The index of the first bucket, at the point's scale. */
  offset: number;
  /**
   * One count per bucket from `offset` on, where a negative number -n stands for n empty buckets
   * in a row: a histogram of few observations spread over many buckets (a large `maxSize`) is
   * mostly empty buckets.
   */
  counts: number[];
}

export interface SnapshotExemplar {
  traceId: string;
  spanId: string;
  value: WireNumber;
  timestamp: number;
}

export function toWire(n: number): WireNumber {
  return Number.isFinite(n) ? n : (String(n) as WireNumber);
}

export function fromWire(n: WireNumber): number {
  return typeof n === 'number' ? n : Number(n);
}

function exemplarsToWire(
  exemplars: ReadonlyArray<Exemplar | undefined> | undefined,
): Pick<SnapshotPoint, 'exemplars'> {
  if (exemplars === undefined || !exemplars.some((e) => e !== undefined)) return {};
  return {
    exemplars: exemplars.map((e) =>
      e === undefined
        ? null
        : { traceId: e.traceId, spanId: e.spanId, value: toWire(e.value), timestamp: e.timestamp },
    ),
  };
}

function exemplarsFromWire(exemplars: ReadonlyArray<SnapshotExemplar | null> | undefined): {
  exemplars?: Array<Exemplar | undefined>;
} {
  if (!Array.isArray(exemplars)) return {};
  return {
    exemplars: exemplars.map((e) =>
      e === null || typeof e !== 'object'
        ? undefined
        : {
            traceId: e.traceId,
            spanId: e.spanId,
            value: fromWire(e.value),
            timestamp: e.timestamp,
          },
    ),
  };
}

/** Counts with runs of two or more empty buckets as one negative number each. */
function packCounts(counts: readonly number[]): number[] {
  const out: number[] = [];
  let empty = 0;
  const flush = (): void => {
    if (empty === 1) out.push(0);
    else if (empty > 1) out.push(-empty);
    empty = 0;
  };
  for (const count of counts) {
    if (count === 0) empty++;
    else {
      flush();
      out.push(count);
    }
  }
  flush();
  return out;
}

function sideToWire(side: ExponentialBuckets): SnapshotSide | undefined {
  return side.bucketCounts.length === 0
    ? undefined
    : { offset: side.offset, counts: packCounts(side.bucketCounts) };
}

function exponentialToWire(value: ExponentialHistogramValue): SnapshotExponential {
  const { count, sum, min, max, scale, zeroCount } = value;
  const positive = sideToWire(value.positive);
  const negative = sideToWire(value.negative);
  return {
    count,
    ...(sum !== undefined && { sum: toWire(sum) }),
    ...(min !== undefined && { min: toWire(min) }),
    ...(max !== undefined && { max: toWire(max) }),
    scale,
    zeroCount,
    ...(positive && { positive }),
    ...(negative && { negative }),
  };
}

/** The snapshot of a collection, as a worker sends it to the primary. */
export function takeSnapshot(collected: Collected): Snapshot {
  const scopes: SnapshotScope[] = [];
  const native: SnapshotNativeMetric[] = [];
  for (const { scope, metrics } of collected.scopeMetrics) {
    const out: SnapshotScope = { name: scope.name, metrics: [] };
    if (scope.version) out.version = scope.version;
    if (scope.schemaUrl) out.schemaUrl = scope.schemaUrl;
    for (const metric of metrics) {
      if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
        const { name, description, unit } = metric.descriptor;
        native.push({
          scope: scopes.length,
          at: out.metrics.length,
          name,
          description,
          unit,
          points: metric.dataPoints.map((point) => ({
            attributes: point.attributes,
            value: exponentialToWire(point.value),
            ...exemplarsToWire(point.exemplars),
          })),
        });
        continue;
      }
      const kind = kindOf(metric);
      if (kind === undefined) continue;
      const { name, description, unit } = metric.descriptor;
      const shaped: SnapshotMetric = { name, description, unit, kind, points: [] };
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        const first = metric.dataPoints[0];
        shaped.bounds = (first?.value.buckets.boundaries ?? []).map(toWire);
        for (const point of metric.dataPoints) {
          const { count, sum, buckets } = point.value;
          shaped.points.push({
            attributes: point.attributes,
            value:
              sum === undefined
                ? { count, counts: buckets.counts }
                : { count, sum: toWire(sum), counts: buckets.counts },
            ...exemplarsToWire(point.exemplars),
          });
        }
      } else if (
        metric.dataPointType === DataPointType.SUM ||
        metric.dataPointType === DataPointType.GAUGE
      ) {
        for (const point of metric.dataPoints) {
          shaped.points.push({
            attributes: point.attributes,
            value: toWire(point.value),
            ...exemplarsToWire(point.exemplars),
          });
        }
      }
      out.metrics.push(shaped);
    }
    scopes.push(out);
  }
  return native.length > 0 ? { scopes, native } : { scopes };
}

/** Told of a part of a worker's snapshot that this primary cannot read, which is left out. */
export type Unreadable = (key: string, message: string) => void;

function readMetric(metric: SnapshotMetric, unreadable: Unreadable): CollectedMetric | undefined {
  const descriptor = { name: metric.name, description: metric.description, unit: metric.unit };
  if (metric.kind === 'histogram') {
    // One array of bounds for every point of the metric, as the SDK shares it too.
    const boundaries = (metric.bounds ?? []).map(fromWire);
    return {
      descriptor,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: metric.points.map(({ attributes, value, exemplars }) => {
        const h = value as SnapshotHistogram;
        return {
          attributes,
          value: {
            count: h.count,
            ...(h.sum !== undefined && { sum: fromWire(h.sum) }),
            buckets: { boundaries, counts: h.counts },
          },
          ...exemplarsFromWire(exemplars),
        };
      }),
    };
  }
  const kind: unknown = metric.kind;
  if (kind !== 'gauge' && kind !== 'counter' && kind !== 'updown') {
    // A kind of a later version: taken for a sum, its values would be NaN.
    unreadable(
      `kind:${String(kind)}`,
      `a cluster worker sends metric ${metric.name} as a ${String(kind)}, which this primary does not read: it runs another version of express-otel-metrics; the metric is left out`,
    );
    return undefined;
  }
  const dataPoints = metric.points.map(({ attributes, value, exemplars }) => ({
    attributes,
    value: fromWire(value as WireNumber),
    ...exemplarsFromWire(exemplars),
  }));
  return kind === 'gauge'
    ? { descriptor, dataPointType: DataPointType.GAUGE, dataPoints }
    : {
        descriptor,
        dataPointType: DataPointType.SUM,
        isMonotonic: kind === 'counter',
        dataPoints,
      };
}

/** OpenTelemetry's range of exponential histogram scales. */
const MIN_SCALE = -10;
const MAX_SCALE = 20;

/**
 * The most buckets a side is read with. The SDK keeps `maxSize` (160 by default) a side; a run of
 * empty buckets from a garbled or foreign snapshot must not make the primary allocate gigabytes.
 */
const MAX_SIDE = 1 << 20;

const EMPTY_SIDE: ExponentialBuckets = { offset: 0, bucketCounts: [] };

function isWireNumber(n: unknown): n is WireNumber {
  return typeof n === 'number' || n === 'NaN' || n === 'Infinity' || n === '-Infinity';
}

function isInteger(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

function isCount(n: unknown): n is number {
  return isInteger(n) && n >= 0;
}

/** A side's buckets, undefined when they cannot be read. */
function sideFromWire(side: unknown): ExponentialBuckets | undefined {
  if (side === undefined) return EMPTY_SIDE;
  if (typeof side !== 'object' || side === null) return undefined;
  const { offset, counts } = side as Partial<Record<keyof SnapshotSide, unknown>>;
  if (!isInteger(offset) || !Array.isArray(counts)) return undefined;
  const bucketCounts: number[] = [];
  for (const count of counts as unknown[]) {
    if (!isInteger(count) || bucketCounts.length + Math.abs(count) > MAX_SIDE) return undefined;
    if (count >= 0) bucketCounts.push(count);
    else for (let i = 0; i > count; i--) bucketCounts.push(0);
  }
  return bucketCounts.length === 0 ? EMPTY_SIDE : { offset, bucketCounts };
}

/**
 * A point's value, undefined when it cannot be read: every field is checked, since a worker of
 * another version may send this field in a shape of its own, and the primary must not throw.
 */
function exponentialFromWire(value: unknown): ExponentialHistogramValue | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<Record<keyof SnapshotExponential, unknown>>;
  const { count, sum, min, max, scale, zeroCount } = v;
  if (!isCount(count) || !isCount(zeroCount)) return undefined;
  if (!isInteger(scale) || scale < MIN_SCALE || scale > MAX_SCALE) return undefined;
  for (const n of [sum, min, max]) if (n !== undefined && !isWireNumber(n)) return undefined;
  const positive = sideFromWire(v.positive);
  const negative = sideFromWire(v.negative);
  if (positive === undefined || negative === undefined) return undefined;
  return {
    count,
    ...(sum !== undefined && { sum: fromWire(sum as WireNumber) }),
    ...(min !== undefined && { min: fromWire(min as WireNumber) }),
    ...(max !== undefined && { max: fromWire(max as WireNumber) }),
    scale,
    zeroCount,
    positive,
    negative,
  };
}

/** An exponential histogram metric, with the points that can be read; undefined if none can. */
function readNativeMetric(
  metric: unknown,
  unreadable: Unreadable,
): { scope: number; at: number; metric: CollectedMetric } | undefined {
  const m =
    typeof metric === 'object' && metric !== null
      ? (metric as Partial<Record<keyof SnapshotNativeMetric, unknown>>)
      : {};
  const { name, description, unit, points, scope, at } = m;
  const named = typeof name === 'string' ? name : '(unnamed)';
  const tell = (): void =>
    unreadable(
      `native:${named}`,
      `a cluster worker sends exponential histogram ${named} in a form this primary does not read: they run different versions of express-otel-metrics; what cannot be read of it is left out`,
    );
  if (
    typeof name !== 'string' ||
    typeof description !== 'string' ||
    typeof unit !== 'string' ||
    !Array.isArray(points) ||
    !isCount(scope)
  ) {
    tell();
    return undefined;
  }
  const dataPoints: Array<Point<ExponentialHistogramValue>> = [];
  for (const point of points as unknown[]) {
    const p =
      typeof point === 'object' && point !== null
        ? (point as Partial<Record<keyof SnapshotNativePoint, unknown>>)
        : {};
    const value = exponentialFromWire(p.value);
    if (value === undefined || typeof p.attributes !== 'object' || p.attributes === null) {
      tell();
      continue;
    }
    dataPoints.push({
      attributes: p.attributes as Attributes,
      value,
      ...exemplarsFromWire(p.exemplars as SnapshotNativePoint['exemplars']),
    });
  }
  // Served with no points, it would be a family with nothing in it.
  if (dataPoints.length === 0 && points.length > 0) return undefined;
  return {
    scope,
    // A place that cannot be read puts it after its scope's other metrics.
    at: isCount(at) ? at : Number.MAX_SAFE_INTEGER,
    metric: {
      descriptor: { name, description, unit },
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      dataPoints,
    },
  };
}

/** The exponential histograms of a snapshot, by scope index, in the order they were taken. */
function readNative(
  snapshot: Snapshot,
  unreadable: Unreadable,
): Map<number, Array<{ at: number; metric: CollectedMetric }>> {
  const byScope = new Map<number, Array<{ at: number; metric: CollectedMetric }>>();
  const native: unknown = snapshot.native;
  if (native === undefined) return byScope;
  if (!Array.isArray(native)) {
    unreadable(
      'native',
      'a cluster worker sends its exponential histograms in a form this primary does not read: they run different versions of express-otel-metrics; those histograms are left out',
    );
    return byScope;
  }
  for (const metric of native as unknown[]) {
    const read = readNativeMetric(metric, unreadable);
    if (read === undefined) continue;
    let list = byScope.get(read.scope);
    if (list === undefined) {
      list = [];
      byScope.set(read.scope, list);
    }
    list.push(read);
  }
  return byScope;
}

/**
 * A worker's snapshot as collected data, read once when it arrives: the primary merges it with
 * its own collection, and keeps it until the worker's next one. What cannot be read (a metric of
 * a kind this version does not know) is left out, and `unreadable` told.
 */
export function readSnapshot(
  snapshot: Snapshot,
  unreadable: Unreadable = () => undefined,
): Collected {
  const native = readNative(snapshot, unreadable);
  for (const [index, [first]] of native) {
    if (index >= snapshot.scopes.length && first !== undefined) {
      unreadable(
        `native:${first.metric.descriptor.name}`,
        `a cluster worker sends exponential histogram ${first.metric.descriptor.name} of a scope its snapshot does not have; it is left out`,
      );
    }
  }
  return {
    resource: { attributes: {} },
    scopeMetrics: snapshot.scopes.map(({ metrics, name, version, schemaUrl }, index) => {
      const scope = {
        name,
        ...(version !== undefined && { version }),
        ...(schemaUrl !== undefined && { schemaUrl }),
      };
      const read: Array<{ place: number; metric: CollectedMetric }> = [];
      metrics.forEach((metric, place) => {
        const collected = readMetric(metric, unreadable);
        if (collected !== undefined) read.push({ place, metric: collected });
      });
      const placed = native.get(index);
      if (placed !== undefined) {
        // Each exponential histogram just before the metric it preceded; sort() is stable, so
        // several in one place keep their order.
        for (const { at, metric } of placed) {
          read.push({ place: Math.min(at, metrics.length) - 0.5, metric });
        }
        read.sort((a, b) => a.place - b.place);
      }
      return { scope, metrics: read.map(({ metric }) => metric) };
    }),
  };
}
