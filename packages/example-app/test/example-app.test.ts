import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app';
import { buildMain, freePort, sample, text } from './helpers';

const ROUTES: Array<[string, number, string]> = [
  ['/', 200, '/'],
  ['/users/42', 200, '/users/:id'],
  ['/api/orders/7/items/3', 200, '/api/orders/:orderId/items/:itemId'],
  ['/error', 500, '/error'],
  ['/slow?ms=30', 200, '/slow'],
];

describe('the example app', () => {
  it('answers its routes and exports one count per route with the right labels', async () => {
    const { app, metrics } = createApp({ endpoint: { host: '127.0.0.1', port: 0 } });
    await metrics.ready;
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await text(`${base}/`)).body).toBe('Test');
      expect(JSON.parse((await text(`${base}/api/orders/7/items/3`)).body)).toEqual({
        orderId: '7',
        itemId: '3',
      });
      for (const [path, status] of ROUTES.filter(
        ([p]) => p !== '/api/orders/7/items/3' && p !== '/',
      )) {
        expect((await text(`${base}${path}`)).status).toBe(status);
      }
      let exposition = '';
      for (let i = 0; i < 100; i++) {
        exposition = (await text(metrics.url as string)).body;
        if ((exposition.match(/^app_request_count_total\{/gm) ?? []).length === ROUTES.length)
          break;
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const [, status, endpoint] of ROUTES) {
        expect(
          sample(
            exposition,
            `app_request_count_total{method="GET",endpoint="${endpoint}",http_status="${status}"}`,
          ),
        ).toBe(1);
        expect(
          sample(
            exposition,
            `app_request_latency_seconds_count{method="GET",endpoint="${endpoint}"}`,
          ),
        ).toBe(1);
      }
      const slow = '{method="GET",endpoint="/slow",le="0.025"}';
      expect(sample(exposition, `app_request_latency_seconds_bucket${slow}`)).toBe(0);
      expect(
        sample(
          exposition,
          'app_request_latency_seconds_bucket{method="GET",endpoint="/slow",le="+Inf"}',
        ),
      ).toBe(1);
      expect(sample(exposition, 'app_version_info{version="v0.1.2",config="staging"}')).toBe(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await metrics.shutdown();
    }
  });

  it('answers errors without a stack trace unless NODE_ENV=development', async () => {
    const { app, metrics } = createApp({ endpoint: { mode: 'none' } });
    // Express' env follows NODE_ENV, which jest sets to 'test'; a deployed service runs in production.
    app.set('env', 'production');
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const nodeEnv = process.env.NODE_ENV;
    try {
      // A client's bad input: its status and name, and nothing on stderr.
      expect(await text(`${base}/users/%E0%A4%A`)).toEqual({
        status: 400,
        body: 'Bad Request\n',
        type: 'text/plain; charset=utf-8',
      });
      expect(logged).not.toHaveBeenCalled();
      // A server error: the same kind of answer, and the error in the log.
      expect(await text(`${base}/error`)).toEqual({
        status: 500,
        body: 'Internal Server Error\n',
        type: 'text/plain; charset=utf-8',
      });
      expect(logged).toHaveBeenCalledTimes(1);
      expect(String(logged.mock.calls[0]?.[0])).toContain('the example route that fails');

      process.env.NODE_ENV = 'development';
      app.set('env', 'development');
      const page = await text(`${base}/error`);
      expect(page.status).toBe(500);
      expect(page.body).toContain('Error: the example route that fails');
      expect(page.body).toMatch(/at .*app\.[jt]s/);
      // Express logs it too, a turn of the event loop after answering.
      await new Promise((r) => setImmediate(r));
      expect(logged).toHaveBeenCalledTimes(2);
    } finally {
      process.env.NODE_ENV = nodeEnv;
      logged.mockRestore();
      await new Promise<void>((r) => server.close(() => r()));
      await metrics.shutdown();
    }
  });

  it('runs as a process: PORT and OTEL_EXPORTER_PROMETHEUS_PORT are honoured, SIGTERM exits 0', async () => {
    const main = buildMain();
    const [appPort, metricsPort] = [await freePort(), await freePort()];
    const child: ChildProcess = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        PORT: String(appPort),
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      for (
        let i = 0;
        i < 200 && !(out.includes('example app on') && out.includes('metrics on'));
        i++
      ) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(out).toContain(`metrics on http://127.0.0.1:${metricsPort}/metrics`);
      expect((await text(`http://127.0.0.1:${appPort}/users/1`)).status).toBe(200);
      const scraped = await text(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scraped.type).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(
        sample(
          scraped.body,
          'app_request_count_total{method="GET",endpoint="/users/:id",http_status="200"}',
        ),
      ).toBe(1);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
  it('moves to OTLP with OTEL_METRICS_EXPORTER=otlp and no change to its code', async () => {
    const main = buildMain();
    // A stand-in for a Collector: what OTLP/HTTP with JSON bodies posts to /v1/metrics.
    const bodies: string[] = [];
    const collector = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        if (req.url === '/v1/metrics' && req.method === 'POST') bodies.push(body);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const [appPort, metricsPort] = [await freePort(), await freePort()];
    const child: ChildProcess = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        PORT: String(appPort),
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        // The switch; the other two say where the Collector is and that it takes JSON.
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
        // Unset, so the example's own service name is the one sent.
        OTEL_SERVICE_NAME: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      for (let i = 0; i < 200 && !out.includes('example app on'); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect((await text(`http://127.0.0.1:${appPort}/users/1`)).status).toBe(200);
      expect((await text(`http://127.0.0.1:${appPort}/users/2`)).status).toBe(200);
      // No Prometheus endpoint any more.
      await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).not.toContain('metrics on');
      // The last export, sent on the way out.
      type Point = { attributes: Array<{ key: string; value: { stringValue?: string } }> };
      const services = bodies.flatMap((b) =>
        (
          JSON.parse(b) as {
            resourceMetrics: Array<{ resource: Point }>;
          }
        ).resourceMetrics.map(
          (r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
        ),
      );
      expect(services.length).toBeGreaterThan(0);
      expect(new Set(services)).toEqual(new Set(['example-app']));
      const counts = bodies.flatMap((b) =>
        (
          JSON.parse(b) as {
            resourceMetrics: Array<{
              scopeMetrics: Array<{
                metrics: Array<{
                  name: string;
                  sum?: {
                    dataPoints: Array<Point & { asDouble?: number; asInt?: number | string }>;
                  };
                }>;
              }>;
            }>;
          }
        ).resourceMetrics
          .flatMap((r) => r.scopeMetrics.flatMap((sm) => sm.metrics))
          .filter((m) => m.name === 'app_request_count')
          .flatMap((m) => m.sum?.dataPoints ?? [])
          .map((p) => [
            Object.fromEntries(p.attributes.map((a) => [a.key, a.value.stringValue])),
            Number(p.asDouble ?? p.asInt),
          ]),
      );
      expect(counts.at(-1)).toEqual([
        { method: 'GET', endpoint: '/users/:id', http_status: '200' },
        2,
      ]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await new Promise<void>((r) => collector.close(() => r()));
    }
  });
});
