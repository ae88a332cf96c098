import { METHODS } from 'node:http';
import type { RequestHandler, Router } from 'express';
import fc from 'fast-check';
import { registerMetrics } from '../../src/index';
import { methodLabel, statusLabel } from '../../src/http/labels';
import {
  CLIENT_CLOSED_STATUS,
  KNOWN_METHODS,
  OTHER_METHOD,
  OTHER_STATUS,
  UNMATCHED_ENDPOINT,
} from '../../src/labels';
import { FLAVOURS, listen } from '../helpers/apps';
import { samplesOf } from '../helpers/exposition';
import { send } from '../helpers/request';
import { until } from '../helpers/wait';

const known = new Set(KNOWN_METHODS);
const METHOD_LABELS = new Set([...KNOWN_METHODS, OTHER_METHOD]);

describe('label bounding, for any input', () => {
  // Near misses of the known methods are where a loose comparison would let a value through.
  const nearMethods = fc
    .tuple(
      fc.constantFrom(...KNOWN_METHODS, ...METHODS),
      fc.constantFrom('', ' ', '\t', '\0', 'x'),
      fc.constantFrom<(s: string) => string>(
        (s) => s,
        (s) => s.toLowerCase(),
        (s) => s.charAt(0) + s.slice(1).toLowerCase(),
      ),
      fc.boolean(),
    )
    .map(([m, extra, recase, before]) => (before ? extra + recase(m) : recase(m) + extra));
  const anyString = fc.oneof(
    fc.string({ unit: 'binary' }),
    // Lone surrogates too, which the 'binary' unit leaves out.
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
    nearMethods,
  );

  it('methodLabel keeps exactly the known methods and folds every other string into _OTHER', () => {
    fc.assert(
      fc.property(anyString, (method) => {
        const label = methodLabel(method);
        expect(METHOD_LABELS.has(label)).toBe(true);
        expect(label).toBe(known.has(method) ? method : OTHER_METHOD);
      }),
      { numRuns: 2000 },
    );
    expect(methodLabel(undefined)).toBe(OTHER_METHOD);
    for (const m of KNOWN_METHODS) expect(methodLabel(m)).toBe(m);
  });

  it('statusLabel keeps 100-599 as written, gives 499 for a client gone and "other" otherwise', () => {
    const anyStatus = fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double(),
    );
    fc.assert(
      fc.property(anyStatus, fc.boolean(), (status, clientClosed) => {
        const inRange = Number.isInteger(status) && status >= 100 && status <= 599;
        const expected = clientClosed
          ? CLIENT_CLOSED_STATUS
          : inRange
            ? String(status)
            : OTHER_STATUS;
        expect(statusLabel(status, clientClosed)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });
});

/* Random apps: routers and sub-apps nested at literal or `:param` mount paths. */

type Segment = { param: false; text: string } | { param: true };
type RouteVerb = 'get' | 'post' | 'put' | 'delete' | 'patch' | 'all';

interface RouteSpec {
  kind: 'route';
  verb: RouteVerb;
  path: Segment[];
}

interface MountSpec {
  kind: 'mount';
  /** A Router, or an app of its own (mounted the way it is in real code: with `use`). */
  as: 'router' | 'app';
  path: Segment[];
  children: ChildSpec[];
}

type ChildSpec = RouteSpec | MountSpec;

/** A route as the generator declared it: the segments from the root, and the expected label. */
interface Declared {
  segments: Segment[];
  template: string;
}

// Few distinct literals, so that paths of different routes share prefixes and collide.
const literal = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('a', 'b', 'api', 'v1', 'users', 'x-y', 'it_em', 'f.json'),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._~-]{0,5}$/) },
);
const segment: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 3, arbitrary: literal.map((text) => ({ param: false as const, text })) },
  { weight: 1, arbitrary: fc.constant({ param: true as const }) },
);
const route: fc.Arbitrary<RouteSpec> = fc.record({
  kind: fc.constant('route' as const),
  verb: fc.constantFrom<RouteVerb>('get', 'post', 'put', 'delete', 'patch', 'all'),
  path: fc.array(segment, { maxLength: 3 }),
});

// Sub-apps go where Express documents them, under an app's `use` (which records the mount path
// on the sub-app); one under a Router is a known gap, kept as a failing case further down.
function childrenOf(levels: number, parentIsApp: boolean): fc.Arbitrary<ChildSpec[]> {
  if (levels === 0) return fc.array(route, { minLength: 1, maxLength: 4 });
  const mounts = parentIsApp
    ? [mountOf('router', levels), mountOf('app', levels)]
    : [mountOf('router', levels)];
  return fc.array(fc.oneof({ weight: 2, arbitrary: route }, ...mounts), {
    minLength: 1,
    maxLength: 4,
  });
}

