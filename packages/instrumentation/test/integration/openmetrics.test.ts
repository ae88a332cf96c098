/**
 * The format a scraper gets, through every way the exposition is served: the package's own port,
 * the endpoint on the app, the handle's handler on a route of the app, createPrometheusReader and
 * a cluster's primary. Each goes through createExposition's handler, so each answers Prometheus
 * with OpenMetrics and anything else with the text format, gzip and authentication alike.
 */
import { gunzipSync } from 'node:zlib';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express from 'express5';
import { createPrometheusReader, createViews, registerMetrics } from '../../src/index';
import { listen, type Running } from '../helpers/apps';
import { startCluster } from '../helpers/cluster-process';
import { samplesOf } from '../helpers/exposition';
import { checkOpenMetrics } from '../helpers/openmetrics';
import { sendRaw, type RawReply } from '../helpers/request';
import { until } from '../helpers/wait';

/** What Prometheus 2.x sends (scrape/scrape.go `scrapeAcceptHeader`). */
const PROMETHEUS_2 =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** What Prometheus 3.4 and later send by default (scrape_test.go `TestAcceptHeader`). */
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const QUIET = { process: false, runtime: false, gc: false, eventLoop: false };

function scrape(url: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const { origin, pathname } = new URL(url);
  return sendRaw(origin, 'GET', pathname, headers);
}

/** The checks every entry point passes: the format, the type, the body, gzip and Vary. */
async function expectNegotiated(url: string, headers: Record<string, string> = {}): Promise<void> {
  const om = await scrape(url, { ...headers, Accept: PROMETHEUS_2 });
  expect(om.status).toBe(200);
  expect(om.headers['content-type']).toBe(`${OPENMETRICS}; escaping=underscores`);
  expect(om.headers['vary']).toBe('Accept, Accept-Encoding');
  const openMetrics = om.body.toString('utf8');
  checkOpenMetrics(openMetrics);

  const three = await scrape(url, { ...headers, Accept: PROMETHEUS_3, 'Accept-Encoding': 'gzip' });
  expect(three.headers['content-type']).toBe(`${OPENMETRICS}; escaping=allow-utf-8`);
  expect(three.headers['content-encoding']).toBe('gzip');
  checkOpenMetrics(gunzipSync(three.body).toString('utf8'));

  for (const accept of [undefined, '*/*', 'garbage']) {
    const text = await scrape(url, accept === undefined ? headers : { ...headers, Accept: accept });
    expect(text.headers['content-type']).toBe(TEXT);
    expect(text.body.toString('utf8')).not.toContain('# EOF');
  }
}

describe('the format of the answer, by Accept', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it("on the package's own port, with the text format and OpenMetrics of one collection", async () => {
    const app = express();
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    const metrics = registerMetrics(app, {
      endpoint: { host: '127.0.0.1', port: 0 },
      collectors: QUIET,
    });
    try {
      await metrics.ready;
      running = await listen(app);
      await sendRaw(running.url, 'GET', '/users/7');
      const url = metrics.url as string;
      await until(
        () => scrape(url),
        (r) => samplesOf(r.body.toString('utf8'), 'app_request_count_total').length === 1,
      );
      await expectNegotiated(url);
      const { samples, families } = checkOpenMetrics(
        (await scrape(url, { Accept: PROMETHEUS_2 })).body.toString('utf8'),
      );
      expect(families.find((f) => f.name === 'app_request_count')?.type).toBe('counter');
      expect(families.find((f) => f.name === 'app_request_latency_seconds')).toMatchObject({
        type: 'histogram',
        unit: 'seconds',
      });
      expect(
        samples.find(
          (s) => s.name === 'app_request_latency_seconds_bucket' && s.labels.le === '1.0',
        )?.value,
      ).toBe('1');
    } finally {
      await metrics.shutdown();
    }
  });

  it('on the app, and through the handle mounted on a route, behind authentication', async () => {
    const app = express();
    const onApp = registerMetrics(app, {
      endpoint: { mode: 'app', path: '/metrics', bearerToken: 'tok-1' },
      collectors: QUIET,
    });
    const other = express();
    const mounted = registerMetrics(other, { endpoint: { mode: 'none' }, collectors: QUIET });
    app.get('/mounted', mounted.handler);
    try {
      running = await listen(app);
      await onApp.ready;
      const refused = await scrape(`${running.url}/metrics`, { Accept: PROMETHEUS_2 });
      expect(refused.status).toBe(401);
      await expectNegotiated(`${running.url}/metrics`, { Authorization: 'Bearer tok-1' });
      await expectNegotiated(`${running.url}/mounted`);
    } finally {
      await onApp.shutdown();
      await mounted.shutdown();
    }
  });

  it("through createPrometheusReader, with the semconv names under Prometheus 3's allow-utf-8", async () => {
    const reader = createPrometheusReader({
      naming: 'semconv',
      targetInfo: true,
      endpoint: { port: 0 },
    });
    const options = { naming: 'semconv' as const };
    const provider = new MeterProvider({ views: createViews(options), readers: [reader] });
    const app = express();
    const metrics = registerMetrics(app, {
      ...options,
      meterProvider: provider,
      collectors: QUIET,
    });
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    try {
      running = await listen(app);
      await reader.ready;
      await sendRaw(running.url, 'GET', '/users/7');
      const url = reader.url as string;
      await expectNegotiated(url);
      // allow-utf-8 allows the dotted names; the names stay those of the default translation.
      const text = (await scrape(url, { Accept: PROMETHEUS_3 })).body.toString('utf8');
      const { families, samples } = checkOpenMetrics(text);
      expect(families.find((f) => f.name === 'http_server_request_duration_seconds')).toMatchObject(
        { type: 'histogram', unit: 'seconds' },
      );
      expect(families.find((f) => f.name === 'target')?.type).toBe('info');
      expect(text).not.toContain('http.server');
      expect(
        samples.find((s) => s.name === 'http_server_request_duration_seconds_count')?.labels,
      ).toMatchObject({ http_route: '/users/:id', http_request_method: 'GET' });
    } finally {
      await metrics.shutdown();
      await provider.shutdown();
    }
  });
});

