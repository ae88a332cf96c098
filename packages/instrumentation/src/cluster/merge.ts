import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { ClusterMerge } from '../catalogue.js';
import {
  kindOf,
  type Collected,
  type CollectedMetric,
  type CollectedScope,
  type Exemplar,
  type HistogramValue,
} from '../export/collected.js';
import { WORKER_LABEL } from '../labels.js';
import { CLUSTER_GAUGE_MERGE } from '../names.js';
import { addExponential, copyExponential, type MutableExponential } from './exponential.js';

/** One process's part in a merge. */
export interface Contribution {
  /** Its `worker` label value, for the series kept per process. */
  worker: string;
  data: Collected;
  /**
   * Whether the data is of this scrape. Stale data (the process did not answer in time, or has
   * exited) gives only its totals, which can only have grown since: anything else of it would
   * show an old value as current.
   */
  fresh: boolean;
}

/**
 * A merge's result taking part in another merge (the workers' round, in a scrape's merge): its
 * points keep the attributes they have, the `worker` label of per-process series included, and
 * the series keys the first merge gave them. A metric of it that no other part has is taken as it
 * is, not copied: the result shares its points, so what raises the result's values (the floors)
 * raises the contribution's too. The floors raise every scrape served from a round to the same
 * values, so for a round that is harmless.
 */
export interface MergedContribution {
  merged: Merged;
  /** As {@link Contribution.fresh}; the first merge has left out the gauges of stale processes. */
  fresh: boolean;
}

/**
 * A merged point, with the key of its series (its attributes in a canonical order). Its value is
 * the merge's own, which the floors may raise.
 */
export interface MergedPoint<V> {
  readonly attributes: Attributes;
  readonly key: string;
  value: V;
  /**
   * The latest exemplar of each slot over the processes (by timestamp), where any has one: those
   * of exited workers too, which still link to their traces until a newer one takes the slot.
   */
  exemplars?: Array<Exemplar | undefined>;
}

/** Collected data made by a merge: every point carries its series key. */
export interface Merged extends Collected {
  readonly scopeMetrics: ReadonlyArray<{
    readonly scope: CollectedScope['scope'];
    readonly metrics: ReadonlyArray<MergedMetric>;
  }>;
}

export type MergedMetric =
  | {
      readonly descriptor: CollectedMetric['descriptor'];
      readonly dataPointType: DataPointType.SUM;
      readonly isMonotonic: boolean;
      readonly dataPoints: Array<MergedPoint<number>>;
    }
  | {
      readonly descriptor: CollectedMetric['descriptor'];
      readonly dataPointType: DataPointType.GAUGE;
      readonly dataPoints: Array<MergedPoint<number>>;
    }
  | {
      readonly descriptor: CollectedMetric['descriptor'];
      readonly dataPointType: DataPointType.HISTOGRAM;
      readonly dataPoints: Array<MergedPoint<MutableHistogram>>;
    }
  | {
      readonly descriptor: CollectedMetric['descriptor'];
      readonly dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM;
      readonly dataPoints: Array<MergedPoint<MutableExponential>>;
    };

interface MutableHistogram {
  count: number;
  sum?: number;
  buckets: { boundaries: readonly number[]; counts: number[] };
}

/**
 * How the primary merges a metric: by its kind, then by the catalogue (`CLUSTER_GAUGE_MERGE`). An
 * exponential histogram is the request latency (under its own name with `latencyHistogram:
 * 'native'`, under that name and `NATIVE_SUFFIX` beside the classic one with `'both'`), or another
 * histogram of the app's: a total, as every histogram is, so the catalogue needs no entry for the
 * `_native` name.
 */
export function mergeRuleOf(metric: CollectedMetric): ClusterMerge | undefined {
  if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) return 'total';
  const kind = kindOf(metric);
  if (kind === undefined) return undefined;
  if (kind === 'counter' || kind === 'histogram') return 'total';
  return CLUSTER_GAUGE_MERGE[metric.descriptor.name] ?? 'worker';
}