function mountOf(as: MountSpec['as'], levels: number): fc.Arbitrary<MountSpec> {
  return fc.record({
    kind: fc.constant('mount' as const),
    as: fc.constant(as),
    path: fc.array(segment, { maxLength: 2 }),
    children: childrenOf(levels - 1, as === 'app'),
  });
}

/** The root's children: at least one mount, so that every app nests 1 to 3 levels deep. */
const tree: fc.Arbitrary<ChildSpec[]> = fc
  .tuple(fc.oneof(mountOf('router', 3), mountOf('app', 3)), childrenOf(3, true), fc.nat())
  .map(([mount, rest, at]) => {
    const children = [...rest];
    children.splice(at % (children.length + 1), 0, mount);
    return children;
  });

/** The declared path of one route or mount; parameters are named by position. */
function pathOf(segments: readonly Segment[]): string {
  return `/${segments.map((s, i) => (s.param ? `:p${i}` : s.text)).join('/')}`;
}

/** The mount paths and the route path, one slash apart, as the endpoint label shows them. */
function templateOf(paths: readonly string[]): string {
  const joined = paths.filter((p) => p !== '/').join('');
  return joined === '' ? '/' : joined;
}

type ExpressFactory = (typeof FLAVOURS)[number][1];

/** Declares `children` on `parent`; each route answers with its own template in a header. */
function build(
  express: ExpressFactory,
  parent: Router,
  children: readonly ChildSpec[],
  mountPaths: readonly string[],
  mountSegments: readonly Segment[],
  declared: Declared[],
): void {
  for (const child of children) {
    const path = pathOf(child.path);
    if (child.kind === 'route') {
      const template = templateOf([...mountPaths, path]);
      declared.push({ segments: [...mountSegments, ...child.path], template });
      const answer: RequestHandler = (_req, res) => {
        res.set('x-template', template).send('routed');
      };
      parent[child.verb](path, answer);
    } else {
      const within = [
        [...mountPaths, path],
        [...mountSegments, ...child.path],
      ] as const;
      if (child.as === 'app') {
        const sub = express();
        build(express, sub, child.children, ...within, declared);
        parent.use(path, sub);
      } else {
        const sub = express.Router();
        build(express, sub, child.children, ...within, declared);
        parent.use(path, sub);
      }
    }
  }
}

/* Requests: a declared route's path with random parameter values, or a path of random segments. */

// Three mounts of up to two segments and a route of up to three.
const MAX_SEGMENTS = 3 * 2 + 3;
const APP_METHODS = METHODS.filter((m) => m !== 'CONNECT'); // Node never passes CONNECT to an app
const paramValue = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).map(encodeURIComponent),
  // Not valid percent-encoding: Express cannot decode these as parameters.
  fc.constantFrom('%', '%zz', '%E0%A4%A', '.', '..'),
);

interface RequestSpec {
  method: string;
  target:
    | { kind: 'declared'; pick: number; values: string[]; upper: boolean; extra: string | null }
    | { kind: 'random'; segments: string[] };
  trailingSlash: boolean;
  query: string | null;
}

const requestSpec: fc.Arbitrary<RequestSpec> = fc.record({
  method: fc.constantFrom(...APP_METHODS),
  target: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('declared' as const),
        pick: fc.nat(),
        values: fc.array(paramValue, { minLength: MAX_SEGMENTS, maxLength: MAX_SEGMENTS }),
        upper: fc.boolean(),
        extra: fc.option(fc.oneof(literal, paramValue)),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('random' as const),
        segments: fc.array(fc.oneof(literal, paramValue), { maxLength: 5 }),
      }),
    },
  ),
  trailingSlash: fc.boolean(),
  query: fc.option(fc.string({ unit: 'binary', maxLength: 8 }).map(encodeURIComponent)),
});

function pathFor(spec: RequestSpec, declared: readonly Declared[]): string {
  let segments: string[];
  const { target } = spec;
  if (target.kind === 'declared') {
    const chosen = declared[target.pick % declared.length] as Declared;
    segments = chosen.segments.map((s, i) =>
      s.param ? (target.values[i] as string) : target.upper ? s.text.toUpperCase() : s.text,
    );
    if (target.extra !== null) segments.push(target.extra);
  } else {
    segments = target.segments;
  }
  let path = `/${segments.join('/')}`;
  if (spec.trailingSlash && path !== '/') path += '/';
  return spec.query === null ? path : `${path}?${spec.query}`;
}

interface Series {
  labels: Record<string, string>;
  value: number;
}

const byLabels = (a: Series, b: Series): number =>
  JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels));

