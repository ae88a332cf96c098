/**
 * The parts of Express' private structures the package reads. Express 4 (`express/lib/router`)
 * and Express 5 (the `router` package) differ; every field is optional and checked before use.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';

/** A layer of a router's stack: a middleware, a mounted router or sub-app, or a route. */
export interface ExpressLayer {
  handle?: unknown;
  /** Set on the layer of a route (`app.get(...)`, `router.route(...)`). */
  route?: unknown;
  /** Express 5 (router >= 2.3): the path pattern the layer was declared with. */
  rawPath?: unknown;
  /** Express 4: the compiled pattern; `fast_slash` marks a mount on '/'. */
  regexp?: RegExp & { fast_slash?: boolean };
  /** Express 4: the parameters of `regexp`, in order. */
  keys?: ReadonlyArray<{ name?: unknown; optional?: boolean }>;
  /** Express 5: a side-effect free match returning the matched prefix. */
  match?: (path: string) => unknown;
  /** Express 5: one matcher per declared path, in order (a layer declared with an array has several). */
  matchers?: unknown;
}

/** A router function or object: its stack of layers. */
export interface ExpressRouter {
  stack: ExpressLayer[];
}

/** The route object Express puts on `req.route`. */
export interface ExpressRoute {
  path?: unknown;
}

/** An Express 4 or 5 application, as far as the package reads it. */
export interface ExpressApp {
  use: (...args: unknown[]) => unknown;
  /** Handles one request: called by the app function and by a parent app that mounts this one. */
  handle: (req: IncomingMessage, res: ServerResponse, callback?: unknown) => unknown;
  /** Express 4 only: creates `_router` on first use. */
  lazyrouter?: () => void;
  _router?: ExpressRouter;
  /** Express 5: a getter that creates the router on first read (Express 4 throws here). */
  router?: ExpressRouter;
  /** Set on a sub-app by `parent.use(path, subApp)`. */
  mountpath?: unknown;
  parent?: ExpressApp;
}

/** What the middleware reads of a request beyond Node's `IncomingMessage`. */
export interface ExpressRequestFields {
  route?: ExpressRoute;
  app?: ExpressApp;
  originalUrl?: string;
}

export function isExpressApp(value: unknown): value is ExpressApp {
  if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) return false;
  const app = value as Partial<ExpressApp>;
  return (
    typeof app.use === 'function' &&
    typeof app.handle === 'function' &&
    (typeof app.lazyrouter === 'function' || 'router' in (value as object))
  );
}

/** The app's root router, created if Express has not made it yet. */
export function routerOf(app: ExpressApp): ExpressRouter | undefined {
  // Express 4 throws from the `router` getter, so it must be told apart before reading it.
  if (typeof app.lazyrouter === 'function') {
    app.lazyrouter();
    return app._router;
  }
  return app.router;
}
