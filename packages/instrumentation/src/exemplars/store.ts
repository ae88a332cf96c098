/**
 * The exemplars of the request series: for each series (a metric and one set of label values),
 * the latest observation made inside a sampled span, one per histogram bucket and one for a
 * counter, with the span's trace and span ids. The request path offers them only when it has a
 * sampled span; a scrape finds them again from the collected points' attributes
 * ({@link ExemplarStore.decorate}).
 *
 * The reservoir is "latest wins" per slot: at most one exemplar per bucket per series, so memory
 * is bounded by the series the SDK keeps, times the buckets. The series are bounded as the SDK
 * bounds them (`cardinalityLimit`): once a metric's series overflow, the store cannot tell which
 * label sets the SDK keeps, and it drops that metric's exemplars for good (the SDK's overflow
 * series, cumulative, lasts as long as the provider).
 */

import type { Attributes, SpanContext } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { METER_NAME } from '../catalogue.js';
import type {
  Collected,
  CollectedMetric,
  CollectedScope,
  Exemplar,
  HistogramValue,
  Point,
} from '../export/collected.js';

/** The attribute the SDK puts on the series that collects label sets beyond the limit. */
const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

/** Where a request recorder offers the exemplars of one of its instruments. */
export interface ExemplarSlots {
  /**
   * Keeps the observation `value`, recorded with `attributes` inside the sampled span `span`, as
   * the exemplar of its bucket (of its series, for a counter), replacing the one there.
   */
  offer(attributes: Attributes, value: number, span: SpanContext): void;
}

/** One metric's exemplars. */
interface Kept {
  /** The label names of its series, in the recorder's order: the key of a series is their values. */
  readonly names: readonly string[];
  /** A histogram's bucket bounds; undefined for a counter, which has one slot per series. */
  readonly bounds: readonly number[] | undefined;
  /** Each series' slots, by series key: a histogram's by bucket, the overflow bucket last. */
  readonly series: Map<string, Array<Exemplar | undefined>>;
  /** Its series overflowed: nothing is kept for it any more. */
  overflowed: boolean;
}

/**
 * The key of a series: its label values in the order of `names`, as JSON (so that no two sets of
 * values give one key, whatever characters they hold); an absent label is `null`. Computed on the
 * request path only for a request in a sampled span, and at a scrape for the points of metrics
 * that have exemplars.
 */
export function seriesKey(attributes: Attributes, names: readonly string[]): string {
  const values: unknown[] = [];
  for (const name of names) values.push(attributes[name] ?? null);
  return JSON.stringify(values);
}

/**
 * The bucket an observation falls into, as the SDK counts it (`binarySearchUB` in sdk-metrics'
 * utils): the first whose upper bound is not below the value, else the overflow bucket.
 */
export function bucketOf(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length - 1;
  let found = bounds.length;
  while (hi >= lo) {
    const mid = lo + Math.trunc((hi - lo) / 2);
    if ((bounds[mid] as number) < value) lo = mid + 1;
    else {
      found = mid;
      hi = mid - 1;
    }
  }
  return found;
}

/** How many buckets a histogram point has, the overflow bucket included. */
const bucketsOf = (point: Point<unknown>): number =>
  (point as Point<HistogramValue>).value.buckets.counts.length;

export class ExemplarStore {
  private readonly metrics = new Map<string, Kept>();
  /**
   * The most label sets a metric's series hold apart: the SDK folds the one that would reach
   * `cardinalityLimit` into its overflow series (`DeltaMetricProcessor` keeps `limit - 1`), so a
   * metric with more keys than this here has overflowed.
   */
  private readonly maxSeries: number;

  /**
   * @param cardinalityLimit the option `cardinalityLimit`: the limit of the Views of the request
   *   metrics
   * @param warn told once per metric whose exemplars are dropped
   */
  constructor(
    cardinalityLimit: number,
    private readonly warn: (key: string, message: string) => void,
  ) {
    this.maxSeries = Math.max(cardinalityLimit - 1, 0);
  }

  /** The slots of histogram `name` (its name as collected), by its label names and bounds. */
  histogram(name: string, labelNames: readonly string[], bounds: readonly number[]): ExemplarSlots {
    return this.slotsOf(name, labelNames, [...bounds]);
  }

