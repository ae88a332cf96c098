import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express, Request, Response } from 'express';
import { registerMetrics, type MetricsHandle } from '../../src/index';
import { FLAVOURS, listen, type Running } from '../helpers/apps';
import { samplesOf } from '../helpers/exposition';
import { send } from '../helpers/request';
import { until } from '../helpers/wait';

const COUNT = 'app_request_count_total';

type ExpressFactory = (typeof FLAVOURS)[number][1];
type Flavour = 'Express 4' | 'Express 5';

/**
 * One routing form: the app declares it, then each request is sent and must be counted under
 * exactly `endpoint` with `status`.
 */
interface Form {
  name: string;
  build: (app: Express, express: ExpressFactory, flavour: Flavour) => void;
  /** Settings that must be set before the router exists. */
  settings?: Record<string, unknown>;
  requests: (flavour: Flavour) => Array<{ path: string; endpoint: string; status: number }>;
}

const ok = (_req: Request, res: Response): void => {
  res.send('ok');
};

const staticDir = mkdtempSync(join(tmpdir(), 'routing-forms-'));
writeFileSync(join(staticDir, 'app.js'), 'console.log(1);\n');
afterAll(() => rmSync(staticDir, { recursive: true, force: true }));

const FORMS: Form[] = [
  {
    name: 'a RegExp route keeps its trailing slash',
    build: (app) => {
      app.get(/\/y\//, ok);
    },
    requests: () => [{ path: '/y/', endpoint: '/\\/y\\//', status: 200 }],
  },
  {
    name: 'a RegExp route in a mounted router follows the mount path',
    build: (app, express) => {
      const router = express.Router();
      router.get(/^\/z\d+$/, ok);
      app.use('/re', router);
    },
    requests: () => [{ path: '/re/z12', endpoint: '/re/^\\/z\\d+$/', status: 200 }],
  },
  {
    name: 'a router mounted on an array of paths is labelled by the path that matched',
    build: (app, express) => {
      const router = express.Router();
      router.get('/ping/:n', ok);
      app.use(['/v1', '/v2'], router);
    },
    requests: () => [
      { path: '/v1/ping/1', endpoint: '/v1/ping/:n', status: 200 },
      { path: '/v2/ping/2', endpoint: '/v2/ping/:n', status: 200 },
      { path: '/v2/ping/3', endpoint: '/v2/ping/:n', status: 200 },
    ],
  },
  {
    name: 'an array mount with parameters names each alternative',
    build: (app, express) => {
      const router = express.Router({ mergeParams: true });
      router.get('/items/:item', ok);
      app.use(['/shops/:shop', '/mine'], router);
    },
    requests: () => [
      { path: '/shops/7/items/1', endpoint: '/shops/:shop/items/:item', status: 200 },
      { path: '/mine/items/2', endpoint: '/mine/items/:item', status: 200 },
    ],
  },
  {
    name: 'a route declared with an array of paths is labelled by the path that matched',
    build: (app) => {
      app.get(['/a/:x', '/b'], ok);
    },
    requests: () => [
      { path: '/a/1', endpoint: '/a/:x', status: 200 },
      { path: '/b', endpoint: '/b', status: 200 },
    ],
  },
  {
    name: 'a sub-app mounted on a Router keeps the paths above it',
    build: (app, express) => {
      const sub = express();
      sub.get('/x/:id', ok);
      const router = express.Router();
      router.use('/r', sub);
      app.use('/top', router);
    },
    requests: () => [{ path: '/top/r/x/5', endpoint: '/top/r/x/:id', status: 200 }],
  },
  {
    name: 'a sub-app mounted on an array of paths, inside a sub-app',
    build: (app, express) => {
      const inner = express();
      inner.get('/k', ok);
      const outer = express();
      outer.use(['/s1', '/s2'], inner);
      app.use('/outer', outer);
    },
    requests: () => [
      { path: '/outer/s1/k', endpoint: '/outer/s1/k', status: 200 },
      { path: '/outer/s2/k', endpoint: '/outer/s2/k', status: 200 },
    ],
  },
  {
    name: 'strict routing keeps a trailing slash',
    settings: { 'strict routing': true },
    build: (app, express) => {
      app.get('/s/', ok);
      app.get('/s', ok);
      const router = express.Router({ strict: true });
      router.get('/t/', ok);
      app.use('/st', router);
    },
    requests: () => [
      { path: '/s/', endpoint: '/s/', status: 200 },
      { path: '/s', endpoint: '/s', status: 200 },
      { path: '/st/t/', endpoint: '/st/t/', status: 200 },
    ],
  },
  {
    name: 'a trailing slash declared without strict routing is kept as declared',
    build: (app, express) => {
      app.get('/ns/', ok);
      const router = express.Router();
      router.get('/', ok);
      app.use('/api', router);
      const loose = express.Router();
      loose.get('/', ok);
      loose.get('/x', ok);
      app.use('/m/', loose);
    },
    requests: () => [
      { path: '/ns', endpoint: '/ns/', status: 200 },
      { path: '/ns/', endpoint: '/ns/', status: 200 },
      { path: '/api', endpoint: '/api', status: 200 },
      { path: '/api/', endpoint: '/api', status: 200 },
      { path: '/m', endpoint: '/m', status: 200 },
      { path: '/m/x', endpoint: '/m/x', status: 200 },
    ],
  },
  {
    name: "an app's own catch-all that answers 200 (an SPA fallback) keeps its template",
    build: (app, _express, flavour) => {
      app.get('/known', ok);
      app.get(flavour === 'Express 4' ? '*' : '/*splat', (_req, res) => {
        res.send('<html>index</html>');
      });
    },
    requests: (flavour) => [
      { path: '/known', endpoint: '/known', status: 200 },
      {
        path: '/some/client/route',
        endpoint: flavour === 'Express 4' ? '*' : '/*splat',
        status: 200,
      },
    ],
  },
  {
    name: 'a catch-all that answers 404 counts as unmatched; a wildcard route that answers keeps it',
    build: (app, express, flavour) => {
      const api = express.Router();
      api.get(flavour === 'Express 4' ? '/files/*' : '/files/{*rest}', ok);
      api.all(flavour === 'Express 4' ? '*' : '/{*rest}', (_req, res) => {
        res.status(404).json({ error: 'not found' });
      });
      app.use('/api', api);
    },
    requests: (flavour) => [
      { path: '/api/nothing/here', endpoint: '<unmatched>', status: 404 },
      { path: '/api/also/not', endpoint: '<unmatched>', status: 404 },
      {
        path: '/api/files/a/b',
        endpoint: flavour === 'Express 4' ? '/api/files/*' : '/api/files/{*rest}',
        status: 200,
      },
    ],
  },
  {
    name: 'express.static answers without a route: <unmatched>, told apart by its status',
    build: (app, express) => {
      app.use('/assets', express.static(staticDir));
      app.get('/page', ok);
    },
    requests: () => [
      { path: '/assets/app.js', endpoint: '<unmatched>', status: 200 },
      { path: '/assets/missing.js', endpoint: '<unmatched>', status: 404 },
      { path: '/page', endpoint: '/page', status: 200 },
    ],
  },
];

describe.each(FLAVOURS)('routing forms on %s', (flavourName, express) => {
  const flavour = flavourName as Flavour;
  let metrics: MetricsHandle | undefined;
  let running: Running | undefined;

  afterEach(async () => {
    await running?.close();
    await metrics?.shutdown();
    running = undefined;
    metrics = undefined;
  });

  it.each(FORMS.map((f) => [f.name, f] as const))('%s', async (_name, form) => {
    const app: Express = express();
    for (const [key, value] of Object.entries(form.settings ?? {})) app.set(key, value);
    metrics = registerMetrics(app, { endpoint: { mode: 'none' } });
    form.build(app, express, flavour);
    running = await listen(app);
    const requests = form.requests(flavour);
    for (const r of requests) {
      expect({ path: r.path, status: (await send(running.url, 'GET', r.path)).status }).toEqual({
        path: r.path,
        status: r.status,
      });
    }
    const handle = metrics;
    await until(
      async () => samplesOf(await handle.scrape(), COUNT).reduce((n, s) => n + s.value, 0),
      (n) => n >= requests.length,
    );

    const expected = new Map<string, number>();
    for (const r of requests) {
      const key = JSON.stringify({ endpoint: r.endpoint, http_status: String(r.status) });
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const counted = new Map<string, number>();
    for (const s of samplesOf(await handle.scrape(), COUNT)) {
      expect(s.labels.method).toBe('GET');
      const key = JSON.stringify({
        endpoint: s.labels.endpoint,
        http_status: s.labels.http_status,
      });
      counted.set(key, s.value);
    }
    expect(counted).toEqual(expected);
  });

  it('does not count scrapes of a handler mounted on an app route as traffic', async () => {
    const app: Express = express();
    metrics = registerMetrics(app, { endpoint: { mode: 'none' } });
    const handle = metrics;
    app.get('/metrics', handle.handler);
    app.get('/work', ok);
    running = await listen(app);
    for (let i = 0; i < 3; i++)
      expect((await send(running.url, 'GET', '/metrics')).status).toBe(200);
    expect((await send(running.url, 'GET', '/work')).status).toBe(200);
    await until(
      async () => samplesOf(await handle.scrape(), COUNT).length,
      (n) => n >= 1,
    );
    // The last scrape is over too: its response closed before this one started.
    expect((await send(running.url, 'GET', '/metrics')).status).toBe(200);
    const samples = samplesOf(await handle.scrape(), COUNT);
    expect(samples.map((s) => [s.labels.endpoint, s.labels.http_status, s.value])).toEqual([
      ['/work', '200', 1],
    ]);
  });
});
