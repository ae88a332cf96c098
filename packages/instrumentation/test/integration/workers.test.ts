import express from 'express5';
import {
  registerMetrics,
  serveClusterMetrics,
  type ClusterMetricsHandle,
  type MetricsHandle,
} from '../../src/index';
import { freePort, listen, type Running } from '../helpers/apps';
import { parseExposition, samplesOf, valueOf } from '../helpers/exposition';
import { RawConnection } from '../helpers/raw-http';
import { get } from '../helpers/request';

describe('one metrics port per worker (workerIndex)', () => {
  const handles: MetricsHandle[] = [];
  const apps: Running[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const handle of handles.splice(0)) await handle.shutdown();
  });

  it('listens on the base port plus the index, and labels every series with the index', async () => {
    const base = await freePort();
    const urls: string[] = [];
    for (const workerIndex of [0, 1]) {
      const app = express();
      app.get('/users/:id', (req, res) => {
        res.json({ id: req.params.id });
      });
      const handle = registerMetrics(app, {
        workerIndex,
        endpoint: { port: base, host: '127.0.0.1' },
      });
      handles.push(handle);
      await handle.ready;
      urls.push(handle.url as string);
      const running = await listen(app);
      apps.push(running);
      for (let i = 0; i <= workerIndex; i++)
        expect((await get(running.url, '/users/7')).status).toBe(200);
    }
    expect(urls).toEqual([
      `http://127.0.0.1:${base}/metrics`,
      `http://127.0.0.1:${base + 1}/metrics`,
    ]);
    for (const [index, url] of urls.entries()) {
      const text = await (await fetch(url)).text();
      const samples = parseExposition(text);
      expect(samples.length).toBeGreaterThan(20);
      expect(samples.filter((s) => s.labels.worker !== String(index))).toEqual([]);
      expect(
        valueOf(text, 'app_request_count_total', {
          method: 'GET',
          endpoint: '/users/:id',
          http_status: '200',
          worker: String(index),
        }),
      ).toBe(index + 1);
    }
  });

  it.each<[string, object, RegExp]>([
    [
      'a negative index',
      { workerIndex: -1 },
      /`workerIndex` must be an integer from 0 to 65535, got -1/,
    ],
    [
      'a fraction',
      { workerIndex: 1.5 },
      /`workerIndex` must be an integer from 0 to 65535, got 1.5/,
    ],
    ['a string', { workerIndex: '1' }, /`workerIndex` must be an integer from 0 to 65535, got "1"/],
    [
      'a port past 65535',
      { workerIndex: 2, endpoint: { port: 65534 } },
      /`workerIndex` must be at most 1 with endpoint.port 65534, got 2/,
    ],
    [
      'both modes',
      { workerIndex: 1, cluster: true },
      /`cluster` and `workerIndex` exclude each other/,
    ],
    [
      'an endpoint in cluster mode',
      { cluster: true, endpoint: { port: 1 } },
      /`endpoint` has no effect with `cluster: true`/,
    ],
    [
      'cluster without Prometheus',
      { cluster: true, exporters: 'otlp' },
      /`cluster` shapes the Prometheus exposition, but `exporters` leaves 'prometheus' out/,
    ],
    [
      'a worker label of the user',
      { extraLabels: { names: ['worker'], values: () => ({}) } },
      /`extraLabels.names` must be names the package does not use itself, got "worker"/,
    ],
  ])('refuses %s with a TypeError', (_what, options, message) => {
    expect(() => registerMetrics(express(), options)).toThrow(TypeError);
    expect(() => registerMetrics(express(), options)).toThrow(message);
  });

  it('refuses cluster: true outside a cluster worker', () => {
    expect(() => registerMetrics(express(), { cluster: true })).toThrow(
      /option `cluster` is for the workers of node:cluster, and this process is not one; the primary calls serveClusterMetrics\(\)/,
    );
  });
});