/**
 * Builds the app, sends the requests over loopback and checks the request series against what
 * the client saw: each request is counted under the template of the route that answered it (that
 * route's header says which) or `<unmatched>`, with a bounded method label.
 */
async function checkLabels(
  express: ExpressFactory,
  children: readonly ChildSpec[],
  requests: readonly RequestSpec[],
): Promise<void> {
  const app = express();
  const metrics = registerMetrics(app, {
    endpoint: { mode: 'none' },
    collectors: { process: false, runtime: false, gc: false, eventLoop: false },
  });
  const declared: Declared[] = [];
  build(express, app, children, [], [], declared);
  const running = await listen(app);
  try {
    const expected = new Map<string, Series>();
    await Promise.all(
      requests.map(async (spec) => {
        const reply = await send(running.url, spec.method, pathFor(spec, declared));
        const answered = reply.headers['x-template'];
        const labels = {
          method: known.has(spec.method) ? spec.method : OTHER_METHOD,
          endpoint: typeof answered === 'string' ? answered : UNMATCHED_ENDPOINT,
          http_status: String(reply.status),
        };
        const key = JSON.stringify(labels);
        const series = expected.get(key) ?? { labels, value: 0 };
        series.value++;
        expected.set(key, series);
      }),
    );
    const text = await until(
      () => metrics.scrape(),
      (t) =>
        samplesOf(t, 'app_request_count_total').reduce((n, s) => n + s.value, 0) >= requests.length,
    );
    const counted = samplesOf(text, 'app_request_count_total').map(({ labels, value }) => ({
      labels,
      value,
    }));

    const templates = new Set([UNMATCHED_ENDPOINT, ...declared.map((d) => d.template)]);
    const strays = counted
      .map((s) => s.labels)
      .filter((l) => !templates.has(l.endpoint ?? '') || !METHOD_LABELS.has(l.method ?? ''));
    // Every label is a declared template or <unmatched> (the declared set is shown on failure) ...
    expect({ strays, declared: [...templates] }).toEqual({ strays: [], declared: [...templates] });
    // ... and, request by request, the one of the route that answered.
    expect(counted.sort(byLabels)).toEqual([...expected.values()].sort(byLabels));
  } finally {
    await running.close();
    await metrics.shutdown();
  }
}

/**
 * Found by this property (fixed in src/http/route-template.ts): a HEAD request whose path only a
 * route without a GET, HEAD or `all` handler matched was counted under that route, though no route
 * answered it and it ended in a 404.
 */
const HEAD_ON_DELETE_ROUTE: [ChildSpec[], RequestSpec[]] = [
  [
    {
      kind: 'mount',
      as: 'router',
      path: [],
      children: [{ kind: 'route', verb: 'delete', path: [] }],
    },
    { kind: 'route', verb: 'get', path: [{ param: true }] },
  ],
  [
    {
      method: 'HEAD',
      target: { kind: 'random', segments: [] },
      trailingSlash: false,
      query: null,
    },
    { method: 'ACL', target: { kind: 'random', segments: [] }, trailingSlash: false, query: null },
  ],
];

/**
 * Found by this property, not fixed: a sub-app mounted on a Router (`router.use('/r', subApp)`)
 * has no `parent` or `mountpath` of its own, so the paths above it are lost (`/x`, not
 * `/r/:p0/x`). Sub-apps mounted with an app's `use` are labelled in full.
 */
const SUB_APP_ON_ROUTER: [ChildSpec[], RequestSpec[]] = [
  [
    {
      kind: 'mount',
      as: 'router',
      path: [{ param: false, text: 'r' }],
      children: [
        {
          kind: 'mount',
          as: 'app',
          path: [{ param: true }],
          children: [{ kind: 'route', verb: 'get', path: [{ param: false, text: 'x' }] }],
        },
      ],
    },
  ],
  [
    {
      method: 'GET',
      target: {
        kind: 'declared',
        pick: 0,
        values: Array<string>(MAX_SEGMENTS).fill('v'),
        upper: false,
        extra: null,
      },
      trailingSlash: false,
      query: null,
    },
  ],
];

describe.each(FLAVOURS)('endpoint labels of random router nestings, %s', (_name, express) => {
  it('are the template of the route that answered, or <unmatched>; methods are bounded', async () => {
    await fc.assert(
      fc.asyncProperty(tree, fc.array(requestSpec, { minLength: 1, maxLength: 16 }), (c, r) =>
        checkLabels(express, c, r),
      ),
      { numRuns: 100, examples: [HEAD_ON_DELETE_ROUTE] },
    );
  }, 60_000);

  it('label a sub-app mounted on a Router with the mount paths above it', () =>
    checkLabels(express, ...SUB_APP_ON_ROUTER));
});
