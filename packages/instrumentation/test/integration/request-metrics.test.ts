import { connect } from 'node:net';
import type { Express, NextFunction, Request, Response } from 'express';
import { registerMetrics, type MetricsHandle } from '../../src/index';
import { FLAVOURS, listen, type Running } from '../helpers/apps';
import { labelValues, samplesOf, typeOf, valueOf } from '../helpers/exposition';
import { get, send } from '../helpers/request';
import { sleep, until } from '../helpers/wait';

const COUNT = 'app_request_count_total';
const LATENCY = 'app_request_latency_seconds';

describe.each(FLAVOURS)('request metrics on %s', (flavour, express) => {
  let metrics: MetricsHandle;
  let running: Running;

  async function total(): Promise<number> {
    const text = await metrics.scrape();
    return samplesOf(text, COUNT).reduce((sum, s) => sum + s.value, 0);
  }

  /** Scrapes once the counter has reached `expected` requests in all. */
  async function scrapeAfter(expected: number): Promise<string> {
    await until(total, (n) => n >= expected);
    return metrics.scrape();
  }

  beforeEach(async () => {
    const app: Express = express();
    // Declared before registerMetrics on purpose: it must be measured all the same.
    app.get('/declared-before', (_req, res) => {
      res.send('before');
    });
    metrics = registerMetrics(app, {
      appVersion: 'v0.1.2',
      appConfig: 'staging',
      endpoint: { mode: 'none' },
      excludePaths: ['/healthz', /^\/internal\//],
    });
    app.get('/', (_req, res) => {
      res.send('Test');
    });
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.get('/healthz', (_req, res) => {
      res.send('ok');
    });
    app.get('/internal/state', (_req, res) => {
      res.send('ok');
    });
    app.get('/slow', (_req, res) => {
      setTimeout(() => res.send('slow'), 120);
    });
    app.get('/hang', () => {
      // never answers: the client gives up
    });
    app.get('/sync-throw', () => {
      throw new Error('sync failure');
    });
    app.get('/next-error', (_req: Request, _res: Response, next: NextFunction) => {
      next(new Error('passed to next'));
    });
    app.get('/async-reject', (async () => {
      await sleep(1);
      throw new Error('async failure');
    }) as unknown as () => void);

    const items = express.Router();
    items.get('/items/:itemId', (_req, res) => {
      res.send('item');
    });
    app.use('/api/orders/:orderId', items);

    const api = express.Router();
    const tenant = express.Router();
    tenant.get('/things/:thing', (_req, res) => {
      res.send('thing');
    });
    api.use('/v1/:tenant', tenant);
    app.use('/api', api);

    const shared = express.Router();
    shared.get('/ping', (_req, res) => {
      res.send('pong');
    });
    app.use('/v1', shared);
    app.use('/v2', shared);

    const sub = express();
    sub.get('/s/:q', (_req, res) => {
      res.send('sub');
    });
    app.use('/sub/:x', sub);

    running = await listen(app);
  });

  afterEach(async () => {
    await running.close();
    await metrics.shutdown();
  });

  it('labels each request with the route template, mounts included', async () => {
    const paths: Array<[string, string]> = [
      ['/', '/'],
      ['/users/1', '/users/:id'],
      ['/users/2', '/users/:id'],
      ['/declared-before', '/declared-before'],
      ['/api/orders/42/items/7', '/api/orders/:orderId/items/:itemId'],
      ['/api/v1/acme/things/3', '/api/v1/:tenant/things/:thing'],
      ['/v1/ping', '/v1/ping'],
      ['/v2/ping', '/v2/ping'],
      ['/sub/1/s/2', '/sub/:x/s/:q'],
    ];
    for (const [path] of paths) expect((await get(running.url, path)).status).toBe(200);
    const text = await scrapeAfter(paths.length);

    const expected = new Map<string, number>();
    for (const [, endpoint] of paths) expected.set(endpoint, (expected.get(endpoint) ?? 0) + 1);
    for (const [endpoint, n] of expected) {
      expect(valueOf(text, COUNT, { method: 'GET', endpoint, http_status: '200' })).toBe(n);
      expect(valueOf(text, `${LATENCY}_count`, { method: 'GET', endpoint })).toBe(n);
    }
    expect(labelValues(text, COUNT, 'endpoint')).toEqual([...expected.keys()].sort());
    expect(typeOf(text, 'app_request_count_total')).toBe('counter');
    expect(typeOf(text, LATENCY)).toBe('histogram');
  });

  it('keeps the histogram consistent: cumulative buckets, +Inf equals count, plausible sum', async () => {
    await get(running.url, '/slow');
    await get(running.url, '/users/9');
    const text = await scrapeAfter(2);
    const labels = { method: 'GET', endpoint: '/slow' };
    const buckets = samplesOf(text, `${LATENCY}_bucket`, labels);
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.075',
      '0.1',
      '0.25',
      '0.5',
      '0.75',
      '1',
      '2.5',
      '5',
      '7.5',
      '10',
      '+Inf',
    ]);
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    }
    expect(valueOf(text, `${LATENCY}_bucket`, { ...labels, le: '0.1' })).toBe(0);
    expect(valueOf(text, `${LATENCY}_bucket`, { ...labels, le: '0.25' })).toBe(1);
    expect(valueOf(text, `${LATENCY}_bucket`, { ...labels, le: '+Inf' })).toBe(1);
    const sum = valueOf(text, `${LATENCY}_sum`, labels);
    expect(sum).toBeGreaterThanOrEqual(0.115);
    expect(sum).toBeLessThan(1);
    const fast = valueOf(text, `${LATENCY}_sum`, { method: 'GET', endpoint: '/users/:id' });
    expect(fast).toBeGreaterThan(0);
    expect(fast).toBeLessThan(0.1);
  });

  it('gives every unmatched path one endpoint value', async () => {
    const n = 1000;
    for (let i = 0; i < n; i++) {
      const junk = Math.random().toString(36).slice(2);
      await get(running.url, `/${junk}/${i}/wp-login.php?x=${junk}`);
    }
    const text = await scrapeAfter(n);
    expect(labelValues(text, COUNT, 'endpoint')).toEqual(['<unmatched>']);
    expect(
      valueOf(text, COUNT, { method: 'GET', endpoint: '<unmatched>', http_status: '404' }),
    ).toBe(n);
    expect(samplesOf(text, `${LATENCY}_count`)).toHaveLength(1);
  });

  it('maps methods outside the standard set to _OTHER, and keeps HEAD and QUERY', async () => {
    expect((await send(running.url, 'PROPFIND', '/users/1')).status).toBe(404);
    expect((await send(running.url, 'MKCOL', '/users/1')).status).toBe(404);
    expect((await send(running.url, 'HEAD', '/users/1')).status).toBe(200);
    expect((await send(running.url, 'QUERY', '/')).status).toBe(404);
    const text = await scrapeAfter(4);
    expect(
      valueOf(text, COUNT, { method: '_OTHER', endpoint: '<unmatched>', http_status: '404' }),
    ).toBe(2);
    expect(
      valueOf(text, COUNT, { method: 'HEAD', endpoint: '/users/:id', http_status: '200' }),
    ).toBe(1);
    expect(
      valueOf(text, COUNT, { method: 'QUERY', endpoint: '<unmatched>', http_status: '404' }),
    ).toBe(1);
    expect(labelValues(text, COUNT, 'method')).toEqual(['HEAD', 'QUERY', '_OTHER']);
  });

  it('counts failing handlers with the status Express sent', async () => {
    expect((await get(running.url, '/sync-throw')).status).toBe(500);
    expect((await get(running.url, '/next-error')).status).toBe(500);
    const routes = ['/sync-throw', '/next-error'];
    if (flavour === 'Express 5') {
      // Express 4 does not catch rejected promises; the request would hang.
      expect((await get(running.url, '/async-reject')).status).toBe(500);
      routes.push('/async-reject');
    }
    const text = await scrapeAfter(routes.length);
    for (const endpoint of routes) {
      expect(valueOf(text, COUNT, { method: 'GET', endpoint, http_status: '500' })).toBe(1);
    }
  });

  it('counts a request whose client went away as 499, with its latency up to the close', async () => {
    const port = Number(new URL(running.url).port);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(150);
    socket.destroy();
    const text = await scrapeAfter(1);
    expect(valueOf(text, COUNT, { method: 'GET', endpoint: '/hang', http_status: '499' })).toBe(1);
    const sum = valueOf(text, `${LATENCY}_sum`, { method: 'GET', endpoint: '/hang' });
    expect(sum).toBeGreaterThanOrEqual(0.1);
    expect(sum).toBeLessThan(5);
  });

  it('does not measure excluded paths', async () => {
    expect((await get(running.url, '/healthz')).status).toBe(200);
    expect((await get(running.url, '/internal/state?verbose=1')).status).toBe(200);
    expect((await get(running.url, '/')).status).toBe(200);
    const text = await scrapeAfter(1);
    await sleep(50);
    expect(await total()).toBe(1);
    expect(labelValues(text, COUNT, 'endpoint')).toEqual(['/']);
  });

  it('exports app_version_info and no scope labels or target_info', async () => {
    await get(running.url, '/');
    const text = await scrapeAfter(1);
    expect(valueOf(text, 'app_version_info', { version: 'v0.1.2', config: 'staging' })).toBe(1);
    expect(typeOf(text, 'app_version_info')).toBe('gauge');
    expect(text).not.toMatch(/otel_scope_/);
    expect(text).not.toMatch(/target_info/);
  });
});
