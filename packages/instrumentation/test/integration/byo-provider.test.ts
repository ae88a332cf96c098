import { connect } from 'node:net';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type HistogramMetricData,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import express from 'express5';
import type { Express } from 'express';
import {
  createViews,
  DEFAULT_LATENCY_BUCKETS,
  registerMetrics,
  type RegisterMetricsOptions,
} from '../../src/index';
import { freePort, listen } from '../helpers/apps';
import { findMetric, METRICS_PATH, startOtlpReceiver, type Metric } from '../servers/otlp-receiver';
import { spawnReadmeSdkApp } from '../helpers/readme-sdk';
import { get } from '../helpers/request';
import { sleep, until } from '../helpers/wait';

/** A reader that only collects when asked: what a test needs to see the provider's state. */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function usersApp(): Express {
  const app = express();
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  return app;
}

async function collect(reader: MetricReader): Promise<MetricData[]> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return (resourceMetrics as ResourceMetrics).scopeMetrics.flatMap((s) => s.metrics);
}

function metricOf(metrics: MetricData[], name: string): MetricData {
  const found = metrics.find((m) => m.descriptor.name === name);
  if (found === undefined) {
    throw new Error(`no ${name} in ${metrics.map((m) => m.descriptor.name).join(', ')}`);
  }
  return found;
}

const pointsOf = (metric: MetricData): Array<[unknown, unknown]> =>
  (metric.dataPoints as Array<{ attributes: unknown; value: unknown }>).map((p) => [
    p.attributes,
    p.value,
  ]);

describe('a MeterProvider of your own', () => {
  it('is recorded into with the Views of the same options, and left running by shutdown()', async () => {
    const options: RegisterMetricsOptions = {
      appVersion: 'v2',
      latencyBuckets: [0.1, 1],
      collectors: { process: false, runtime: false, gc: false, eventLoop: false },
    };
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader], views: createViews(options) });
    const app = usersApp();
    const metrics = registerMetrics(app, { ...options, meterProvider: provider });
    const running = await listen(app);
    try {
      expect(metrics.meterProvider).toBe(provider);
      await metrics.ready;
      expect(metrics.url).toBeUndefined();
      await expect(metrics.scrape()).rejects.toThrow(
        'scrape() has no Prometheus exposition to read: the metrics go to a MeterProvider of yours (option meterProvider)',
      );

      await get(running.url, '/users/1');
      await get(running.url, '/users/2');
      const counted = (m: MetricData[]): unknown => pointsOf(metricOf(m, 'app_request_count'));
      const data = await until(
        () => collect(reader),
        (m) => m.find((x) => x.descriptor.name === 'app_request_count')?.dataPoints[0]?.value === 2,
      );
      expect(counted(data)).toEqual([
        [{ method: 'GET', endpoint: '/users/:id', http_status: '200' }, 2],
      ]);
      const latency = metricOf(data, 'app_request_latency_seconds') as HistogramMetricData;
      expect(latency.dataPointType).toBe(DataPointType.HISTOGRAM);
      expect(latency.dataPoints.map((p) => [p.value.buckets.boundaries, p.value.count])).toEqual([
        [[0.1, 1], 2],
      ]);
      expect(pointsOf(metricOf(data, 'app_version_info'))).toEqual([
        [{ version: 'v2', config: 'unknown' }, 1],
      ]);

      await metrics.shutdown();
      await get(running.url, '/users/3');
      await sleep(50);
      // No longer measured, and the provider still works for its owner.
      provider.getMeter('after').createCounter('still_recording').add(1);
      const after = await collect(reader);
      expect(counted(after)).toEqual([
        [{ method: 'GET', endpoint: '/users/:id', http_status: '200' }, 2],
      ]);
      expect(pointsOf(metricOf(after, 'still_recording'))).toEqual([[{}, 1]]);
    } finally {
      await running.close();
      await metrics.shutdown();
      await provider.shutdown();
    }
  });

  it('without the Views, shows the instruments under their own names and default buckets', async () => {
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    const app = usersApp();
    const metrics = registerMetrics(app, { meterProvider: provider });
    const running = await listen(app);
    try {
      await get(running.url, '/users/1');
      const data = await until(
        () => collect(reader),
        (m) => m.some((x) => x.descriptor.name === 'app_request_latency'),
      );
      const names = data.map((m) => m.descriptor.name);
      expect(names).toContain('app_request_latency');
      expect(names).not.toContain('app_request_latency_seconds');
      const latency = metricOf(data, 'app_request_latency') as HistogramMetricData;
      expect(latency.dataPoints[0]?.value.buckets.boundaries).not.toEqual(DEFAULT_LATENCY_BUCKETS);
    } finally {
      await running.close();
      await metrics.shutdown();
      await provider.shutdown();
    }
  });

  it('createViews validates its options as registerMetrics does', () => {
    expect(() => createViews({ latencyBuckets: [1, 0.5] })).toThrow(TypeError);
    expect(() => createViews({ latencyBuckets: [1, 0.5] })).toThrow('option `latencyBuckets`');
    expect(() => createViews({ nope: 1 } as RegisterMetricsOptions)).toThrow('"nope"');
    const latency = createViews({ latencyBuckets: [0.2, 2] }).find(
      (v) => v.instrumentName === 'app_request_latency',
    );
    expect(latency?.aggregation).toMatchObject({ options: { boundaries: [0.2, 2] } });
  });
});

/** Whether something accepts connections on the port (a bare connection reaches no route). */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe("the README's NodeSDK setup", () => {
  it('runs as written: NodeSDK exports the package series over OTLP, and nothing else does', async () => {
    const receiver = await startOtlpReceiver();
    const port = await freePort();
    const { child, exited } = spawnReadmeSdkApp({
      PORT: String(port),
      OTEL_SERVICE_NAME: 'readme-app',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'env',
    });
    try {
      expect(
        await until(
          () => accepting(port),
          (up) => up,
          15_000,
        ),
      ).toBe(true);
      const base = `http://127.0.0.1:${port}`;
      expect((await get(base, '/users/1')).body).toBe('{"id":"1"}');
      await get(base, '/users/2');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // One export: the SDK's last, at its shutdown; the package started no exporter of its own.
      expect(receiver.payloads).toHaveLength(1);
      const [payload] = receiver.payloads;
      expect(payload?.resourceMetrics[0]?.resource['service.name']).toBe('readme-app');
      const count = receiver.metric('app_request_count') as Metric;
      expect(count).toMatchObject({ kind: 'sum', monotonic: true });
      expect(count.points.map((p) => [p.attributes, p.value])).toEqual([
        [{ method: 'GET', endpoint: '/users/:id', http_status: '200' }, 2],
      ]);
      const latency = findMetric(payload ?? { resourceMetrics: [] }, 'app_request_latency_seconds');
      expect(latency?.points.map((p) => [p.count, p.explicitBounds])).toEqual([
        [2, DEFAULT_LATENCY_BUCKETS],
      ]);
      expect(receiver.metric('app_version_info')?.points.map((p) => p.attributes)).toEqual([
        { version: 'v0.1.2', config: 'staging' },
      ]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  });
});
