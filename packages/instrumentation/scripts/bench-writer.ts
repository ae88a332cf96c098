/**
 * Micro-benchmark of the exposition writer against the exporter's stock `PrometheusSerializer`
 * on one collection of 2,000 latency-histogram series (400 endpoints x 5 methods, 10
 * observations each, the default buckets) and the request counter over 2 statuses: the stock
 * serializer, the writer's text format 0.0.4, its OpenMetrics 1.0 of the same data, and its
 * OpenMetrics with an exemplar on one bucket of every histogram series and on every counter
 * series, which the package's exemplar store keeps and puts on the SDK's data (its `decorate`,
 * timed with the writing); Prometheus' protobuf format of the same data, without and with the
 * exemplars; and both formats of the same observations recorded as `latencyHistogram: 'both'`
 * records them (a second, exponential, aggregation of the latency, whose native buckets the
 * protobuf format writes beside the classic ones). From
 * packages/instrumentation:
 *
 *   esbuild=$(ls -d ../../node_modules/.pnpm/esbuild@* | head -1)/node_modules/esbuild/bin/esbuild
 *   $esbuild scripts/bench-writer.ts --bundle --platform=node --outfile=/tmp/bench-writer.cjs \
 *     && npx -y pnpm@10 exec node /tmp/bench-writer.cjs
 *
 * (esbuild comes with tsup; pnpm links no binary of it here.)
 */
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  AggregationType,
  DataPointType,
  MeterProvider,
  type Histogram,
  type ResourceMetrics,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { TraceFlags, type SpanContext } from '@opentelemetry/api';
import { CATALOGUE } from '../src/catalogue';
import { ExemplarStore } from '../src/exemplars/store';
import { NATIVE_SUFFIX } from '../src/export/collected';
import { writeProtobuf } from '../src/export/protobuf-writer';
import { writeExposition } from '../src/export/writer';
import { INSTRUMENTS, METER_NAME } from '../src/names';
import { LABELS } from '../src/labels';
import { resolveOptions } from '../src/options/resolve';
import { viewsFor } from '../src/views';

const ENDPOINTS = 400;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const STATUSES = ['200', '500'];
const OBSERVATIONS = 10;
const WARMUP = 20;
const RUNS = 100;
const LATENCY_LABELS = [LABELS.method, LABELS.endpoint];
const COUNT_LABELS = [LABELS.method, LABELS.endpoint, LABELS.httpStatus];
/** Above the 4,000 counter series, so that no series overflows (the store keeps none then). */
const OPTIONS = resolveOptions({ cardinalityLimit: 10_000 });

/** The latency's native half, as `latencyHistogram: 'both'` adds it (views.ts). */
const NATIVE_VIEW: ViewOptions = {
  instrumentName: INSTRUMENTS.requestLatency,
  name: `${CATALOGUE.app.requestLatency.prometheus.name}${NATIVE_SUFFIX}`,
  aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
  aggregationCardinalityLimit: OPTIONS.cardinalityLimit,
};

async function collect(
  views: ViewOptions[] = [],
): Promise<{ resourceMetrics: ResourceMetrics; stop: () => Promise<void> }> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [reader],
    views: [...viewsFor(OPTIONS), ...views],
  });
  const meter = provider.getMeter(METER_NAME);
  const latency = meter.createHistogram(INSTRUMENTS.requestLatency, { unit: 's' });
  const count = meter.createCounter(INSTRUMENTS.requestCount);
  for (let e = 0; e < ENDPOINTS; e++) {
    for (const method of METHODS) {
      const labels = { [LABELS.method]: method, [LABELS.endpoint]: `/api/v1/items${e}/:id` };
      for (let k = 0; k < OBSERVATIONS; k++) {
        latency.record(((k * 37 + e) % 1000) / 400, labels);
        count.add(1, { ...labels, [LABELS.httpStatus]: STATUSES[k % STATUSES.length] as string });
      }
    }
  }
  const { resourceMetrics } = await reader.collect();
  return { resourceMetrics, stop: () => provider.shutdown() };
}

/**
 * An exemplar store as the request recorder fills it: for each series, the exemplar of its first
 * observation's bucket (the latency histogram) and of its count, as requests in sampled spans
 * would leave them. `decorate` then puts them on a collection, as every scrape does.
 */
