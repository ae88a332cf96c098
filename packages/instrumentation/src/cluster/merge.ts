import { ValueType, type Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import { CLUSTER_GAUGE_MERGE, type ClusterMerge } from '../names.js';
import { WORKER_LABEL } from '../labels.js';
import {
  fromWire,
  toWire,
  type Snapshot,
  type SnapshotHistogram,
  type SnapshotKind,
  type SnapshotMetric,
  type SnapshotScope,
} from './snapshot.js';

/** One process's part in a merge. */
export interface Contribution {
  /** Its `worker` label value, for the series kept per process. */
  worker: string;
  snapshot: Snapshot;
  /**
   * Whether the snapshot is of this scrape. A stale one (the process did not answer in time, or
   * has exited) gives only its totals, which can only have grown since: anything else of it would
   * show an old value as current.
   */
  fresh: boolean;
}

interface MergedHistogram {
  count: number;
  sum: number | undefined;
  counts: number[];
}

interface MergedSeries {
  attributes: Attributes;
  value: number | MergedHistogram;
}

export interface MergedMetric {
  scope: Omit<SnapshotScope, 'metrics'>;
  name: string;
  description: string;
  unit: string;
  kind: SnapshotKind;
  bounds: number[] | undefined;
  merge: ClusterMerge;
  series: Map<string, MergedSeries>;
}

export function mergeOf(metric: Pick<SnapshotMetric, 'name' | 'kind'>): ClusterMerge {
  if (metric.kind === 'counter' || metric.kind === 'histogram') return 'total';
  return CLUSTER_GAUGE_MERGE[metric.name] ?? 'worker';
}

/**
 * Series keys, the same whatever the order of the attributes (which may differ between
 * processes). Points of one metric nearly always share their attribute names, so the sorted
 * order is worked out once per run of points with the same names, and each key costs one
 * `JSON.stringify` of the values.
 */
class SeriesKeys {
  private names: readonly string[] = [];
  private sorted: string[] = [];
  private prefix = '[]';

  of(attributes: Attributes): string {
    const names = Object.keys(attributes);
    if (!sameNames(names, this.names)) {
      this.names = names;
      this.sorted = [...names].sort();
      this.prefix = JSON.stringify(this.sorted);
    }
    const values: unknown[] = [];
    for (const name of this.sorted) values.push(attributes[name]);
    return this.prefix + JSON.stringify(values);
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function toHistogram(value: SnapshotHistogram): MergedHistogram {
  return {
    count: value.count,
    sum: value.sum === undefined ? undefined : fromWire(value.sum),
    counts: [...value.counts],
  };
}

function addHistogram(into: MergedHistogram, value: SnapshotHistogram): void {
  into.count += value.count;
  if (into.sum !== undefined && value.sum !== undefined) into.sum += fromWire(value.sum);
  else into.sum = undefined;
  const { counts } = into;
  for (let i = 0; i < counts.length; i++)
    counts[i] = (counts[i] as number) + (value.counts[i] ?? 0);
}

/**
 * Combines the processes' snapshots into one set of series, metric by metric as `mergeOf` says.
 * A metric whose kind or buckets differ from the first process's (two versions of an app during a
 * rolling deploy, say) cannot be added to it; that process's part of it is left out and `warn`
 * is told.
 */
export function mergeSnapshots(
  contributions: readonly Contribution[],
  warn: (key: string, message: string) => void,
): MergedMetric[] {
  const merged = new Map<string, MergedMetric>();
  for (const { worker, snapshot, fresh } of contributions) {
    for (const scope of snapshot.scopes) {
      for (const metric of scope.metrics) {
        const merge = mergeOf(metric);
        if (!fresh && merge !== 'total') continue;
        const id = `${scope.name}\u0000${scope.version ?? ''}\u0000${metric.name}`;
        const bounds = metric.bounds?.map(fromWire);
        let into = merged.get(id);
        if (into === undefined) {
          into = {
            scope: { name: scope.name, version: scope.version, schemaUrl: scope.schemaUrl },
            name: metric.name,
            description: metric.description,
            unit: metric.unit,
            kind: metric.kind,
            bounds,
            merge,
            series: new Map(),
          };
          merged.set(id, into);
        } else if (into.kind !== metric.kind) {
          warn(
            `kind:${metric.name}`,
            `metric ${metric.name} is a ${metric.kind} in one process and a ${into.kind} in another; only the first is served`,
          );
          continue;
        } else if (metric.kind === 'histogram' && !sameBounds(into.bounds ?? [], bounds ?? [])) {
          warn(
            `bounds:${metric.name}`,
            `histogram ${metric.name} has different buckets in two processes; only the first's are served`,
          );
          continue;
        }
        addPoints(into, metric, worker);
      }
    }
  }
  return [...merged.values()];
}

function addPoints(into: MergedMetric, metric: SnapshotMetric, worker: string): void {
  const keys = new SeriesKeys();
  for (const point of metric.points) {
    const attributes =
      into.merge === 'worker' ? { ...point.attributes, [WORKER_LABEL]: worker } : point.attributes;
    const key = keys.of(attributes);
    const existing = into.series.get(key);
    const { value } = point;
    if (typeof value === 'object') {
      if (existing === undefined) into.series.set(key, { attributes, value: toHistogram(value) });
      else if (typeof existing.value === 'object') addHistogram(existing.value, value);
      continue;
    }
    const n = fromWire(value);
    if (existing === undefined) into.series.set(key, { attributes, value: n });
    else if (typeof existing.value === 'number' && into.merge !== 'once') existing.value += n;
  }
}

/**
 * The highest value served so far of every total. Floating-point totals (CPU seconds, the sums of
 * histograms) come out a last digit lower when the same numbers are added in another order, as
 * they are once a worker's totals move to the retired ones; Prometheus would read that as a
 * counter reset. So a total is never served below what was served before.
 */
export class Floors {
  private readonly floors = new Map<string, number>();

  apply(metrics: readonly MergedMetric[]): void {
    for (const metric of metrics) {
      if (metric.merge !== 'total') continue;
      const prefix = `${metric.scope.name}\u0000${metric.scope.version ?? ''}\u0000${metric.name}\u0000`;
      for (const [key, series] of metric.series) {
        const id = prefix + key;
        const floor = this.floors.get(id);
        const { value } = series;
        if (typeof value === 'number') {
          if (floor !== undefined && value < floor) series.value = floor;
          else this.floors.set(id, value);
        } else if (value.sum !== undefined) {
          if (floor !== undefined && value.sum < floor) value.sum = floor;
          else this.floors.set(id, value.sum);
        }
      }
    }
  }
}

/** Merged metrics as a snapshot again: the retired totals are kept in this form. */
export function toSnapshot(metrics: readonly MergedMetric[]): Snapshot {
  return {
    scopes: byScope(metrics, toSnapshotMetric).map(({ scope, items }) => ({
      ...scope,
      metrics: items,
    })),
  };
}

function toSnapshotMetric(metric: MergedMetric): SnapshotMetric {
  const shaped: SnapshotMetric = {
    name: metric.name,
    description: metric.description,
    unit: metric.unit,
    kind: metric.kind,
    points: [],
  };
  if (metric.bounds !== undefined) shaped.bounds = metric.bounds.map(toWire);
  for (const { attributes, value } of metric.series.values()) {
    shaped.points.push({
      attributes,
      value:
        typeof value === 'number'
          ? toWire(value)
          : {
              count: value.count,
              counts: [...value.counts],
              ...(value.sum !== undefined && { sum: toWire(value.sum) }),
            },
    });
  }
  return shaped;
}

/** The metrics grouped by scope (name and version), each group converted, in first-seen order. */
function byScope<T>(
  metrics: readonly MergedMetric[],
  convert: (metric: MergedMetric) => T,
): Array<{ scope: MergedMetric['scope']; items: T[] }> {
  const groups = new Map<string, { scope: MergedMetric['scope']; items: T[] }>();
  for (const metric of metrics) {
    const id = `${metric.scope.name}\u0000${metric.scope.version ?? ''}`;
    let group = groups.get(id);
    if (group === undefined) {
      group = { scope: metric.scope, items: [] };
      groups.set(id, group);
    }
    group.items.push(convert(metric));
  }
  return [...groups.values()];
}

const NO_TIME: [number, number] = [0, 0];

function toMetricData(metric: MergedMetric): MetricData {
  const descriptor = {
    name: metric.name,
    description: metric.description,
    unit: metric.unit,
    // The writer does not read it; the SDK's type wants it.
    valueType: ValueType.DOUBLE,
  };
  const base = {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
  };
  const points = [...metric.series.values()];
  if (metric.kind === 'histogram') {
    const boundaries = metric.bounds ?? [];
    return {
      ...base,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: points.map(({ attributes, value }) => {
        const h = value as MergedHistogram;
        return {
          attributes,
          startTime: NO_TIME,
          endTime: NO_TIME,
          value: {
            buckets: { boundaries, counts: h.counts },
            sum: h.sum,
            count: h.count,
          },
        };
      }),
    } as MetricData;
  }
  const numbers = points.map(({ attributes, value }) => ({
    attributes,
    startTime: NO_TIME,
    endTime: NO_TIME,
    value: value as number,
  }));
  if (metric.kind === 'gauge') {
    return { ...base, dataPointType: DataPointType.GAUGE, dataPoints: numbers } as MetricData;
  }
  return {
    ...base,
    dataPointType: DataPointType.SUM,
    isMonotonic: metric.kind === 'counter',
    dataPoints: numbers,
  } as MetricData;
}

/** Merged metrics as collected data, for the exposition writer. */
export function toResourceMetrics(
  resource: Resource,
  metrics: readonly MergedMetric[],
): ResourceMetrics {
  return {
    resource,
    scopeMetrics: byScope(metrics, toMetricData).map(({ scope, items }) => ({
      scope: {
        name: scope.name,
        ...(scope.version !== undefined && { version: scope.version }),
        ...(scope.schemaUrl !== undefined && { schemaUrl: scope.schemaUrl }),
      },
      metrics: items,
    })),
  };
}
