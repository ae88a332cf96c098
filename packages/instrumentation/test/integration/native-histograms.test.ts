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
import { listen } from '../helpers/apps';
import { get } from '../helpers/request';

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