/**
 * What a metric is, for telling whether two processes' can be added: its kind, and an exponential
 * histogram apart from a classic one (two versions of an app during a rolling deploy, one with
 * `latencyHistogram: 'native'`, record one name both ways).
 */
function shapeOf(metric: CollectedMetric): string | undefined {
  return metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM
    ? 'native histogram'
    : kindOf(metric);
}

/** The key of a scope: its name and version, which together tell instruments apart. */
export function scopeKey(scope: CollectedScope['scope']): string {
  return `${scope.name}\u0000${scope.version ?? ''}`;
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
    if (!sameItems(names, this.names)) {
      this.names = names;
      this.sorted = [...names].sort();
      this.prefix = JSON.stringify(this.sorted);
    }
    const values: unknown[] = [];
    for (const name of this.sorted) values.push(attributes[name]);
    return this.prefix + JSON.stringify(values);
  }
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A metric while it is being merged: its series by key. */
interface Merging {
  scope: CollectedScope['scope'];
  first: CollectedMetric;
  rule: ClusterMerge;
  series: Map<
    string,
    MergedPoint<number> | MergedPoint<MutableHistogram> | MergedPoint<MutableExponential>
  >;
  /**
   * A merged contribution's metric taken as it is, while no other part has added to it: the
   * request series reach a scrape's merge from the round alone, and copying them there, point by
   * point, was the most of what a scrape served from a round cost beyond a single process's.
   */
  adopted?: MergedMetric;
}

function boundariesOf(metric: CollectedMetric): readonly number[] {
  return metric.dataPointType === DataPointType.HISTOGRAM
    ? (metric.dataPoints[0]?.value.buckets.boundaries ?? [])
    : [];
}

function copyHistogram(value: HistogramValue): MutableHistogram {
  return {
    count: value.count,
    ...(value.sum !== undefined && { sum: value.sum }),
    buckets: { boundaries: value.buckets.boundaries, counts: [...value.buckets.counts] },
  };
}

function addHistogram(into: MutableHistogram, value: HistogramValue): void {
  into.count += value.count;
  if (into.sum !== undefined && value.sum !== undefined) into.sum += value.sum;
  else delete into.sum;
  const { counts } = into.buckets;
  for (let i = 0; i < counts.length; i++) {
    counts[i] = (counts[i] as number) + (value.buckets.counts[i] ?? 0);
  }
}

function mergeExemplars(
  into: MergedPoint<unknown>,
  from: ReadonlyArray<Exemplar | undefined> | undefined,
): void {
  if (from === undefined) return;
  if (into.exemplars === undefined) into.exemplars = [...from];
  else addExemplars(into.exemplars, from);
}

/** Keeps in each slot of `into` the later of its exemplar and the one `from` has there. */
function addExemplars(
  into: Array<Exemplar | undefined>,
  from: ReadonlyArray<Exemplar | undefined>,
): void {
  for (let i = 0; i < from.length; i++) {
    const candidate = from[i];
    if (candidate === undefined) continue;
    const kept = into[i];
    if (kept === undefined || candidate.timestamp > kept.timestamp) into[i] = candidate;
  }
}

/**
 * Adds a metric's points to the merge; `worker` is undefined for a merged contribution, whose
 * points are labelled and keyed already.
 */
function addPoints(into: Merging, metric: CollectedMetric, worker: string | undefined): void {
  const keys = new SeriesKeys();
  for (const point of metric.dataPoints) {
    const attributes =
      into.rule === 'worker' && worker !== undefined
        ? { ...point.attributes, [WORKER_LABEL]: worker }
        : point.attributes;
    const key = worker === undefined ? (point as MergedPoint<unknown>).key : keys.of(attributes);
    const existing = into.series.get(key);
    const { value, exemplars } = point;
    // A copy of the first process's exemplars, into which the others' are merged.
    const own = exemplars !== undefined && { exemplars: [...exemplars] };
    if (typeof value === 'object' && 'scale' in value) {
      if (existing === undefined) {
        into.series.set(key, { attributes, key, value: copyExponential(value), ...own });
      } else if (typeof existing.value === 'object' && 'scale' in existing.value) {
        addExponential(existing.value, value);
        // No recorder keeps exemplars of exponential histograms yet. Should one, they are merged
        // by slot as the classic histograms' are, so its slots must mean the same in every
        // process whatever the scale (not bucket indexes, which move with it).
        mergeExemplars(existing, exemplars);
      }
      continue;
    }
    if (typeof value === 'object') {
      if (existing === undefined) {
        into.series.set(key, { attributes, key, value: copyHistogram(value), ...own });
      } else if (typeof existing.value === 'object' && !('scale' in existing.value)) {
        addHistogram(existing.value, value);
        mergeExemplars(existing, exemplars);
      }
      continue;
    }
    if (existing === undefined) into.series.set(key, { attributes, key, value, ...own });
    else if (typeof existing.value === 'number' && into.rule !== 'once') {
      existing.value += value;
      mergeExemplars(existing, exemplars);
    }
  }
}

