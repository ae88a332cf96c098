import type { Attributes } from '@opentelemetry/api';
import {
  DataPointType,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

/**
 * A reader the test collects from when it likes (give it to `exporters`), to see the metrics as
 * OpenTelemetry recorded them: instrument names, attribute keys and types, exact values.
 */
export class InMemoryReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Every metric, by name; throws if the SDK reported an error or two scopes share a name. */
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length > 0) throw new Error(`the collection reported errors: ${String(errors)}`);
    const byName = new Map<string, MetricData>();
    for (const { metrics } of resourceMetrics.scopeMetrics) {
      for (const metric of metrics) {
        if (byName.has(metric.descriptor.name)) {
          throw new Error(`two metrics are named ${metric.descriptor.name}`);
        }
        byName.set(metric.descriptor.name, metric);
      }
    }
    return byName;
  }
}

/** The metric of that name; throws when there is none. */
export function metricOf(metrics: Map<string, MetricData>, name: string): MetricData {
  const metric = metrics.get(name);
  if (metric === undefined) {
    throw new Error(`no metric ${name}; there are ${[...metrics.keys()].join(', ')}`);
  }
  return metric;
}

/** The value of each point of a sum or gauge, with its attributes. */
export function values(metric: MetricData): Array<{ attributes: Attributes; value: number }> {
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    throw new Error(`${metric.descriptor.name} is a histogram`);
  }
  return (metric.dataPoints as Array<DataPoint<number>>).map(({ attributes, value }) => ({
    attributes,
    value,
  }));
}

/** The value of the one point whose attributes are exactly `attributes`. */
export function valueAt(metric: MetricData, attributes: Attributes = {}): number {
  const found = values(metric).filter((p) => sameAttributes(p.attributes, attributes));
  if (found.length !== 1) {
    throw new Error(
      `expected one point of ${metric.descriptor.name} at ${JSON.stringify(attributes)}, found ${found.length}`,
    );
  }
  return found[0]!.value;
}

/** The points of a histogram, with their attributes. */
export function histogramPoints(
  metric: MetricData,
): Array<{ attributes: Attributes; value: Histogram }> {
  if (metric.dataPointType !== DataPointType.HISTOGRAM) {
    throw new Error(`${metric.descriptor.name} is not a histogram`);
  }
  return metric.dataPoints.map(({ attributes, value }) => ({ attributes, value }));
}

export function sameAttributes(a: Attributes, b: Attributes): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * The kind of a metric as an exporter sees it (OTLP's point types; a sum that can go down is what
 * an UpDownCounter becomes).
 */
export function kindOf(metric: MetricData): 'counter' | 'updowncounter' | 'gauge' | 'histogram' {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'updowncounter';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      throw new Error(`${metric.descriptor.name} is an exponential histogram`);
  }
}

/** The distinct attribute keys across the points of a metric, sorted. */
export function attributeKeys(metric: MetricData): string[] {
  const keys = new Set<string>();
  for (const point of metric.dataPoints)
    for (const key of Object.keys(point.attributes)) keys.add(key);
  return [...keys].sort();
}
