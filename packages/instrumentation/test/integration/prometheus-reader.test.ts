import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createPrometheusReader, createViews, registerMetrics } from '../../src/index';
import { FLAVOURS, listen } from '../helpers/apps';
import { samplesOf, typeOf } from '../helpers/exposition';
import { get } from '../helpers/request';
import { until } from '../helpers/wait';

const express = FLAVOURS[1]![1];

/** A GET with headers, the body as bytes. */
function fetchRaw(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createPrometheusReader', () => {
  it('refuses options it does not take, naming them, before anything listens', () => {
    expect(() => createPrometheusReader({ appVersion: 'x' } as never)).toThrow(
      /there is no option "appVersion"; the known ones are endpoint, naming, translationStrategy, nativeHistogramMaxScale, targetInfo, scopeInfo/,
    );
    expect(() => createPrometheusReader({ endpoint: { mode: 'app' } })).toThrow(
      /option `endpoint.mode` must be 'port' or 'none'/,
    );
    expect(() => createPrometheusReader({ naming: 'otel' as never })).toThrow(TypeError);
  });

  it("serves a provider's metrics with the package's writer, gzip and auth; stops with the provider", async () => {
    const reader = createPrometheusReader({
      naming: 'semconv',
      endpoint: { port: 0, bearerToken: 'token-1' },
    });
    const options = { naming: 'semconv' as const, appVersion: 'v9' };
    const provider = new MeterProvider({ views: createViews(options), readers: [reader] });
    const app = express();
    const metrics = registerMetrics(app, { ...options, meterProvider: provider });
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    const running = await listen(app);
    let url = '';
    try {
      await reader.ready;
      url = reader.url as string;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect((await get(running.url, '/users/1')).status).toBe(200);
      expect((await fetchRaw(url, {})).status).toBe(401);
      const auth = { Authorization: 'Bearer token-1' };
      const text = await until(
        async () => (await fetchRaw(url, auth)).body.toString('utf8'),
        (t) => samplesOf(t, 'http_server_request_duration_seconds_count').length > 0,
      );
      expect(samplesOf(text, 'http_server_request_duration_seconds_count')).toEqual([
        {
          name: 'http_server_request_duration_seconds_count',
          labels: {
            http_request_method: 'GET',
            url_scheme: 'http',
            network_protocol_version: '1.1',
            http_route: '/users/:id',
            http_response_status_code: '200',
            otel_scope_name: 'express-otel-metrics',
          },
          value: 1,
        },
      ]);
      expect(samplesOf(text, 'app_version_info')[0]?.labels.version).toBe('v9');
      expect(typeOf(text, 'http_server_request_duration_seconds')).toBe('histogram');
      const zipped = await fetchRaw(url, { ...auth, 'Accept-Encoding': 'gzip' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(zipped.body).toString('utf8')).toContain(
        'http_server_request_duration_seconds_count{',
      );
    } finally {
      await running.close();
      await provider.shutdown();
      await metrics.shutdown();
    }
    // The provider's shutdown closed the endpoint.
    await expect(fetchRaw(url, {})).rejects.toThrow(/ECONNREFUSED/);
  });

  it("with endpoint.mode 'none', serves through its handler only", async () => {
    const reader = createPrometheusReader({ endpoint: { mode: 'none' }, scopeInfo: false });
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter('mine').createCounter('jobs').add(2, { queue: 'a' });
    const server = createServer(reader.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await reader.ready;
      expect(reader.url).toBeUndefined();
      const { port } = server.address() as AddressInfo;
      const reply = await get(`http://127.0.0.1:${port}`, '/anything');
      expect(reply.status).toBe(200);
      expect(samplesOf(reply.body, 'jobs_total')).toEqual([
        { name: 'jobs_total', labels: { queue: 'a' }, value: 2 },
      ]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await provider.shutdown();
    }
  });
});
