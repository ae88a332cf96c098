import { diag, DiagLogLevel } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { registerMetrics, type MetricsHandle } from '../../src/index';
import { resolveExport } from '../../src/options/exporters';
import { resolveOptions } from '../../src/options/resolve';
import { createReporter } from '../../src/report';
import { freePort, listen, type Running } from '../helpers/apps';
import { handleOf, usersApp, withEnv } from '../helpers/exporters';
import { samplesOf, valueOf } from '../helpers/exposition';
import { get, send } from '../helpers/request';
import { until } from '../helpers/wait';

/** Each point of a metric as its attributes plus its value, for exact comparison. */
function sumPoints(data: ResourceMetrics, name: string): Array<Record<string, unknown>> {
  const metric = data.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m: MetricData) => m.descriptor.name === name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (metric.dataPoints as Array<{ attributes: object; value: unknown }>).map((p) => ({
    ...p.attributes,
    value: p.value,
  }));
}

const byEndpoint = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  `${String(a.method)} ${String(a.endpoint)}`.localeCompare(
    `${String(b.method)} ${String(b.endpoint)}`,
  );

describe('without the Prometheus exporter', () => {
  let metrics: MetricsHandle | undefined;
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    await metrics?.shutdown();
    running = undefined;
    metrics = undefined;
  });

  it('starts no endpoint; the handler answers 404 with the reason and scrape() rejects', async () => {
    const port = await freePort();
    await withEnv({ OTEL_METRICS_EXPORTER: 'none' }, async () => {
      const app = usersApp();
      metrics = registerMetrics(app, { endpoint: { host: '127.0.0.1', port } });
      app.get('/exposition', metrics.handler);
      running = await listen(app);
    });
    const handle = metrics as MetricsHandle;
    await handle.ready;
    expect(handle.url).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();

    const reason = "the exporters are none (OTEL_METRICS_EXPORTER), without 'prometheus'";
    const base = (running as Running).url;
    expect((await get(base, '/users/7')).body).toBe('{"id":"7"}');
    const reply = await get(base, '/exposition');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(reply.body).toBe(`no Prometheus exposition here: ${reason}\n`);
    const head = await send(base, 'HEAD', '/exposition');
    expect([head.status, head.body]).toEqual([404, '']);
    await expect(handle.scrape()).rejects.toThrow(
      `express-otel-metrics: scrape() has no Prometheus exposition to read: ${reason}`,
    );
  });

  it("leaves the metrics path of the app to the app's own routes", async () => {
    await withEnv({ OTEL_METRICS_EXPORTER: 'none' }, async () => {
      const app = usersApp();
      metrics = registerMetrics(app, { endpoint: { mode: 'app' } });
      app.get('/metrics', (_req, res) => {
        res.send('the app own /metrics');
      });
      running = await listen(app);
    });
    const reply = await get((running as Running).url, '/metrics');
    expect([reply.status, reply.body]).toEqual([200, 'the app own /metrics']);
  });
});

describe('a reader of your own', () => {
  it('gets the same counts as the exposition, and is shut down with the registration', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const app = usersApp();
    const metrics = registerMetrics(app, {
      exporters: ['prometheus', reader],
      endpoint: { mode: 'none' },
    });
    const running = await listen(app);
    try {
      await get(running.url, '/users/1');
      await get(running.url, '/users/2');
      await send(running.url, 'POST', '/users');
      const text = await until(
        () => metrics.scrape(),
        (t) => samplesOf(t, 'app_request_count_total').reduce((n, s) => n + s.value, 0) === 3,
      );
      await metrics.forceFlush();
      const exported = exporter.getMetrics().at(-1) as ResourceMetrics;
      const counts = sumPoints(exported, 'app_request_count').sort(byEndpoint);
      expect(counts).toEqual([
        { method: 'GET', endpoint: '/users/:id', http_status: '200', value: 2 },
        { method: 'POST', endpoint: '/users', http_status: '201', value: 1 },
      ]);
      for (const { value, ...labels } of counts) {
        expect(valueOf(text, 'app_request_count_total', labels as Record<string, string>)).toBe(
          value,
        );
      }
    } finally {
      await running.close();
      await metrics.shutdown();
    }
    await expect(reader.collect()).rejects.toThrow('MetricReader is shutdown');
  });
});