/** A merged metric: the first process's kind and description, with the merged series. */
function finish({ first, series, adopted }: Merging): MergedMetric {
  const { descriptor, dataPointType } = first;
  const monotonic = first.dataPointType === DataPointType.SUM && { isMonotonic: first.isMonotonic };
  // The series were merged by the kind of `first`, so they are its points' kind.
  return {
    descriptor,
    dataPointType,
    ...monotonic,
    dataPoints: adopted?.dataPoints ?? [...series.values()],
  } as MergedMetric;
}

/**
 * Combines the processes' collected data into one set of series, metric by metric as
 * {@link mergeRuleOf} says, in the order the metrics first appear; the result can be merged again
 * (the retired totals of exited workers are, and a round's merge of the workers is merged into
 * each scrape's as a {@link MergedContribution}). A metric whose kind or buckets differ from the first
 * process's (two versions of an app during a rolling deploy, say) cannot be added to it; that
 * process's part of it is left out and `warn` is told.
 */
export function mergeCollected(
  contributions: ReadonlyArray<Contribution | MergedContribution>,
  resource: Collected['resource'],
  warn: (key: string, message: string) => void,
): Merged {
  const merging = new Map<string, Merging>();
  for (const contribution of contributions) {
    const { fresh } = contribution;
    const [worker, data] =
      'merged' in contribution
        ? [undefined, contribution.merged]
        : [contribution.worker, contribution.data];
    for (const { scope, metrics } of data.scopeMetrics) {
      const scopeId = scopeKey(scope);
      for (const metric of metrics) {
        const rule = mergeRuleOf(metric);
        if (rule === undefined || (!fresh && rule !== 'total')) continue;
        const { name } = metric.descriptor;
        const id = `${scopeId}\u0000${name}`;
        let into = merging.get(id);
        if (into === undefined) {
          into = { scope, first: metric, rule, series: new Map() };
          merging.set(id, into);
          if (worker === undefined) {
            into.adopted = metric as MergedMetric;
            continue;
          }
        } else if (shapeOf(into.first) !== shapeOf(metric)) {
          warn(
            `kind:${name}`,
            `metric ${name} is a ${shapeOf(metric)} in one process and a ${shapeOf(into.first)} in another; only the first is served`,
          );
          continue;
        } else if (!sameItems(boundariesOf(into.first), boundariesOf(metric))) {
          warn(
            `bounds:${name}`,
            `histogram ${name} has different buckets in two processes; only the first's are served`,
          );
          continue;
        }
        if (into.adopted !== undefined) {
          addPoints(into, into.adopted, undefined);
          delete into.adopted;
        }
        addPoints(into, metric, worker);
      }
    }
  }
  // Grouped by scope again, in the order the scopes first appeared.
  const scopes = new Map<string, { scope: CollectedScope['scope']; metrics: MergedMetric[] }>();
  for (const metric of merging.values()) {
    const id = scopeKey(metric.scope);
    let group = scopes.get(id);
    if (group === undefined) {
      group = { scope: metric.scope, metrics: [] };
      scopes.set(id, group);
    }
    group.metrics.push(finish(metric));
  }
  return { resource, scopeMetrics: [...scopes.values()] };
}
