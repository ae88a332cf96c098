import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import {
  kindOf,
  type Collected,
  type CollectedMetric,
  type Exemplar,
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
 */
export interface Snapshot {
  scopes: SnapshotScope[];
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

/** The snapshot of a collection, as a worker sends it to the primary. */
export function takeSnapshot(collected: Collected): Snapshot {
  const scopes: SnapshotScope[] = [];
  for (const { scope, metrics } of collected.scopeMetrics) {
    const out: SnapshotScope = { name: scope.name, metrics: [] };
    if (scope.version) out.version = scope.version;
    if (scope.schemaUrl) out.schemaUrl = scope.schemaUrl;
    for (const metric of metrics) {
      // Exponential histograms have no form in the text format the primary writes.
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
  return { scopes };
}

function readMetric(metric: SnapshotMetric): CollectedMetric {
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
  const dataPoints = metric.points.map(({ attributes, value, exemplars }) => ({
    attributes,
    value: fromWire(value as WireNumber),
    ...exemplarsFromWire(exemplars),
  }));
  return metric.kind === 'gauge'
    ? { descriptor, dataPointType: DataPointType.GAUGE, dataPoints }
    : {
        descriptor,
        dataPointType: DataPointType.SUM,
        isMonotonic: metric.kind === 'counter',
        dataPoints,
      };
}

/**
 * A worker's snapshot as collected data, read once when it arrives: the primary merges it with
 * its own collection, and keeps it until the worker's next one.
 */
export function readSnapshot(snapshot: Snapshot): Collected {
  return {
    resource: { attributes: {} },
    scopeMetrics: snapshot.scopes.map(({ metrics, ...scope }) => ({
      scope,
      metrics: metrics.map(readMetric),
    })),
  };
}