describe("the 'console' exporter", () => {
  it('prints the series at each export', async () => {
    const printed: unknown[] = [];
    const dir = jest.spyOn(console, 'dir').mockImplementation((item: unknown) => {
      printed.push(item);
    });
    const app = usersApp();
    let metrics: MetricsHandle | undefined;
    try {
      await withEnv({ OTEL_METRICS_EXPORTER: 'console' }, async () => {
        metrics = registerMetrics(app);
      });
      const running = await listen(app);
      await get(running.url, '/users/3');
      await running.close();
      const count = await until(
        async () => {
          await metrics?.forceFlush();
          return printed.findLast(
            (p) => (p as MetricData).descriptor?.name === 'app_request_count',
          ) as MetricData | undefined;
        },
        (found) => found !== undefined && found.dataPoints.length > 0,
      );
      expect(count?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
        [{ method: 'GET', endpoint: '/users/:id', http_status: '200' }, 1],
      ]);
    } finally {
      await metrics?.shutdown();
      dir.mockRestore();
    }
  });
});

describe('OTEL_SDK_DISABLED', () => {
  it('installs nothing, starts nothing and records nothing; the handle stays harmless', async () => {
    const port = await freePort();
    const app = usersApp();
    const handle = handleOf(app);
    let metrics: MetricsHandle | undefined;
    await withEnv({ OTEL_SDK_DISABLED: 'TRUE', OTEL_METRICS_EXPORTER: 'not-read' }, async () => {
      // Options are still checked: a mistake in the code is one whether or not it runs.
      expect(() => registerMetrics(app, { exporters: 'otpl' as 'otlp' })).toThrow(TypeError);
      metrics = registerMetrics(app, { endpoint: { host: '127.0.0.1', port } });
    });
    const m = metrics as MetricsHandle;
    expect(handleOf(app)).toBe(handle);
    await m.ready;
    expect(m.url).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    expect(await m.scrape()).toBe('');
    await m.forceFlush();
    // Instruments made on the provider work and go nowhere.
    m.meterProvider.getMeter('app').createCounter('orders').add(1);

    app.get('/exposition', m.handler);
    const running = await listen(app);
    try {
      expect((await get(running.url, '/users/1')).status).toBe(200);
      const reply = await get(running.url, '/exposition');
      expect([reply.status, reply.body]).toEqual([
        404,
        'no Prometheus exposition here: OTEL_SDK_DISABLED is true, so nothing is recorded\n',
      ]);
    } finally {
      await running.close();
    }
    const first = m.shutdown();
    expect(m.shutdown()).toBe(first);
    await first;
  });

  it('is read as the specification reads booleans', () => {
    const warnings: string[] = [];
    diag.setLogger(
      {
        error: () => undefined,
        warn: (message: string) => warnings.push(message),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      DiagLogLevel.WARN,
    );
    try {
      const kind = (value: string): string =>
        resolveExport(resolveOptions({}), { OTEL_SDK_DISABLED: value }, createReporter()).kind;
      expect(kind('true')).toBe('disabled');
      expect(kind(' True ')).toBe('disabled');
      expect(kind('false')).toBe('own');
      expect(kind('')).toBe('own');
      expect(warnings).toEqual([]);
      expect(kind('yes')).toBe('own');
      expect(warnings).toEqual([
        'express-otel-metrics: OTEL_SDK_DISABLED is "yes"; only "true" and "false" are understood, so it counts as false',
      ]);
    } finally {
      diag.disable();
    }
  });
});

describe('the resource', () => {
  it('comes from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, with one instance id per process', async () => {
    const env = {
      OTEL_SERVICE_NAME: 'checkout',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging,service.name=overridden',
    };
    const handles: MetricsHandle[] = [];
    try {
      await withEnv(env, async () => {
        handles.push(registerMetrics(usersApp(), { endpoint: { mode: 'none' } }));
        handles.push(registerMetrics(usersApp(), { endpoint: { mode: 'none' }, targetInfo: true }));
      });
      const [plain, withInfo] = (await Promise.all(handles.map((h) => h.scrape()))) as [
        string,
        string,
      ];
      // Only target_info shows the resource on the Prometheus side.
      expect(plain).not.toContain('checkout');
      expect(plain).not.toContain('service_instance_id');
      const [info] = samplesOf(withInfo, 'target_info');
      expect(info?.labels).toMatchObject({
        service_name: 'checkout',
        deployment_environment_name: 'staging',
        telemetry_sdk_language: 'nodejs',
      });
      const id = info?.labels.service_instance_id ?? '';
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      // A second registration in the process is the same instance; the variable can name it.
      await withEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=pod-7' }, async () => {
        handles.push(registerMetrics(usersApp(), { endpoint: { mode: 'none' }, targetInfo: true }));
      });
      handles.push(registerMetrics(usersApp(), { endpoint: { mode: 'none' }, targetInfo: true }));
      const [named, again] = await Promise.all(handles.slice(2).map((h) => h.scrape()));
      expect(valueOf(named ?? '', 'target_info', { service_instance_id: 'pod-7' })).toBe(1);
      expect(valueOf(again ?? '', 'target_info', { service_instance_id: id })).toBe(1);
    } finally {
      await Promise.all(handles.map((h) => h.shutdown()));
    }
  });
});
