import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import express from 'express5';
import { createExposition, type MetricSource } from '../../src/export/exposition';
import { registerMetrics, type MetricsHandle, type RegisterMetricsOptions } from '../../src/index';
import { createReporter } from '../../src/report';
import { listen, type Running } from '../helpers/apps';
import { samplesOf, valueOf } from '../helpers/exposition';
import { RawConnection, type WireResponse } from '../helpers/raw-http';
import { get, sendRaw } from '../helpers/request';
import { sleep, until } from '../helpers/wait';

const QUIET = { process: false, runtime: false, gc: false, eventLoop: false };

/** `count` scrapes in one write; the last asks the server to close once it has answered. */
function pipelined(count: number, headers: (i: number) => string = () => ''): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    const close = i === count - 1 ? 'Connection: close\r\n' : '';
    out += `GET /metrics HTTP/1.1\r\nHost: metrics\r\n${headers(i)}${close}\r\n`;
  }
  return out;
}

function header(response: WireResponse | undefined, name: string): string | undefined {
  const line = response?.head.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/**
 * An endpoint on a free port, and a count of the collections its provider runs: an observable's
 * callback runs once in each.
 */
async function endpointWithCount(
  endpoint: RegisterMetricsOptions['endpoint'] = {},
): Promise<{ metrics: MetricsHandle; port: number; collections: () => number }> {
  const metrics = registerMetrics(express(), {
    endpoint: { host: '127.0.0.1', port: 0, ...endpoint },
    collectors: QUIET,
  });
  await metrics.ready;
  let collections = 0;
  metrics.meterProvider
    .getMeter('test')
    .createObservableGauge('test_collections')
    .addCallback((result) => result.observe(++collections));
  return {
    metrics,
    port: Number(new URL(metrics.url as string).port),
    collections: () => collections,
  };
}

describe('scrapes that arrive while a collection runs', () => {
  let metrics: MetricsHandle | undefined;
  afterEach(async () => {
    await metrics?.shutdown();
    metrics = undefined;
  });

  it('share it: one collection, one body, one gzip for all of them', async () => {
    const endpoint = await endpointWithCount({
      maxScrapesPerConnection: 20,
      maxConcurrentScrapes: 20,
    });
    metrics = endpoint.metrics;
    // Every request of one write reaches the handler before any collection can end.
    const conn = await RawConnection.open(endpoint.port);
    const gzipped = (i: number): boolean => i % 2 === 1;
    conn.write(pipelined(20, (i) => (gzipped(i) ? 'Accept-Encoding: gzip\r\n' : '')));
    const responses = await conn.read(Array.from({ length: 20 }, () => 'GET'));
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(endpoint.collections()).toBe(1);

    const plain = responses.filter((_, i) => !gzipped(i)).map((r) => r.body.toString('utf8'));
    const compressed = responses.filter((_, i) => gzipped(i)).map((r) => r.body);
    for (const body of plain) expect(body).toBe(plain[0]);
    for (const body of compressed) expect(body.equals(compressed[0] as Buffer)).toBe(true);
    expect(gunzipSync(compressed[0] as Buffer).toString('utf8')).toBe(plain[0]);
    expect(header(responses[1], 'content-encoding')).toBe('gzip');
    expect(valueOf(plain[0] as string, 'test_collections')).toBe(1);

    // A scrape once the answer is no longer reused (at most a second) is a collection of its own.
    await sleep(1100);
    const next = await get(`http://127.0.0.1:${endpoint.port}`, '/metrics');
    expect(endpoint.collections()).toBe(2);
    expect(valueOf(next.body, 'test_collections')).toBe(2);
  });

  it('share it across formats: one collection, one body and one gzip per format', async () => {
    const endpoint = await endpointWithCount({
      maxScrapesPerConnection: 20,
      maxConcurrentScrapes: 20,
    });
    metrics = endpoint.metrics;
    const conn = await RawConnection.open(endpoint.port);
    const openMetrics = (i: number): boolean => i % 2 === 0;
    const gzipped = (i: number): boolean => i % 4 >= 2;
    conn.write(
      pipelined(
        20,
        (i) =>
          (openMetrics(i) ? 'Accept: application/openmetrics-text;version=1.0.0\r\n' : '') +
          (gzipped(i) ? 'Accept-Encoding: gzip\r\n' : ''),
      ),
    );
    const responses = await conn.read(Array.from({ length: 20 }, () => 'GET'));
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(endpoint.collections()).toBe(1);
    const bodies = (format: boolean, gzip: boolean): Buffer[] =>
      responses
        .filter((_, i) => openMetrics(i) === format && gzipped(i) === gzip)
        .map((r) => r.body);
    for (const format of [true, false]) {
      for (const gzip of [true, false]) {
        const same = bodies(format, gzip);
        expect(same.length).toBe(5);
        for (const body of same) expect(body.equals(same[0] as Buffer)).toBe(true);
      }
      expect(
        gunzipSync(bodies(format, true)[0] as Buffer).equals(bodies(format, false)[0] as Buffer),
      ).toBe(true);
    }
    const om = (bodies(true, false)[0] as Buffer).toString('utf8');
    const text = (bodies(false, false)[0] as Buffer).toString('utf8');
    expect(om).toMatch(/^test_collections 1$/m);
    expect(om.endsWith('# EOF\n')).toBe(true);
    expect(valueOf(text, 'test_collections')).toBe(1);
    expect(header(responses[0], 'content-type')).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores',
    );
    expect(header(responses[1], 'content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('and those that come right after it: one after another, they cost a bounded share of the time', async () => {
    const endpoint = await endpointWithCount();
    metrics = endpoint.metrics;
    // A collection that costs 5 ms of the event loop, as a large one would.
    const COST_MS = 5;
    metrics.meterProvider
      .getMeter('test')
      .createObservableGauge('test_costly')
      .addCallback((result) => {
        const end = performance.now() + COST_MS;
        while (performance.now() < end);
        result.observe(1);
      });
    const base = `http://127.0.0.1:${endpoint.port}`;
    const seen: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      seen.push(valueOf((await get(base, '/metrics')).body, 'test_collections'));
    }
    const elapsed = performance.now() - started;
    // An answer that took t to make serves the scrapes of the next 4 t, so n collections need at
    // least (n - 1) x 5 x COST_MS: collections take at most a fifth of the time.
    const n = endpoint.collections();
    expect(n).toBeGreaterThan(1);
    expect((n - 1) * 5 * COST_MS).toBeLessThanOrEqual(elapsed);
    expect(n).toBeLessThan(seen.length / 2);
    // Every scrape got one of those answers, in the order they were made.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(n);
  });

  it('but an in-process scrape() always sees what was recorded before it', async () => {
    const endpoint = await endpointWithCount();
    metrics = endpoint.metrics;
    const counter = metrics.meterProvider.getMeter('test').createCounter('test_events');
    counter.add(1);
    const scraped = await get(`http://127.0.0.1:${endpoint.port}`, '/metrics');
    expect(valueOf(scraped.body, 'test_events_total')).toBe(1);
    counter.add(1);
    // Within the reuse of the answer the HTTP scrape got, which scrape() does not take.
    expect(valueOf(await metrics.scrape(), 'test_events_total')).toBe(2);
  });

  it('serve a scrape in the other format right after from the same collection', async () => {
    let runs = 0;
    const source: MetricSource = {
      async collect() {
        runs++;
        // A collection of 40 ms: its answers serve the next 160 ms.
        await sleep(40);
        const resourceMetrics = {
          resource: { attributes: {} },
          scopeMetrics: [
            {
              scope: { name: 'test' },
              metrics: [
                {
                  descriptor: { name: 'test_runs', description: '', unit: '' },
                  dataPointType: DataPointType.GAUGE,
                  dataPoints: [{ attributes: {}, value: runs }],
                },
              ],
            },
          ],
        } as unknown as ResourceMetrics;
        return { resourceMetrics, errors: [] };
      },
    };
    const exposition = createExposition(
      source,
      {
        targetInfo: false,
        scopeInfo: false,
        naming: 'prometheus',
        cardinalityLimit: 2000,
        endpoint: { timeout: 1000, maxConcurrentScrapes: 10, maxScrapesPerConnection: 1 },
      },
      createReporter(),
    );
    const server = createServer(exposition.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const text = await get(base, '/metrics');
      const om = await sendRaw(base, 'GET', '/metrics', {
        Accept: 'application/openmetrics-text;version=1.0.0',
      });
      expect(runs).toBe(1);
      expect(valueOf(text.body, 'test_runs')).toBe(1);
      expect(om.body.toString('utf8')).toBe('# TYPE test_runs gauge\ntest_runs 1\n# EOF\n');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never run two collections at once, however the scrapes overlap', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    const empty: ResourceMetrics = {
      resource: { attributes: {} } as ResourceMetrics['resource'],
      scopeMetrics: [],
    };
    const source: MetricSource = {
      async collect() {
        runs++;
        most = Math.max(most, ++active);
        await sleep(5);
        active--;
        return { resourceMetrics: empty, errors: [] };
      },
    };
    const exposition = createExposition(
      source,
      {
        targetInfo: false,
        scopeInfo: false,
        naming: 'prometheus',
        cardinalityLimit: 2000,
        endpoint: { timeout: 1000, maxConcurrentScrapes: 10, maxScrapesPerConnection: 1 },
      },
      createReporter(),
    );
    // Scrapes every millisecond for 200 ms, each waited for by nobody before the next starts,
    // in either format.
    const texts: Array<Promise<string>> = [];
    for (let i = 0; i < 200; i++) {
      texts.push(exposition.text(i % 3 === 0 ? 'openmetrics' : 'text'));
      await sleep(1);
    }
    const all = await Promise.all(texts);
    expect(all.every((t, i) => t === (i % 3 === 0 ? '# EOF\n' : '# no registered metrics'))).toBe(
      true,
    );
    expect(most).toBe(1);
    // Each collection took at least 5 ms, so 200 scrapes over about 200 ms needed far fewer.
    expect(runs).toBeGreaterThan(1);
    expect(runs).toBeLessThan(100);
  });
});

describe('the limits on scrapes in flight', () => {
  let metrics: MetricsHandle | undefined;
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    await metrics?.shutdown();
    metrics = running = undefined;
  });

  it('refuse a scrape pipelined behind its own unfinished one, and close that connection', async () => {
    const endpoint = await endpointWithCount();
    metrics = endpoint.metrics;
    const conn = await RawConnection.open(endpoint.port);
    conn.write(pipelined(5));
    await conn.waitClosed();
    const responses = await conn.read(['GET', 'GET', 'GET']);
    // The first is answered, the second refused and the connection closed after it.
    expect(responses.map((r) => r.status)).toEqual([200, 503]);
    const refused = responses[1];
    expect(header(refused, 'retry-after')).toBe('1');
    expect(header(refused, 'connection')).toBe('close');
    expect(refused?.body.toString('utf8')).toBe(
      'too many scrapes in flight on this connection (at most 1); retry later\n',
    );
    expect(endpoint.collections()).toBe(1);
    // Every scrape after the first was refused when it arrived, answered or not.
    const text = await metrics.scrape();
    expect(valueOf(text, 'app_scrapes_rejected_total', { limit: 'per_connection' })).toBe(4);
    expect(valueOf(text, 'app_scrapes_rejected_total', { limit: 'concurrent' })).toBe(0);
  });

  it('refuse scrapes beyond maxConcurrentScrapes while the others are in flight', async () => {
    const endpoint = await endpointWithCount({ maxConcurrentScrapes: 2, timeout: 5000 });
    metrics = endpoint.metrics;
    // An exposition of about 18 MB, more than loopback's socket buffers take from a client that
    // does not read: its scrapes stay in flight.
    const bulk = metrics.meterProvider.getMeter('bulk').createCounter('bulk');
    const filler = 'x'.repeat(12_000);
    for (let i = 0; i < 1500; i++) bulk.add(1, { v: `${filler}${i}` });
    const stalled = await Promise.all([0, 1].map(() => RawConnection.open(endpoint.port)));
    for (const conn of stalled) {
      conn.pause();
      conn.write(pipelined(1));
    }
    // Both are let in before this one, which is refused at once.
    await sleep(50);
    const refused = await get(`http://127.0.0.1:${endpoint.port}`, '/metrics');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toBe('too many scrapes in flight (at most 2); retry later\n');

    for (const conn of stalled) await conn.destroy();
    // Their slots are free once their connections are gone.
    await sleep(50);
    // A scrape may still share the answer made for the two, from before the refusal; the next
    // collection counts it.
    const after = await until(
      () => get(`http://127.0.0.1:${endpoint.port}`, '/metrics'),
      (r) => r.status !== 200 || /limit="concurrent"\} 1\n/.test(r.body),
    );
    expect(after.status).toBe(200);
    expect(valueOf(after.body, 'app_scrapes_rejected_total', { limit: 'concurrent' })).toBe(1);
  });

  it('apply to the endpoint mounted on the app, and leave the app alone', async () => {
    const app = express();
    metrics = registerMetrics(app, { endpoint: { mode: 'app' }, collectors: QUIET });
    app.get('/', (_req, res) => {
      res.send('app');
    });
    running = await listen(app);
    const conn = await RawConnection.open(Number(new URL(running.url).port));
    conn.write(`${pipelined(2)}`);
    await conn.waitClosed();
    expect((await conn.read(['GET', 'GET'])).map((r) => r.status)).toEqual([200, 503]);
    // Pipelined requests to the app itself are the app's business.
    const app2 = await RawConnection.open(Number(new URL(running.url).port));
    app2.write(
      'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    await app2.waitClosed();
    expect((await app2.read(['GET', 'GET'])).map((r) => r.status)).toEqual([200, 200]);
    const text = await metrics.scrape();
    expect(valueOf(text, 'app_scrapes_rejected_total', { limit: 'per_connection' })).toBe(1);
    expect(samplesOf(text, 'app_request_count_total')).toEqual([
      {
        name: 'app_request_count_total',
        labels: { method: 'GET', endpoint: '/', http_status: '200' },
        value: 2,
      },
    ]);
  });
});
