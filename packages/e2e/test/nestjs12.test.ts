import { join } from 'node:path';
import { start, waitFor, type Started } from './helpers/processes';

/*
 * A real NestJS 12 app, instrumented as the README's NestJS section says. Nest 12 is ESM only, so
 * jest cannot load it: the app is a plain ESM script (fixtures/nest12-app.mjs) run by `node`
 * against the built library, as users run it. Each handler is an Express route whose path is the
 * whole template (`/api/v1/v2/cats/:id`), so that is the label. Under a global prefix, Nest 12
 * answers an unknown path with a route of its own (`router.all('*path')` in a router mounted at
 * the prefix); a 404 of a wildcard route is `<unmatched>`, as is one of its not-found middleware
 * (no prefix) or of Express itself (outside the prefix).
 */

const APP = join(__dirname, 'fixtures', 'nest12-app.mjs');
const COUNT = 'app_request_count_total';
const UNMATCHED = '<unmatched>';

interface Nest12 {
  started: Started;
  url: string;
  metricsUrl: string;
}

/** The fixture with NEST_PREFIX set, once it says both servers listen. */
async function startNest12(prefix: string): Promise<Nest12> {
  const started = start(process.execPath, [APP], { NEST_PREFIX: prefix });
  const line = (what: string): string | undefined =>
    new RegExp(`^${what} on (\\S+)$`, 'm').exec(started.output())?.[1];
  const up = await waitFor(
    async () => line('nest') !== undefined && line('metrics') !== undefined,
    15000,
    50,
  );
  if (!up) {
    await started.stop();
    throw new Error(`the NestJS 12 app did not start:\n${started.output()}`);
  }
  return { started, url: line('nest') as string, metricsUrl: line('metrics') as string };
}

/** One request, with the status it must get and the `endpoint` label it must be counted under. */
type Case = [method: string, path: string, status: number, endpoint: string];

/** Every request and its labels; `p` is the global prefix as Express sees it ('' or '/api/v1'). */
function cases(p: string): Case[] {
  return [
    ['GET', `${p}/users/1`, 200, `${p}/users/:id`],
    ['GET', `${p}/users/2`, 200, `${p}/users/:id`],
    ['POST', `${p}/users`, 201, `${p}/users`],
    ['GET', `${p}/users/1/secret`, 401, `${p}/users/:id/secret`],
    ['GET', `${p}/users/1/admin`, 403, `${p}/users/:id/admin`],
    ['GET', `${p}/users/1/teapot`, 418, `${p}/users/:id/teapot`],
    ['GET', `${p}/users/1/stock`, 409, `${p}/users/:id/stock`],
    ['GET', `${p}/users/1/crash`, 500, `${p}/users/:id/crash`],
    ['GET', `${p}/v2/cats/7`, 200, `${p}/v2/cats/:id`],
    // The root handler: `/` without a prefix, the prefix itself with one.
    ['GET', p === '' ? '/' : p, 200, p === '' ? '/' : p],
    // Not found: an unknown version, method, path under the prefix, path outside it.
    ['GET', `${p}/v1/cats/7`, 404, UNMATCHED],
    ['DELETE', `${p}/users/1`, 404, UNMATCHED],
    ['GET', `${p}/nope/1`, 404, UNMATCHED],
    ['GET', '/api/v1/nope', 404, UNMATCHED],
    ['GET', '/elsewhere', 404, UNMATCHED],
  ];
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** `method endpoint status = value` of each sample of the request counter, sorted. */
function countSeries(text: string): string[] {
  const rows: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (m?.[1] !== COUNT) continue;
    const labels = Object.fromEntries(
      [...(m[2] as string).matchAll(LABEL)].map((l) => [l[1], l[2]]),
    );
    rows.push(`${labels.method} ${labels.endpoint} ${labels.http_status} = ${Number(m[3])}`);
  }
  return rows.sort();
}

const total = (rows: string[]): number =>
  rows.reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(' ') + 1)), 0);

const PREFIXES: Array<[string, string, string]> = [
  ['with the global prefix api/v1', 'api/v1', '/api/v1'],
  ['without a global prefix', '', ''],
];

describe.each(PREFIXES)('a NestJS 12 app %s', (_name, prefix, p) => {
  let nest: Nest12;

  beforeAll(async () => {
    nest = await startNest12(prefix);
  });

  afterAll(async () => {
    await nest?.started.stop();
  });

  it('labels each request with the Express path Nest registered, every 404 <unmatched>', async () => {
    const all = cases(p);
    for (const [method, path, status] of all) {
      const res = await fetch(`${nest.url}${path}`, { method });
      await res.arrayBuffer();
      expect([method, path, res.status]).toEqual([method, path, status]);
    }
    const expected = new Map<string, number>();
    for (const [method, , status, endpoint] of all) {
      const key = `${method} ${endpoint} ${status}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }

    let rows: string[] = [];
    await waitFor(
      async () => {
        rows = countSeries(await (await fetch(nest.metricsUrl)).text());
        return total(rows) >= all.length;
      },
      5000,
      50,
    );
    expect(rows).toEqual([...expected].map(([key, n]) => `${key} = ${n}`).sort());
  });

  it('exits with code 0 on SIGTERM (app.close(), then the handle shutdown())', async () => {
    await nest.started.stop();
    const { child } = nest.started;
    expect([child.exitCode, child.signalCode]).toEqual([0, null]);
    expect(nest.started.output()).not.toMatch(/error/i);
  });
});
