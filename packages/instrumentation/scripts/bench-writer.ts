/**
 * Micro-benchmark of the exposition writer against the exporter's stock `PrometheusSerializer`
 * on one collection of 2,000 latency-histogram series (400 endpoints x 5 methods, 10
 * observations each, the default buckets) and the request counter over 2 statuses. From
 * packages/instrumentation:
 *
 *   node_modules/.bin/esbuild scripts/bench-writer.ts --bundle --platform=node \
 *     --outfile=/tmp/bench-writer.cjs && npx -y pnpm@10 exec node /tmp/bench-writer.cjs
 */
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
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
const RUNS = 50;

async function collect(): Promise<{ resourceMetrics: ResourceMetrics; stop: () => Promise<void> }> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [reader], views: viewsFor(resolveOptions({})) });
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

function time(write: () => string): { ms: number; bytes: number } {
  let text = '';
  for (let i = 0; i < WARMUP; i++) text = write();
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    text = write();
    // Flattening the string is part of the cost: the response writes it out whole.
    Buffer.byteLength(text);
    runs.push(performance.now() - start);
  }
  return { ms: median(runs), bytes: Buffer.byteLength(text) };
}

async function main(): Promise<void> {
  const { resourceMetrics, stop } = await collect();
  const serializer = new PrometheusSerializer('', false, undefined, true, true);
  const stock = (): string => serializer.serialize(resourceMetrics);
  const ours = (): string =>
    writeExposition(resourceMetrics, { targetInfo: false, scopeInfo: false });
  if (ours() !== stock()) throw new Error('the writer and the stock serializer disagree');
  const results = { stock: time(stock), ours: time(ours) };
  for (const [name, { ms, bytes }] of Object.entries(results)) {
    console.log(`${name.padEnd(6)} median ${ms.toFixed(2)} ms  ${bytes} bytes`);
  }
  console.log(`speed-up x${(results.stock.ms / results.ours.ms).toFixed(1)}`);
  await stop();
}

void main();