function exemplarStore(resourceMetrics: ResourceMetrics): ExemplarStore {
  const store = new ExemplarStore(OPTIONS.cardinalityLimit, () => undefined);
  let made = 0;
  const span = (): SpanContext => {
    made++;
    return {
      traceId: `${made.toString(16).padStart(8, '0')}b34da6a3ce929d0e0e4736aabbccdd`.slice(0, 32),
      spanId: made.toString(16).padStart(16, '0'),
      traceFlags: TraceFlags.SAMPLED,
    };
  };
  for (const { metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        for (const point of metric.dataPoints) {
          const { boundaries, counts } = (point.value as Histogram).buckets;
          const slots = store.histogram(metric.descriptor.name, LATENCY_LABELS, boundaries);
          const first = counts.findIndex((c) => c > 0);
          slots.offer(point.attributes, boundaries[first] ?? 20, span());
        }
      } else if (metric.dataPointType === DataPointType.SUM) {
        const slots = store.counter(metric.descriptor.name, COUNT_LABELS);
        for (const point of metric.dataPoints) slots.offer(point.attributes, 1, span());
      }
    }
  }
  return store;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

/** What a variant writes: the text, or the protobuf format's bytes. */
type Written = string | Buffer;

function size(written: Written): number {
  return typeof written === 'string' ? Buffer.byteLength(written) : written.length;
}

/** One run of `write`, in milliseconds; flattening the string is part of the cost. */
function once(write: () => Written): number {
  const start = performance.now();
  // The response writes the text out whole.
  size(write());
  return performance.now() - start;
}

async function main(): Promise<void> {
  const { resourceMetrics, stop } = await collect();
  const both = await collect([NATIVE_VIEW]);
  const serializer = new PrometheusSerializer('', false, undefined, true, true);
  const stock = (): string => serializer.serialize(resourceMetrics);
  const options = { targetInfo: false, scopeInfo: false };
  const ours = (): string => writeExposition(resourceMetrics, options);
  const openMetrics = (): string =>
    writeExposition(resourceMetrics, { ...options, format: 'openmetrics' });
  const store = exemplarStore(resourceMetrics);
  const openMetricsExemplars = (): string =>
    writeExposition(store.decorate(resourceMetrics), { ...options, format: 'openmetrics' });
  const protobuf = (): Buffer => writeProtobuf(resourceMetrics, options);
  const protobufExemplars = (): Buffer => writeProtobuf(store.decorate(resourceMetrics), options);
  const bothText = (): string => writeExposition(both.resourceMetrics, options);
  const bothProtobuf = (): Buffer => writeProtobuf(both.resourceMetrics, options);
  if (ours() !== stock()) throw new Error('the writer and the stock serializer disagree');
  if (!openMetricsExemplars().includes('} 1 # {trace_id="')) throw new Error('no exemplars');
  if (!protobufExemplars().includes('trace_id')) throw new Error('no exemplars in protobuf');
  if (bothText() !== ours()) throw new Error("the text of 'both' is not the classic text");
  if (bothProtobuf().length <= protobuf().length) throw new Error('no native buckets');
  const variants: Record<string, () => Written> = {
    stock,
    'text 0.0.4': ours,
    openmetrics: openMetrics,
    // The store's decorate() included: what a scrape with exemplars costs past the collection.
    'openmetrics + exemplars': openMetricsExemplars,
    protobuf,
    'protobuf + exemplars': protobufExemplars,
    // The text of 'both' is the classic text: what the two aggregations cost it is skipping one.
    'text 0.0.4, both': bothText,
    'protobuf, both': bothProtobuf,
  };
  const entries = Object.entries(variants);
  for (const [, write] of entries) for (let i = 0; i < WARMUP; i++) write();
  // The variants take turns run by run, each first in turn, so that a shared machine's changes
  // of speed touch them alike.
  const times = new Map<string, number[]>(entries.map(([name]) => [name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (let j = 0; j < entries.length; j++) {
      const [name, write] = entries[(i + j) % entries.length] as [string, () => Written];
      times.get(name)?.push(once(write));
    }
  }
  const text = median(times.get('text 0.0.4') as number[]);
  for (const [name, write] of entries) {
    const ms = median(times.get(name) as number[]);
    const ratio = name === 'stock' ? '' : `  x${(ms / text).toFixed(2)} of text 0.0.4`;
    const bytes = size(write());
    console.log(
      `${name.padEnd(24)} median ${ms.toFixed(2).padStart(7)} ms  ${bytes} bytes${ratio}`,
    );
  }
  console.log(`speed-up over stock x${(median(times.get('stock') as number[]) / text).toFixed(1)}`);
  await stop();
  await both.stop();
}

void main();
