/*
 * Option latencyHistogram: what the SDK aggregates the request latency into, through the package's
 * own provider, for each form and naming, and the exact equivalence of the native buckets with
 * the latencies recorded.
 */
import { DataPointType } from '@opentelemetry/sdk-metrics';
import express from 'express5';
import type { CollectedMetric, ExponentialHistogramValue } from '../../src/export/collected';
import { registerMetrics, type MetricsHandle, type RegisterMetricsOptions } from '../../src/index';
import { collectedOf } from '../../src/register';
import { gunzipSync } from 'node:zlib';
import { listen } from '../helpers/apps';
import { samplesOf } from '../helpers/exposition';
import { decodeFamilies } from '../helpers/prometheus-protobuf';
import { get, sendRaw } from '../helpers/request';

const QUIET = { process: false, runtime: false, gc: false, eventLoop: false };

let handle: MetricsHandle | undefined;
afterEach(async () => {
  await handle?.shutdown();
  handle = undefined;
});

/** The app's request metrics after `paths` were requested, by name. */
async function recorded(
  options: RegisterMetricsOptions,
  paths: string[],
): Promise<Map<string, CollectedMetric>> {
  const app = express();
  app.get('/users/:id', (_req, res) => {
    res.send('ok');
  });
  handle = registerMetrics(app, { ...options, endpoint: { mode: 'none' }, collectors: QUIET });
  const running = await listen(app);
  try {
    for (const path of paths) expect((await get(running.url, path)).status).toBe(200);
  } finally {
    await running.close();
  }
  const collected = await collectedOf(handle);
  return new Map(
    collected.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]),
  );
}

function nativePoint(metric: CollectedMetric | undefined): ExponentialHistogramValue {
  expect(metric?.dataPointType).toBe(DataPointType.EXPONENTIAL_HISTOGRAM);
  const points = (metric?.dataPoints ?? []) as ReadonlyArray<{
    attributes: Record<string, unknown>;
    value: ExponentialHistogramValue;
  }>;
  expect(points).toHaveLength(1);
  return (points[0] as { value: ExponentialHistogramValue }).value;
}

describe('latencyHistogram', () => {
  const paths = ['/users/1', '/users/2', '/users/3'];

  it("'classic' (the default) keeps the seed's buckets and nothing else", async () => {
    const metrics = await recorded({}, paths);
    expect(metrics.get('app_request_latency_seconds')?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(metrics.has('app_request_latency_seconds_native')).toBe(false);
  });

  it("'native' aggregates the latency into an exponential histogram under its own name", async () => {
    const metrics = await recorded({ latencyHistogram: 'native' }, paths);
    const value = nativePoint(metrics.get('app_request_latency_seconds'));
    expect(value.count).toBe(3);
    const positive = value.positive.bucketCounts.reduce((a, b) => a + b, 0);
    expect(positive + value.zeroCount).toBe(3);
    // The Prometheus naming records no min and max, as for the classic buckets.
    expect(value.min).toBeUndefined();
    expect(metrics.has('app_request_latency_seconds_native')).toBe(false);
    // The count keeps its own series.
    expect(metrics.get('app_request_count')?.dataPointType).toBe(DataPointType.SUM);
  });

  it("'both' keeps the classic buckets and the native ones, same series, same counts", async () => {
    const metrics = await recorded({ latencyHistogram: 'both', nativeHistogramMaxSize: 20 }, paths);
    const classic = metrics.get('app_request_latency_seconds');
    expect(classic?.dataPointType).toBe(DataPointType.HISTOGRAM);
    const native = metrics.get('app_request_latency_seconds_native');
    expect(nativePoint(native).count).toBe(3);
    const classicPoint = classic?.dataPoints[0] as { attributes: Record<string, unknown> };
    const nativeAttributes = (native?.dataPoints[0] as { attributes: Record<string, unknown> })
      .attributes;
    expect(nativeAttributes).toEqual(classicPoint.attributes);
    expect(nativeAttributes).toEqual({ method: 'GET', endpoint: '/users/:id' });
    expect(nativePoint(native).positive.bucketCounts.length).toBeLessThanOrEqual(20);
  });

  it("'native' in the semconv naming: http.server.request.duration, with min and max", async () => {
    const metrics = await recorded({ naming: 'semconv', latencyHistogram: 'native' }, paths);
    const value = nativePoint(metrics.get('http.server.request.duration'));
    expect(value.count).toBe(3);
    expect(value.min).toBeGreaterThan(0);
    expect(value.max).toBeGreaterThanOrEqual(value.min as number);
  });
});

/** What Prometheus 2.42 asks for with native histograms on. */
const PROTOBUF_FIRST =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('the endpoint with latencyHistogram: native', () => {
  it('answers a protobuf scrape (gzipped when asked) with the native histogram, a text one with count and sum', async () => {
    const app = express();
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    handle = registerMetrics(app, {
      latencyHistogram: 'native',
      endpoint: { port: 0 },
      collectors: QUIET,
    });
    await handle.ready;
    const running = await listen(app);
    try {
      for (const id of [1, 2, 3, 4]) await get(running.url, `/users/${id}`);
    } finally {
      await running.close();
    }
    const { origin, pathname } = new URL(handle.url as string);
    const reply = await sendRaw(origin, 'GET', pathname, {
      Accept: PROTOBUF_FIRST,
      'Accept-Encoding': 'gzip',
    });
    expect(reply.headers['content-type']).toBe(
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
    );
    expect(reply.headers['content-encoding']).toBe('gzip');
    const families = decodeFamilies(gunzipSync(reply.body));
    const latency = families.find((f) => f.name === 'app_request_latency_seconds');
    expect(latency?.type).toBe('HISTOGRAM');
    expect(latency?.unit).toBe('seconds');
    const [metric] = latency?.metric ?? [];
    expect(metric?.label).toEqual([
      { name: 'method', value: 'GET' },
      { name: 'endpoint', value: '/users/:id' },
    ]);
    const histogram = metric?.histogram;
    expect(histogram?.sampleCount).toBe(4);
    // Native only: no classic bucket, a schema Prometheus accepts, the buckets adding up.
    expect(histogram?.bucket ?? []).toEqual([]);
    expect(histogram?.schema).toBeGreaterThanOrEqual(-4);
    expect(histogram?.schema).toBeLessThanOrEqual(8);
    let bucket = 0;
    let total = histogram?.zeroCount ?? 0;
    for (const delta of histogram?.positiveDelta ?? []) {
      bucket += delta;
      total += bucket;
    }
    expect(total).toBe(4);
    // The counter in the same answer counts the same requests.
    const count = families.find((f) => f.name === 'app_request_count_total');
    expect(count?.metric?.[0]?.counter?.value).toBe(4);

    // A text scrape: count, sum and the +Inf bucket of the same histogram.
    const text = (await sendRaw(origin, 'GET', pathname, {})).body.toString('utf8');
    expect(samplesOf(text, 'app_request_latency_seconds_count').map((s) => s.value)).toEqual([4]);
    expect(
      samplesOf(text, 'app_request_latency_seconds_bucket').map((s) => [s.labels.le, s.value]),
    ).toEqual([['+Inf', 4]]);
    expect(samplesOf(text, 'app_request_latency_seconds_sum')[0]?.value).toBeCloseTo(
      histogram?.sampleSum as number,
      12,
    );
  });
});
