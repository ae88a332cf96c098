import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/**
 * One process's collected series in a form that survives the cluster's IPC channel, which
 * carries JSON by default: plain objects, and non-finite numbers as strings (JSON has no NaN or
 * Infinity, and would turn them into null).
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

export type SnapshotKind = 'counter' | 'updown' | 'gauge' | 'histogram';

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
  counts: number[];
}

export interface SnapshotPoint {
  attributes: Attributes;
  value: WireNumber | SnapshotHistogram;
}

export function toWire(n: number): WireNumber {
  return Number.isFinite(n) ? n : (String(n) as WireNumber);
}

export function fromWire(n: WireNumber): number {
  return typeof n === 'number' ? n : Number(n);
}

function kindOf(dataPointType: DataPointType, isMonotonic: boolean): SnapshotKind | undefined {
  switch (dataPointType) {
    case DataPointType.SUM:
      return isMonotonic ? 'counter' : 'updown';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      // Exponential histograms have no form in the Prometheus text format the primary writes.
      return undefined;
  }
}

/** The snapshot of a collection, as a worker sends it to the primary. */
export function takeSnapshot(resourceMetrics: ResourceMetrics): Snapshot {
  const scopes: SnapshotScope[] = [];
  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    const out: SnapshotScope = { name: scope.name, metrics: [] };
    if (scope.version) out.version = scope.version;
    if (scope.schemaUrl) out.schemaUrl = scope.schemaUrl;
    for (const metric of metrics) {
      const kind = kindOf(
        metric.dataPointType,
        'isMonotonic' in metric ? metric.isMonotonic : false,
      );
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
          });
        }
      } else if (
        metric.dataPointType === DataPointType.SUM ||
        metric.dataPointType === DataPointType.GAUGE
      ) {
        for (const point of metric.dataPoints) {
          shaped.points.push({ attributes: point.attributes, value: toWire(point.value) });
        }
      }
      out.metrics.push(shaped);
    }
    scopes.push(out);
  }
  return { scopes };
}
