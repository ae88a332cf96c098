import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express5';
import type { Express } from 'express';
import { DEFAULT_METRICS_HOST, registerMetrics, type MetricsHandle } from '../../src/index';
import { listen, type Running } from '../helpers/apps';
import { labelValues, samplesOf, valueOf } from '../helpers/exposition';
import { RawConnection } from '../helpers/raw-http';
import { get, send } from '../helpers/request';
import { until } from '../helpers/wait';

const newApp = express;

function appWithRoute(): Express {
  const app = newApp();
  app.get('/', (_req, res) => {
    res.send('Test');
  });
  return app;
}

async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

describe('the metrics endpoint on its own port', () => {
  let metrics: MetricsHandle | undefined;
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    await metrics?.shutdown();
    running = metrics = undefined;
  });

  it('serves the exposition at the path, with the text format content type', async () => {
    const app = appWithRoute();
    metrics = registerMetrics(app, { endpoint: { host: '127.0.0.1', port: 0 } });
    await metrics.ready;
    expect(metrics.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    running = await listen(app);
    await get(running.url, '/');

    const url = new URL(metrics.url as string);
    const base = `${url.protocol}//${url.host}`;
    const reply = await until(
      () => get(base, '/metrics'),
      (r) => samplesOf(r.body, 'app_request_count_total').length === 1,
    );
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(
      valueOf(reply.body, 'app_request_count_total', { endpoint: '/', http_status: '200' }),
    ).toBe(1);
    expect((await get(base, '/other')).status).toBe(404);
    expect((await send(base, 'POST', '/metrics')).status).toBe(405);
    const head = await send(base, 'HEAD', '/metrics');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    // Scrapes of the separate port are not requests to the app.
    expect(labelValues(await metrics.scrape(), 'app_request_count_total', 'endpoint')).toEqual([
      '/',
    ]);
  });

  it('takes port and host from OTEL_EXPORTER_PROMETHEUS_PORT / _HOST when the options do not', async () => {
    const { port, server } = await occupiedPort();
    await new Promise<void>((r) => server.close(() => r()));
    process.env.OTEL_EXPORTER_PROMETHEUS_PORT = String(port);
    process.env.OTEL_EXPORTER_PROMETHEUS_HOST = '127.0.0.1';
    try {
      metrics = registerMetrics(appWithRoute());
      await metrics.ready;
      expect(metrics.url).toBe(`http://127.0.0.1:${port}/metrics`);
    } finally {
      delete process.env.OTEL_EXPORTER_PROMETHEUS_PORT;
      delete process.env.OTEL_EXPORTER_PROMETHEUS_HOST;
    }
  });

  it('listens on loopback only unless told otherwise', async () => {
    expect(DEFAULT_METRICS_HOST).toBe('127.0.0.1');
    metrics = registerMetrics(appWithRoute(), { endpoint: { port: 0 } });
    await metrics.ready;
    expect(metrics.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  });

  it('routes a request target in absolute form by its path, as the app does', async () => {
    const app = appWithRoute();
    metrics = registerMetrics(app, { endpoint: { host: '127.0.0.1', port: 0 } });
    await metrics.ready;
    running = await listen(app);
    const ask = async (port: number, target: string): Promise<number> => {
      const conn = await RawConnection.open(port);
      conn.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const [response] = await conn.read(['GET']);
      await conn.destroy();
      return response?.status ?? 0;
    };
    const metricsPort = Number(new URL(metrics.url as string).port);
    expect(await ask(metricsPort, 'http://x/metrics')).toBe(200);
    expect(await ask(metricsPort, 'HTTP://x:9464/metrics?debug=1')).toBe(200);
    expect(await ask(metricsPort, 'http://x/other')).toBe(404);
    // No path after the authority is the root, and a path inside the query is not a path.
    expect(await ask(metricsPort, 'http://x?to=/metrics')).toBe(404);
    // The app routes the same form the same way.
    expect(await ask(Number(new URL(running.url).port), 'http://x/')).toBe(200);
  });

  it('rejects `ready` naming the port when it is taken, and the app keeps serving', async () => {
    const { port, server } = await occupiedPort();
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const app = appWithRoute();
      metrics = registerMetrics(app, { endpoint: { host: '127.0.0.1', port } });
      await expect(metrics.ready).rejects.toThrow(
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\).*endpoint\\.port`),
      );
      // The variable moves OpenTelemetry's own exporter too, which may be the one on the port:
      // the hint moves this endpoint alone, or shares the SDK's.
      const message = await metrics.ready.catch((err: Error) => err.message);
      expect(message).toContain(
        `; set the endpoint.port option to a free port, which moves this package's endpoint only (OTEL_EXPORTER_PROMETHEUS_PORT also moves the Prometheus exporter of an OpenTelemetry SDK in this process); or, with registerMetrics, serve the metrics on the app itself (endpoint.mode 'app') or through the OpenTelemetry SDK's exporter (option meterProvider, with createViews(options) in the SDK's views)`,
      );
      running = await listen(app);
      expect((await get(running.url, '/')).body).toBe('Test');
      expect(emitWarning).toHaveBeenCalledTimes(1);
      expect(String(emitWarning.mock.calls[0]?.[0])).toContain(`127.0.0.1:${port}`);
      expect(metrics.url).toBeUndefined();
    } finally {
      emitWarning.mockRestore();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('the metrics endpoint mounted on the app', () => {
  it('serves the exposition on the app and does not count its own requests', async () => {
    const app = appWithRoute();
    const metrics = registerMetrics(app, { endpoint: { mode: 'app', path: '/metrics' } });
    const running = await listen(app);
    try {
      await metrics.ready;
      expect(metrics.url).toBeUndefined();
      await get(running.url, '/');
      const first = await until(
        () => get(running.url, '/metrics'),
        (r) => samplesOf(r.body, 'app_request_count_total').length === 1,
      );
      expect(first.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const second = await get(running.url, '/metrics?debug=1');
      expect(labelValues(second.body, 'app_request_count_total', 'endpoint')).toEqual(['/']);
      expect(valueOf(second.body, 'app_request_count_total', { endpoint: '/' })).toBe(1);
      // Other methods on the path are the app's business, not the endpoint's.
      expect((await send(running.url, 'POST', '/metrics')).status).toBe(404);
    } finally {
      await running.close();
      await metrics.shutdown();
    }
  });

  it('offers a handler to mount anywhere', async () => {
    const app = appWithRoute();
    const metrics = registerMetrics(app, {
      endpoint: { mode: 'none' },
      excludePaths: ['/internal/metrics'],
    });
    app.get('/internal/metrics', metrics.handler);
    const running = await listen(app);
    try {
      await get(running.url, '/');
      const reply = await until(
        () => get(running.url, '/internal/metrics'),
        (r) => samplesOf(r.body, 'app_request_count_total').length === 1,
      );
      expect(valueOf(reply.body, 'app_request_count_total', { endpoint: '/' })).toBe(1);
    } finally {
      await running.close();
      await metrics.shutdown();
    }
  });
});
