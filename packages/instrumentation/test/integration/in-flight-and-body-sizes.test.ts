import { Agent, request as httpRequest, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Express } from 'express';
import { CLUSTER_GAUGE_MERGE } from '../../src/names';
import { registerMetrics, type MetricsHandle, type RegisterMetricsOptions } from '../../src/index';
import { FLAVOURS, listen, type Running } from '../helpers/apps';
import { samplesOf, typeOf, valueOf } from '../helpers/exposition';
import { histogramPoints, InMemoryReader, metricOf, valueAt } from '../helpers/reader';
import { get, send, sendRaw } from '../helpers/request';
import { until } from '../helpers/wait';

const IN_FLIGHT = 'app_requests_in_flight';
const REQUEST_SIZE = 'app_request_size_bytes';
const RESPONSE_SIZE = 'app_response_size_bytes';
const BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/** A promise the test resolves when it likes: what held handlers wait for. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** One request with a body sent in chunks, with no Content-Length (`Transfer-Encoding: chunked`). */
function sendChunked(base: string, path: string, chunks: string[]): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: 'POST', path, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

/** The app every test drives: held, failing, streamed and sized routes. */
function routes(app: Express, held: { wait: Promise<void> }): void {
  app.get('/held', async (_req, res) => {
    await held.wait;
    res.send('done');
  });
  app.get('/excluded', async (_req, res) => {
    await held.wait;
    res.send('done');
  });
  app.get('/boom', () => {
    throw new Error('handler failure');
  });
  app.get('/fixed', (_req, res) => {
    res.send('x'.repeat(500));
  });
  app.get('/empty', (_req, res) => {
    res.status(204).end();
  });
  app.get('/stream', (_req, res) => {
    res.write('a'.repeat(100));
    res.write(Buffer.alloc(200));
    // Two bytes a character in UTF-8: counted as bytes, not characters.
    res.write('é'.repeat(25));
    res.end('b'.repeat(50));
  });
  app.post('/upload', (req, res) => {
    req.resume();
    req.on('end', () => res.send('ok'));
  });
  app.get('/not-modified', (_req, res) => {
    res.status(304).end();
  });
}