/** The samples of `name` in the UTF-8 syntax (`{"a.b","c.d"="v",e="w"} 1`), labels unescaped. */
function quotedSamples(
  text: string,
  name: string,
): Array<{ labels: Record<string, string>; value: string }> {
  const head = `{${JSON.stringify(name)},`;
  const label = /("(?:[^"\\]|\\.)*"|[a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  return text
    .split('\n')
    .filter((line) => line.startsWith(head))
    .map((line) => {
      const close = line.lastIndexOf('} ');
      const labels: Record<string, string> = {};
      for (const [, key = '', value = ''] of line.slice(head.length, close).matchAll(label)) {
        labels[key.startsWith('"') ? (JSON.parse(key) as string) : key] = value;
      }
      return { labels, value: line.slice(close + 2) };
    });
}

describe('translationStrategy NoUTF8EscapingWithSuffixes', () => {
  it('serves the dotted names to Prometheus 3 and escapes them for every other scraper', async () => {
    const app = express();
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    const metrics = registerMetrics(app, {
      naming: 'semconv',
      translationStrategy: 'NoUTF8EscapingWithSuffixes',
      endpoint: { port: 0 },
      collectors: QUIET,
    });
    try {
      await metrics.ready;
      const server = await listen(app);
      await sendRaw(server.url, 'GET', '/users/7');
      await sendRaw(server.url, 'GET', '/users/8');
      await server.close();
      const url = metrics.url as string;

      const three = await scrape(url, { Accept: PROMETHEUS_3 });
      expect(three.headers['content-type']).toBe(`${OPENMETRICS}; escaping=allow-utf-8`);
      const utf8 = three.body.toString('utf8');
      expect(utf8).toContain('# TYPE "http.server.request.duration_seconds" histogram\n');
      expect(utf8).toContain('# UNIT "http.server.request.duration_seconds" seconds\n');
      expect(utf8.endsWith('# EOF\n')).toBe(true);
      expect(quotedSamples(utf8, 'http.server.request.duration_seconds_count')).toEqual([
        {
          labels: {
            'http.request.method': 'GET',
            'http.response.status_code': '200',
            'http.route': '/users/:id',
            'url.scheme': 'http',
            'network.protocol.version': '1.1',
          },
          value: '2',
        },
      ]);

      // Prometheus 2 names no escaping: the default's names, as valid OpenMetrics.
      const two = await scrape(url, { Accept: PROMETHEUS_2 });
      expect(two.headers['content-type']).toBe(`${OPENMETRICS}; escaping=underscores`);
      const { samples } = checkOpenMetrics(two.body.toString('utf8'));
      expect(
        samples.filter((s) => s.name === 'http_server_request_duration_seconds_count'),
      ).toMatchObject([
        {
          labels: { http_request_method: 'GET', http_route: '/users/:id', url_scheme: 'http' },
          value: '2',
        },
      ]);

      // The 0.0.4 format never carries UTF-8 names, and says what it did instead.
      const text = await scrape(url, { Accept: 'text/plain;version=0.0.4;escaping=allow-utf-8' });
      expect(text.headers['content-type']).toBe(`${TEXT}; escaping=underscores`);
      expect(text.body.toString('utf8')).not.toContain('http.server');
      expect(
        samplesOf(text.body.toString('utf8'), 'http_server_request_duration_seconds_count', {
          http_route: '/users/:id',
        }).map((s) => s.value),
      ).toEqual([2]);

      const dots = await scrape(url, {
        Accept: 'application/openmetrics-text;version=1.0.0;escaping=dots',
      });
      expect(dots.headers['content-type']).toBe(`${OPENMETRICS}; escaping=dots`);
      expect(dots.body.toString('utf8')).toMatch(
        /^http_dot_server_dot_request_dot_duration__seconds_count\{http_dot_request_dot_method="GET",.*http_dot_route="\/users\/:id".*\} 2$/m,
      );
    } finally {
      await metrics.shutdown();
    }
  });
});

describe("a cluster's primary", () => {
  jest.setTimeout(60_000);

  it('answers Prometheus with OpenMetrics of the merged series', async () => {
    const cluster = await startCluster({ workers: 2 });
    try {
      await fetch(`${cluster.appUrl}/users/1`);
      await expectNegotiated(cluster.metricsUrl);
      const text = (await scrape(cluster.metricsUrl, { Accept: PROMETHEUS_2 })).body.toString(
        'utf8',
      );
      const { families } = checkOpenMetrics(text);
      expect(families.find((f) => f.name === 'app_request_count')?.type).toBe('counter');
    } finally {
      await cluster.stop();
    }
  });
});