  /** The slots of counter `name` (its name as collected), by its label names. */
  counter(name: string, labelNames: readonly string[]): ExemplarSlots {
    return this.slotsOf(name, labelNames, undefined);
  }

  /** How many series hold exemplars, over every metric. */
  get size(): number {
    let size = 0;
    for (const kept of this.metrics.values()) size += kept.series.size;
    return size;
  }

  private slotsOf(
    name: string,
    labelNames: readonly string[],
    bounds: readonly number[] | undefined,
  ): ExemplarSlots {
    const kept: Kept = { names: [...labelNames], bounds, series: new Map(), overflowed: false };
    this.metrics.set(name, kept);
    const width = bounds === undefined ? 1 : bounds.length + 1;
    return {
      offer: (attributes, value, span) => {
        if (kept.overflowed) return;
        const key = seriesKey(attributes, kept.names);
        let slots = kept.series.get(key);
        if (slots === undefined) {
          if (kept.series.size >= this.maxSeries) {
            this.overflow(name, kept, true);
            return;
          }
          slots = new Array<Exemplar | undefined>(width).fill(undefined);
          kept.series.set(key, slots);
        }
        slots[bounds === undefined ? 0 : bucketOf(bounds, value)] = {
          traceId: span.traceId,
          spanId: span.spanId,
          value,
          timestamp: Date.now(),
        };
      },
    };
  }

  /**
   * Stops keeping exemplars for a metric whose series overflowed; says so where it drops some (the
   * overflow itself has a warning of its own, in the exposition).
   */
  private overflow(name: string, kept: Kept, dropping: boolean): void {
    kept.overflowed = true;
    kept.series.clear();
    if (!dropping) return;
    this.warn(
      `exemplars:${name}`,
      `metric ${name} has more label sets than its series limit allows; its exemplars are no longer kept`,
    );
  }

  /**
   * The collected data with the exemplars kept on the points of their series, found by the
   * points' attributes; the rest as it was (the same objects). Each point gets a copy of its
   * slots, so the answer written from it does not change under it. A metric whose series have
   * overflowed loses its exemplars here.
   */
  decorate(collected: Collected): Collected {
    if (this.metrics.size === 0) return collected;
    let changed = false;
    const scopeMetrics = collected.scopeMetrics.map((scope): CollectedScope => {
      if (scope.scope.name !== METER_NAME) return scope;
      let scopeChanged = false;
      const metrics = scope.metrics.map((metric) => {
        const decorated = this.decorateMetric(metric);
        if (decorated !== metric) scopeChanged = true;
        return decorated;
      });
      if (!scopeChanged) return scope;
      changed = true;
      return { scope: scope.scope, metrics };
    });
    return changed ? { resource: collected.resource, scopeMetrics } : collected;
  }

  private decorateMetric(metric: CollectedMetric): CollectedMetric {
    const kept = this.metrics.get(metric.descriptor.name);
    if (kept === undefined || kept.overflowed) return metric;
    const histogram = kept.bounds !== undefined;
    if (
      histogram
        ? metric.dataPointType !== DataPointType.HISTOGRAM
        : metric.dataPointType !== DataPointType.SUM
    ) {
      return metric;
    }
    // Nothing kept, nothing to add or drop; and looking for the overflow on every point costs
    // about 10 ms at 50,000 histogram series with their counters, in the block of the
    // collection. An overflow seen later still drops what was kept meanwhile (and offer() keeps
    // no more series than the limit).
    if (kept.series.size === 0) return metric;
    const points = metric.dataPoints as ReadonlyArray<Point<unknown>>;
    if (points.some((p) => p.attributes[OVERFLOW_ATTRIBUTE] === true)) {
      this.overflow(metric.descriptor.name, kept, true);
      return metric;
    }
    let changed = false;
    const dataPoints = points.map((point) => {
      const slots = kept.series.get(seriesKey(point.attributes, kept.names));
      // A histogram's slots are its buckets; other buckets than the store's (which the Views
      // rule out) would put an exemplar on the wrong one.
      if (slots === undefined || (histogram && bucketsOf(point) !== slots.length)) return point;
      changed = true;
      return { ...point, exemplars: [...slots] };
    });
    return changed ? ({ ...metric, dataPoints } as CollectedMetric) : metric;
  }
}
