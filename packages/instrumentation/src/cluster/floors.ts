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
  private readonly floors = new Map<string, number>();
  private readonly histograms = new Map<string, MutableExponential>();

  apply(merged: Merged): void {
    for (const { scope, metrics } of merged.scopeMetrics) {
      const scopeId = scopeKey(scope);
      for (const metric of metrics) {
        if (mergeRuleOf(metric) !== 'total') continue;
        const prefix = `${scopeId}\u0000${metric.descriptor.name}\u0000`;
        if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
          for (const point of metric.dataPoints) {
            const id = prefix + point.key;
            const floor = this.histograms.get(id);
            if (floor !== undefined) point.value = raiseExponential(floor, point.value);
            // A copy: the floor must not change with whatever reads the served value.
            this.histograms.set(id, copyExponential(point.value));
          }
        } else if (metric.dataPointType === DataPointType.HISTOGRAM) {
          for (const point of metric.dataPoints) {
            if (point.value.sum !== undefined) {
              point.value.sum = this.raise(prefix + point.key, point.value.sum);
            }
          }
        } else {
          for (const point of metric.dataPoints) {
            point.value = this.raise(prefix + point.key, point.value);
          }
        }
      }
    }
  }

  /** `value`, or the floor of `id` when that is higher; the floor rises with `value`. */
  private raise(id: string, value: number): number {
    const floor = this.floors.get(id);
    if (floor !== undefined && value < floor) return floor;
    this.floors.set(id, value);
    return value;
  }
}
