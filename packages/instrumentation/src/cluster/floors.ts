import { DataPointType } from '@opentelemetry/sdk-metrics';
import { copyExponential, raiseExponential, type MutableExponential } from './exponential.js';
import { mergeRuleOf, scopeKey, type Merged } from './merge.js';

/**
 * The highest value served so far of every total. Floating-point totals (CPU seconds, the sums of
 * histograms) come out a last digit lower when the same numbers are added in another order, as
 * they are once a worker's totals move to the retired ones; Prometheus would read that as a
 * counter reset. So a total is never served below what was served before.
 *
 * An exponential histogram is held whole, bucket by bucket, and at the lowest scale it was served
 * at: its merge is at the lowest scale of its parts, which would rise again if the part that
 * lowered it were left out, and Prometheus reads a finer schema after a coarser one as a reset too.
 */
export class Floors {
  /**
   * By metric, then by series key. The keys are the merge's own strings, the same objects from
   * one scrape to the next while a round is served, so a lookup hashes nothing anew; a key made
   * of both, built at each scrape, cost more than the merge it guards.
   */
  private readonly floors = new Map<string, Map<string, number>>();
  private readonly histograms = new Map<string, Map<string, MutableExponential>>();

  apply(merged: Merged): void {
    for (const { scope, metrics } of merged.scopeMetrics) {
      const scopeId = scopeKey(scope);
      for (const metric of metrics) {
        if (mergeRuleOf(metric) !== 'total') continue;
        const id = `${scopeId}\u0000${metric.descriptor.name}`;
        if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
          const floors = tableOf(this.histograms, id);
          for (const point of metric.dataPoints) {
            const floor = floors.get(point.key);
            if (floor !== undefined) point.value = raiseExponential(floor, point.value);
            // A copy: the floor must not change with whatever reads the served value.
            floors.set(point.key, copyExponential(point.value));
          }
        } else if (metric.dataPointType === DataPointType.HISTOGRAM) {
          const floors = tableOf(this.floors, id);
          for (const point of metric.dataPoints) {
            if (point.value.sum !== undefined) {
              point.value.sum = raise(floors, point.key, point.value.sum);
            }
          }
        } else {
          const floors = tableOf(this.floors, id);
          for (const point of metric.dataPoints) {
            point.value = raise(floors, point.key, point.value);
          }
        }
      }
    }
  }
}

function tableOf<V>(tables: Map<string, Map<string, V>>, id: string): Map<string, V> {
  let table = tables.get(id);
  if (table === undefined) {
    table = new Map();
    tables.set(id, table);
  }
  return table;
}

/** `value`, or the floor of `key` when that is higher; the floor rises with `value`. */
function raise(floors: Map<string, number>, key: string, value: number): number {
  const floor = floors.get(key);
  if (floor !== undefined && value < floor) return floor;
  if (floor !== value) floors.set(key, value);
  return value;
}