describe.each(FLAVOURS)('in flight and body sizes on %s', (_flavour, express) => {
  let metrics: MetricsHandle;
  let running: Running;
  let held: ReturnType<typeof gate>;

  async function start(options: RegisterMetricsOptions = {}): Promise<void> {
    held = gate();
    const app = express();
    metrics = registerMetrics(app, {
      endpoint: { mode: 'none' },
      excludePaths: ['/excluded'],
      inFlight: true,
      bodySizes: true,
      ...options,
    });
    app.get('/metrics', metrics.handler);
    routes(app, held);
    running = await listen(app);
  }

  afterEach(async () => {
    held.open();
    await running.close();
    await metrics.shutdown();
  });

  const inFlight = async (): Promise<number> =>
    samplesOf(await metrics.scrape(), IN_FLIGHT).reduce((n, s) => n + s.value, 0);

  it('counts 5 requests held open, then 0 once they end', async () => {
    await start();
    const replies = Array.from({ length: 5 }, () => get(running.url, '/held'));
    await until(inFlight, (n) => n === 5);
    const text = await metrics.scrape();
    expect(typeOf(text, IN_FLIGHT)).toBe('gauge');
    expect(samplesOf(text, IN_FLIGHT)).toEqual([
      { name: IN_FLIGHT, labels: { method: 'GET' }, value: 5 },
    ]);
    held.open();
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await until(inFlight, (n) => n === 0)).toBe(0);
    expect(valueOf(await metrics.scrape(), IN_FLIGHT, { method: 'GET' })).toBe(0);
  });

  it('counts an aborted request out when the client destroys its socket mid-handler', async () => {
    await start();
    const url = new URL(running.url);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    socket.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(inFlight, (n) => n === 1);
    socket.destroy();
    expect(await until(inFlight, (n) => n === 0)).toBe(0);
    // It ended as a request the client left: counted once, as 499.
    const text = await until(
      () => metrics.scrape(),
      (t) => samplesOf(t, 'app_request_count_total', { http_status: '499' }).length === 1,
    );
    expect(valueOf(text, 'app_request_count_total', { http_status: '499' })).toBe(1);
  });

  it('counts a failing request out (handler throws)', async () => {
    await start();
    expect((await get(running.url, '/boom')).status).toBe(500);
    const text = await metrics.scrape();
    expect(samplesOf(text, IN_FLIGHT)).toEqual([
      { name: IN_FLIGHT, labels: { method: 'GET' }, value: 0 },
    ]);
  });

  it('is 0 while a kept-alive connection is idle', async () => {
    await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const url = new URL(running.url);
      const once = (): Promise<number> =>
        new Promise((resolve, reject) => {
          httpRequest({ host: url.hostname, port: url.port, path: '/fixed', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
            .on('error', reject)
            .end();
        });
      expect([await once(), await once(), await once()]).toEqual([200, 200, 200]);
      // The connection is still open, idle in the agent's pool.
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
      expect(valueOf(await metrics.scrape(), IN_FLIGHT, { method: 'GET' })).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it('never counts excluded paths or the metrics endpoint', async () => {
    await start();
    const excluded = get(running.url, '/excluded');
    // The scrape through the mounted handler, while an excluded request is held.
    await until(
      () => get(running.url, '/metrics'),
      (r) => r.status === 200,
    );
    const scraped = await get(running.url, '/metrics');
    // The mounted handler's scrape is only known as one once the handler runs, which counts it
    // out at once: its series is there, at 0, during the scrape.
    expect(samplesOf(scraped.body, IN_FLIGHT)).toEqual([
      { name: IN_FLIGHT, labels: { method: 'GET' }, value: 0 },
    ]);
    expect(samplesOf(scraped.body, 'app_request_count_total')).toEqual([]);
    held.open();
    expect((await excluded).status).toBe(200);
    expect(samplesOf(await metrics.scrape(), IN_FLIGHT)).toEqual([
      { name: IN_FLIGHT, labels: { method: 'GET' }, value: 0 },
    ]);
  });

  it('records body sizes: Content-Length, empty, chunked, streamed, HEAD and 304', async () => {
    await start();
    const body = 'y'.repeat(1000);
    expect(
      (await sendRaw(running.url, 'POST', '/upload', { 'content-type': 'text/plain' }, body))
        .status,
    ).toBe(200);
    expect((await get(running.url, '/fixed')).body).toHaveLength(500);
    expect((await get(running.url, '/empty')).status).toBe(204);
    const streamed = await sendRaw(running.url, 'GET', '/stream');
    expect(streamed.headers['transfer-encoding']).toBe('chunked');
    expect(streamed.body).toHaveLength(400);
    expect(await sendChunked(running.url, '/upload', ['abc', 'defg', 'h'])).toBe(200);
    const head = await send(running.url, 'HEAD', '/fixed');
    expect([head.status, head.headers['content-length']]).toEqual([200, '500']);
    expect((await get(running.url, '/not-modified')).status).toBe(304);

    const text = await until(
      () => metrics.scrape(),
      (t) => samplesOf(t, `${RESPONSE_SIZE}_count`).reduce((n, s) => n + s.value, 0) === 7,
    );
    const sizeOf = (name: string, method: string, endpoint: string) => ({
      count: valueOf(text, `${name}_count`, { method, endpoint }),
      sum: valueOf(text, `${name}_sum`, { method, endpoint }),
    });
    // Requests: the upload's Content-Length; 0 where there is no body; the chunked upload none.
    expect(sizeOf(REQUEST_SIZE, 'POST', '/upload')).toEqual({ count: 1, sum: 1000 });
    expect(sizeOf(REQUEST_SIZE, 'GET', '/fixed')).toEqual({ count: 1, sum: 0 });
    expect(sizeOf(REQUEST_SIZE, 'HEAD', '/fixed')).toEqual({ count: 1, sum: 0 });
    expect(valueOf(text, `${REQUEST_SIZE}_bucket`, { endpoint: '/upload', le: '1024' })).toBe(1);
    expect(valueOf(text, `${REQUEST_SIZE}_bucket`, { endpoint: '/upload', le: '256' })).toBe(0);
    // Responses: bytes written; 0 for 204, HEAD and 304.
    expect(sizeOf(RESPONSE_SIZE, 'GET', '/fixed')).toEqual({ count: 1, sum: 500 });
    expect(sizeOf(RESPONSE_SIZE, 'GET', '/stream')).toEqual({ count: 1, sum: 400 });
    expect(sizeOf(RESPONSE_SIZE, 'GET', '/empty')).toEqual({ count: 1, sum: 0 });
    expect(sizeOf(RESPONSE_SIZE, 'HEAD', '/fixed')).toEqual({ count: 1, sum: 0 });
    expect(sizeOf(RESPONSE_SIZE, 'GET', '/not-modified')).toEqual({ count: 1, sum: 0 });
    expect(sizeOf(RESPONSE_SIZE, 'POST', '/upload')).toEqual({ count: 2, sum: 4 });
    // The documented buckets, and the latency histogram's labels.
    const bounds = samplesOf(text, `${RESPONSE_SIZE}_bucket`, { endpoint: '/stream' }).map(
      (s) => s.labels.le,
    );
    expect(bounds).toEqual([...BUCKETS.map(String), '+Inf']);
    for (const s of samplesOf(text, `${RESPONSE_SIZE}_count`)) {
      expect(Object.keys(s.labels).sort()).toEqual(['endpoint', 'method']);
    }
  });

  it('records neither by default, and leaves res.write alone', async () => {
    held = gate();
    const app = express();
    metrics = registerMetrics(app, { endpoint: { mode: 'none' } });
    let wrapped: boolean | undefined;
    app.get('/', (_req, res) => {
      wrapped = res.write !== ServerResponse.prototype.write;
      res.send('ok');
    });
    running = await listen(app);
    await get(running.url, '/');
    expect(wrapped).toBe(false);
    const text = await until(
      () => metrics.scrape(),
      (t) => samplesOf(t, 'app_request_count_total').length === 1,
    );
    for (const name of [IN_FLIGHT, REQUEST_SIZE, RESPONSE_SIZE]) {
      expect([name, typeOf(text, name)]).toEqual([name, undefined]);
    }
  });
});

describe('in flight and body sizes with naming semconv', () => {
  it('records http.server.active_requests and the body sizes with their attributes', async () => {
    const express = FLAVOURS[1]![1];
    const held = gate();
    const reader = new InMemoryReader();
    const app = express();
    const metrics = registerMetrics(app, {
      naming: 'semconv',
      endpoint: { mode: 'none' },
      exporters: ['prometheus', reader],
      inFlight: true,
      bodySizes: true,
    });
    routes(app, held);
    const running = await listen(app);
    const active = { 'http.request.method': 'GET', 'url.scheme': 'http' };
    try {
      const replies = Array.from({ length: 5 }, () => get(running.url, '/held'));
      const during = await until(
        () => reader.metrics(),
        (m) =>
          m.has('http.server.active_requests') &&
          valueAt(metricOf(m, 'http.server.active_requests'), active) === 5,
      );
      expect(valueAt(metricOf(during, 'http.server.active_requests'), active)).toBe(5);
      held.open();
      await Promise.all(replies);
      expect((await get(running.url, '/stream')).status).toBe(200);
      await sendRaw(running.url, 'POST', '/upload', {}, 'z'.repeat(70));
      const after = await reader.metrics();
      expect(valueAt(metricOf(after, 'http.server.active_requests'), active)).toBe(0);

      const base = { 'url.scheme': 'http', 'network.protocol.version': '1.1' };
      const points = (name: string) =>
        histogramPoints(metricOf(after, name))
          .map((p) => ({ attributes: p.attributes, count: p.value.count, sum: p.value.sum }))
          .sort((a, b) =>
            String(a.attributes['http.route']).localeCompare(String(b.attributes['http.route'])),
          );
      const held5 = {
        ...base,
        'http.request.method': 'GET',
        'http.route': '/held',
        'http.response.status_code': 200,
      };
      const stream = {
        ...base,
        'http.request.method': 'GET',
        'http.route': '/stream',
        'http.response.status_code': 200,
      };
      const upload = {
        ...base,
        'http.request.method': 'POST',
        'http.route': '/upload',
        'http.response.status_code': 200,
      };
      expect(points('http.server.request.body.size')).toEqual([
        { attributes: held5, count: 5, sum: 0 },
        { attributes: stream, count: 1, sum: 0 },
        { attributes: upload, count: 1, sum: 70 },
      ]);
      expect(points('http.server.response.body.size')).toEqual([
        { attributes: held5, count: 5, sum: 20 },
        { attributes: stream, count: 1, sum: 400 },
        { attributes: upload, count: 1, sum: 2 },
      ]);
      expect(metricOf(after, 'http.server.response.body.size').descriptor.unit).toBe('By');
      // The endpoint writes them under Prometheus' OTLP names.
      const text = await metrics.scrape();
      expect(typeOf(text, 'http_server_active_requests')).toBe('gauge');
      expect(typeOf(text, 'http_server_request_body_size_bytes')).toBe('histogram');
      expect(typeOf(text, 'http_server_response_body_size_bytes')).toBe('histogram');
    } finally {
      held.open();
      await running.close();
      await metrics.shutdown();
    }
  });
});

describe('the cluster merge rules of the new series', () => {
  it('adds up what is in flight over the live processes only', () => {
    expect(CLUSTER_GAUGE_MERGE['app_requests_in_flight']).toBe('sum');
    expect(CLUSTER_GAUGE_MERGE['http.server.active_requests']).toBe('sum');
    // Histograms are totals by their kind, as the latency's are: no gauge rule.
    expect(CLUSTER_GAUGE_MERGE['app_response_size_bytes']).toBeUndefined();
  });
});
