// The apps of `pnpm bench:instructions`: their shapes (routes, nesting) and what is registered on
// them. Shared by the driver (instructions.ts) and the measured process (instructions-app.ts).
import type { RegisterMetricsOptions } from 'express-otel-metrics';

/**
 * How the app is laid out, and the one path every measured request asks for.
 * - `users`: `GET /users/:id` alone, the app of every earlier count (ARCHITECTURE.md).
 * - `routes10`, `routes1000`: routers of 10 routes each, mounted at `/g<i>/:org`, each route
 *   `/res<j>/:id`; the request hits the last route of the last router, so Express walks every
 *   layer before it: the app's size at its most expensive for the router.
 * - `depth1`, `depth5`: routers nested 1 or 5 deep, each mounted at `/l<k>/:p<k>` beside two
 *   sibling routes, the requested route `/users/:id` in the deepest.
 */
export type Shape = 'users' | 'routes10' | 'routes1000' | 'depth1' | 'depth5';

/**
 * What is registered on the app: nothing; the SDK's recordings alone, without the package (`sdk`:
 * the two records the package's defaults make per request, at the response's 'close', through
 * instruments of a MeterProvider with the package's Views); the package's defaults; or every
 * request series on. `sdk` minus `bare` is what recording costs in the SDK (and one listener);
 * `defaults` minus `sdk`, what the package does besides. `defaults-hash` is an experiment, not
 * the package: its defaults with the SDK's `hashAttributes` replaced by one without a sort call
 * or JSON (instructions-app.ts), to measure what that upstream change would save.
 */
export type Setup = 'bare' | 'sdk' | 'defaults' | 'all-on' | 'defaults-hash';

export interface InstructionVariant {
  id: string;
  shape: Shape;
  setup: Setup;
}

const v = (shape: Shape, setup: Setup): InstructionVariant => ({
  id: `${shape}-${setup}`,
  shape,
  setup,
});

/** The full run: bare Express beside the package in every shape, and all-on on the basic one. */
export const VARIANTS: readonly InstructionVariant[] = [
  v('users', 'bare'),
  v('users', 'sdk'),
  v('users', 'defaults'),
  v('users', 'all-on'),
  v('users', 'defaults-hash'),
  v('routes10', 'bare'),
  v('routes10', 'defaults'),
  v('routes1000', 'bare'),
  v('routes1000', 'defaults'),
  v('depth1', 'bare'),
  v('depth1', 'defaults'),
  v('depth5', 'bare'),
  v('depth5', 'defaults'),
];

/** The smoke run: the pair whose difference is the package's cost, and the SDK's share of it. */
export const SMOKE_VARIANTS: readonly InstructionVariant[] = [
  v('users', 'bare'),
  v('users', 'sdk'),
  v('users', 'defaults'),
];

export const SHAPE_LABELS: Record<Shape, string> = {
  users: 'GET /users/:id, 1 route',
  routes10: '10 routes (1 router of 10), last route',
  routes1000: '1,000 routes (100 routers of 10), last route',
  depth1: 'route 1 router deep',
  depth5: 'route 5 routers deep',
};

export const SETUP_LABELS: Record<Setup, string> = {
  bare: 'bare Express',
  sdk: "bare Express + the SDK's two records per request, no package",
  defaults: 'express-otel-metrics (defaults)',
  'all-on': 'express-otel-metrics (every request series on)',
  'defaults-hash':
    "experiment: express-otel-metrics (defaults), the SDK's hashAttributes without a sort call or JSON",
};

/** Routes of the `routes*` shapes: routers of this many routes each. */
export const ROUTES_PER_ROUTER = 10;

/** The request path of each shape, and the route template the package must label it with. */
export const TARGETS: Record<Shape, { path: string; template: string }> = {
  users: { path: '/users/42', template: '/users/:id' },
  routes10: { path: '/g0/acme/res9/42', template: '/g0/:org/res9/:id' },
  routes1000: { path: '/g99/acme/res9/42', template: '/g99/:org/res9/:id' },
  depth1: { path: '/l1/a/users/42', template: '/l1/:p1/users/:id' },
  depth5: {
    path: '/l1/a/l2/b/l3/c/l4/d/l5/e/users/42',
    template: '/l1/:p1/l2/:p2/l3/:p3/l4/:p4/l5/:p5/users/:id',
  },
};

/**
 * Every optional request series, and every option that shapes one, on: the `all-on` variant.
 * `exemplars` is on by default; with no tracer no span is found, so it costs the span look-ups.
 * A request-series option added to the package belongs here.
 */
export const ALL_ON_OPTIONS = {
  extraLabels: {
    names: ['tenant'],
    values: (req) => ({ tenant: String(req.headers['x-tenant'] ?? '') }),
  },
  exemplars: true,
  latencyHistogram: 'both',
  inFlight: true,
  bodySizes: true,
} as const satisfies RegisterMetricsOptions;

/**
 * Every variant's base: the request path alone. The process and runtime collectors are off and
 * nothing is exported (the exposition is read once, in-process, to check the count).
 */
export const BASE_OPTIONS: RegisterMetricsOptions = {
  collectors: { process: false, runtime: false, gc: false, eventLoop: false },
  endpoint: { mode: 'none' },
};

/**
 * The bytes of one request, the same for every variant (the `all-on` variant's extra label reads
 * `x-tenant`, so every variant gets it and parses the same header).
 */
export function requestBytes(shape: Shape): string {
  return `GET ${TARGETS[shape].path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tenant: acme\r\n\r\n`;
}