describe('the cluster primary, with no workers yet', () => {
  let primary: ClusterMetricsHandle | undefined;
  afterEach(async () => {
    await primary?.shutdown();
    primary = undefined;
  });

  it('serves its own process series, per process or summed, and counts no workers', async () => {
    primary = serveClusterMetrics({ endpoint: { port: 0, host: '127.0.0.1' } });
    await primary.ready;
    const text = await (await fetch(primary.url as string)).text();
    expect(valueOf(text, 'app_cluster_workers')).toBe(0);
    expect(valueOf(text, 'app_cluster_workers_unresponsive')).toBe(0);
    expect(valueOf(text, 'process_start_time_seconds', { worker: 'primary' })).toBeGreaterThan(
      1.7e9,
    );
    expect(samplesOf(text, 'process_resident_memory_bytes')[0]?.labels).toEqual({});
    expect(valueOf(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // The app's version comes from the workers, which run the app.
    expect(samplesOf(text, 'app_version_info')).toEqual([]);
    expect(samplesOf(text, 'app_request_count_total')).toEqual([]);
  });

  it('shares one collection among the scrapes that arrive while it runs, and limits them', async () => {
    primary = serveClusterMetrics({
      endpoint: { port: 0, host: '127.0.0.1', maxScrapesPerConnection: 3 },
    });
    await primary.ready;
    const conn = await RawConnection.open(Number(new URL(primary.url as string).port));
    // Four scrapes in one write reach the handler before any collection can end.
    const scrape = (close: boolean): string =>
      `GET /metrics HTTP/1.1\r\nHost: m\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
    conn.write(scrape(false).repeat(3) + scrape(true));
    await conn.waitClosed();
    const responses = await conn.read(['GET', 'GET', 'GET', 'GET']);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 503]);
    // Each collection reads the primary's CPU time anew, so equal bodies are one collection.
    const bodies = responses.slice(0, 3).map((r) => r.body.toString('utf8'));
    expect(valueOf(bodies[0] as string, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(new Set(bodies).size).toBe(1);
    const later = await primary.scrape();
    expect(later).not.toBe(bodies[0]);
    expect(valueOf(later, 'app_scrapes_rejected_total', { limit: 'per_connection' })).toBe(1);
  });

  it.each<[string, object, RegExp]>([
    [
      'an unknown option',
      { appVersion: '1' },
      /there is no option "appVersion"; the known ones are endpoint, workerTimeout/,
    ],
    [
      'a wait as long as the scrape',
      { workerTimeout: 10_000 },
      /`workerTimeout` must be less than endpoint.timeout \(10000 ms\)/,
    ],
    [
      'no wait',
      { workerTimeout: 0 },
      /`workerTimeout` must be an integer number of milliseconds from 1 to 2147483647, got 0/,
    ],
    [
      'the app mode',
      { endpoint: { mode: 'app' } },
      /`endpoint.mode` must be 'port' or 'none' \(the primary has no app to mount it on\)/,
    ],
  ])('refuses %s with a TypeError', (_what, options, message) => {
    expect(() => serveClusterMetrics(options)).toThrow(TypeError);
    expect(() => serveClusterMetrics(options)).toThrow(message);
  });
});

describe('the cluster primary when the workers do not use Prometheus', () => {
  const saved = process.env.OTEL_METRICS_EXPORTER;
  afterEach(() => {
    if (saved === undefined) delete process.env.OTEL_METRICS_EXPORTER;
    else process.env.OTEL_METRICS_EXPORTER = saved;
  });

  it('opens no endpoint and says why, since every worker exports its own series', async () => {
    process.env.OTEL_METRICS_EXPORTER = 'otlp';
    const port = await freePort();
    const primary = serveClusterMetrics({ endpoint: { port, host: '127.0.0.1' } });
    await primary.ready;
    expect(primary.url).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    await expect(primary.scrape()).rejects.toThrow(
      "scrape() has no Prometheus exposition to read: the exporters are otlp (OTEL_METRICS_EXPORTER), without 'prometheus': every worker exports its own series",
    );
    await primary.shutdown();
  });
});
