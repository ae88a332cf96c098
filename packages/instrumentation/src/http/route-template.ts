import type {
  ExpressApp,
  ExpressLayer,
  ExpressRequestFields,
  ExpressRoute,
} from '../express-internals.js';
import { isExpressApp, routerOf } from '../express-internals.js';
import { UNMATCHED_ENDPOINT } from '../labels.js';

/** Shown for a mount whose pattern the installed Express does not keep (router < 2.3). */
export const UNKNOWN_MOUNT = '<mount>';

// Deeper nesting than this is a cycle (a router mounted inside itself) or a mistake.
const MAX_DEPTH = 32;

/** The text of a pattern as the developer declared it; never request data. */
export function patternText(pattern: unknown): string {
  if (typeof pattern === 'string') return pattern;
  if (pattern instanceof RegExp) return String(pattern);
  if (Array.isArray(pattern)) return pattern.map(patternText).join(',');
  return UNKNOWN_MOUNT;
}

// Express 4 compiles mount paths with path-to-regexp 0.1 and keeps only the RegExp; these are the
// pieces it emits for literal segments, `:param`, `:param?` and `*`.
const E4_PARAM = '(?:\\/([^/]+?))';
const E4_STAR = '(.*)';
const E4_SUFFIXES = ['\\/?(?=\\/|$)', '(?=\\/|$)', '\\/?$', '$'];
const E4_LITERAL = /[A-Za-z0-9_~%!$&',;=:@-]/;

type Keys = ReadonlyArray<{ name?: unknown; optional?: boolean }>;

/** The declared path behind one compiled alternative, and how many keys it used. */
function recoverExpress4(
  source: string,
  keys: Keys,
  from: number,
): { path: string; next: number } | undefined {
  let src = source;
  if (!src.startsWith('^')) return undefined;
  src = src.slice(1);
  const suffix = E4_SUFFIXES.find((s) => src.endsWith(s));
  if (suffix === undefined) return undefined;
  src = src.slice(0, src.length - suffix.length);
  let out = '';
  let k = from;
  for (let i = 0; i < src.length;) {
    if (src.startsWith(E4_PARAM, i)) {
      const key = keys[k++];
      if (key === undefined) return undefined;
      i += E4_PARAM.length;
      const optional = src[i] === '?';
      if (optional) i++;
      out += `/:${String(key.name)}${optional ? '?' : ''}`;
    } else if (src.startsWith(E4_STAR, i)) {
      k++;
      out += '*';
      i += E4_STAR.length;
    } else if (src[i] === '\\' && i + 1 < src.length) {
      out += src[i + 1];
      i += 2;
    } else if (E4_LITERAL.test(src[i] as string)) {
      out += src[i];
      i++;
    } else {
      return undefined;
    }
  }
  return { path: out, next: k };
}

/**
 * Recovers the declared path of an Express 4 mount from its RegExp. Returns undefined for
 * anything outside the simple grammar (the caller then shows the RegExp itself, still bounded).
 */
export function express4MountPath(regexp: RegExp, keys: Keys): string | undefined {
  const recovered = recoverExpress4(regexp.source, keys, 0);
  return recovered !== undefined && recovered.next === keys.length ? recovered.path : undefined;
}

/**
 * Splits a RegExp source at its top-level `|`: path-to-regexp 0.1 compiles a path array into the
 * alternatives of one RegExp, in the array's order.
 */
export function topLevelAlternatives(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let from = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(source.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(source.slice(from));
  return parts;
}

/** One path a layer was declared with (a layer declared with an array has several). */
interface Alternative {
  /** As the developer wrote it. */
  text: string;
  /** The part of `path` it matches, without side effects; undefined when it does not match. */
  match: (path: string) => string | undefined;
}

const NO_MATCH: Alternative['match'] = () => undefined;

function flatPaths(path: unknown): unknown[] {
  return Array.isArray(path) ? (path as unknown[]).flat(Infinity) : [path];
}

/** Express 5 (router >= 2.3): the declared paths, each with the matcher the router compiled. */
function express5Alternatives(layer: ExpressLayer): Alternative[] {
  const paths = flatPaths(layer.rawPath);
  const textOf = layer.route === undefined ? mountText : patternText;
  const matchers = layer.matchers;
  if (Array.isArray(matchers) && matchers.length === paths.length && paths.length > 1) {
    return paths.map((path, i) => ({
      text: textOf(path),
      match: (p) => matchedPath((matchers[i] as (p: string) => unknown)(p)),
    }));
  }
  const match = layer.match;
  return [
    {
      text: paths.length === 1 ? textOf(paths[0]) : patternText(layer.rawPath),
      match: typeof match === 'function' ? (p) => matchedPath(match.call(layer, p)) : NO_MATCH,
    },
  ];
}

function matchedPath(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const path = (m as { path?: unknown }).path;
  return typeof path === 'string' ? path : undefined;
}

function regexpMatch(regexp: RegExp): Alternative['match'] {
  // `exec` of a global or sticky RegExp moves its lastIndex: a copy without those flags has none.
  const own = new RegExp(regexp.source, regexp.flags.replace(/[gy]/g, ''));
  return (p) => own.exec(p)?.[0];
}

/**
 * Express 4: the alternatives of the compiled RegExp, named by the route's declared paths or,
 * for a mount, by the paths recovered from the RegExp.
 */
function express4Alternatives(
  layer: ExpressLayer,
  regexp: RegExp & { fast_slash?: boolean },
): Alternative[] {
  if (regexp.fast_slash === true) return [{ text: '', match: () => '' }];
  const route = layer.route as ExpressRoute | undefined;
  const sources = topLevelAlternatives(regexp.source);
  if (route !== undefined) {
    const declared = flatPaths(route.path);
    if (declared.length > 1 && declared.length === sources.length) {
      return sources.map((source, i) => ({
        text: patternText(declared[i]),
        match: regexpMatch(new RegExp(source, regexp.flags)),
      }));
    }
    return [{ text: patternText(route.path), match: regexpMatch(regexp) }];
  }
  if (sources.length === 1) {
    return [
      {
        text: express4MountPath(regexp, layer.keys ?? []) ?? String(regexp),
        match: regexpMatch(regexp),
      },
    ];
  }
  const keys = layer.keys ?? [];
  let from: number | undefined = 0;
  return sources.map((source) => {
    const alternative = new RegExp(source, regexp.flags);
    const recovered = from === undefined ? undefined : recoverExpress4(source, keys, from);
    from = recovered?.next;
    return { text: recovered?.path ?? String(alternative), match: regexpMatch(alternative) };
  });
}

function alternativesOf(layer: ExpressLayer): Alternative[] {
  if ('rawPath' in layer) return express5Alternatives(layer);
  if (layer.regexp instanceof RegExp) return express4Alternatives(layer, layer.regexp);
  return [{ text: UNKNOWN_MOUNT, match: NO_MATCH }];
}

/**
 * Joins pattern parts the way Express joins paths: one slash where two parts meet, and a part `/`
 * (a mount on the root, or the route `/` of a mount, which is the mount's own path) adds nothing.
 * Any other trailing slash of a route was declared (strict routing tells `/a/` from `/a`) and
 * stays, as does every character of a RegExp.
 */
export function joinPatterns(parts: readonly string[]): string {
  let out = '';
  for (const part of parts) {
    if (part === '' || (part === '/' && out !== '')) continue;
    out += out.endsWith('/') && part.startsWith('/') ? part.slice(1) : part;
  }
  return out === '' ? '/' : out;
}

/** A mount's declared path: mounts ignore a trailing slash (Express matches them loosely). */
function mountText(path: unknown): string {
  const text = patternText(path);
  return typeof path === 'string' && text.length > 1 && text.endsWith('/')
    ? text.slice(0, -1)
    : text;
}

// A wildcard at the end of a path: Express 5's `*name` and `{*name}`, Express 4's `*` and `(.*)`.
const TRAILING_WILDCARD = /(?:\*|\(\.\*\)|\*[A-Za-z_$][\w$]*\}?)$/;

/** Whether the route's path ends in a wildcard, so that it matches paths nobody declared. */
export function endsInWildcard(text: string): boolean {
  return TRAILING_WILDCARD.test(text);
}

function subStack(handle: unknown): ExpressLayer[] | undefined {
  if (typeof handle !== 'function') return undefined;
  const stack = (handle as { stack?: unknown }).stack;
  return Array.isArray(stack) ? (stack as ExpressLayer[]) : undefined;
}

/** Where a layer leads: a router's stack, or the stack of a sub-app and that app. */
function below(
  layer: ExpressLayer,
  app: ExpressApp,
  ancestors: ReadonlySet<ExpressApp>,
): { stack: ExpressLayer[]; app: ExpressApp } | undefined {
  const { handle } = layer;
  const stack = subStack(handle);
  if (stack !== undefined) return { stack, app };
  // `router.use(subApp)` keeps the app itself as the handle.
  if (isExpressApp(handle)) {
    const router = routerOf(handle);
    return router && { stack: router.stack, app: handle };
  }
  // `app.use(path, subApp)` keeps a wrapper that only the sub-app's `parent` and `mountpath` name.
  if (typeof handle === 'function' && handle.name === 'mounted_app') {
    const text = alternativesOf(layer)
      .map((a) => a.text)
      .join(',');
    for (const sub of ancestors) {
      if (sub.parent !== app) continue;
      const mount = patternText(sub.mountpath);
      if (mount !== text && !(mount === '/' && text === '')) continue;
      const router = routerOf(sub);
      if (router) return { stack: router.stack, app: sub };
    }
  }
  return undefined;
}

/** Every chain of layers from `stack` down to the layer of `route`, that layer included. */
function findChains(
  stack: readonly ExpressLayer[],
  app: ExpressApp,
  route: ExpressRoute,
  ancestors: ReadonlySet<ExpressApp>,
  depth: number,
  visiting: Set<unknown>,
): ExpressLayer[][] {
  const chains: ExpressLayer[][] = [];
  for (const layer of stack) {
    if (layer.route === route) {
      chains.push([layer]);
      continue;
    }
    if (layer.route !== undefined) continue;
    const next = below(layer, app, ancestors);
    if (next === undefined || visiting.has(next.stack) || depth >= MAX_DEPTH) continue;
    visiting.add(next.stack);
    for (const chain of findChains(next.stack, next.app, route, ancestors, depth + 1, visiting)) {
      chains.push([layer, ...chain]);
    }
    visiting.delete(next.stack);
  }
  return chains;
}

interface Candidate {
  steps: Alternative[];
  template: string;
  /** The route ends in a wildcard: a 404 from it is a path nobody declared. */
  catchAll: boolean;
}

// Arrays of arrays multiply: past this many, the rest are told apart by their joined text only.
const MAX_CANDIDATES = 64;

function candidatesOf(chain: readonly ExpressLayer[]): Candidate[] {
  let combos: Alternative[][] = [[]];
  for (const layer of chain) {
    const alternatives = alternativesOf(layer);
    if (combos.length * alternatives.length > MAX_CANDIDATES) {
      const text = alternatives.map((a) => a.text).join(',');
      const match: Alternative['match'] = (p) => {
        for (const a of alternatives) {
          const m = a.match(p);
          if (m !== undefined) return m;
        }
        return undefined;
      };
      combos = combos.map((c) => [...c, { text, match }]);
    } else {
      combos = combos.flatMap((c) => alternatives.map((a) => [...c, a]));
    }
  }
  return combos.map((steps) => {
    const last = steps[steps.length - 1];
    return {
      steps,
      template: joinPatterns(steps.map((s) => s.text)),
      catchAll: last !== undefined && endsInWildcard(last.text),
    };
  });
}

/** Whether the request path goes down this candidate's mounts and matches its route. */
function candidateMatches(steps: readonly Alternative[], pathname: string): boolean {
  let rest = pathname;
  for (const step of steps) {
    const prefix = step.match(rest);
    if (prefix === undefined) return false;
    rest = rest.slice(prefix.length);
    // Express puts back the leading slash of what it passes on.
    if (rest[0] !== '/') rest = `/${rest}`;
  }
  return true;
}

interface CacheEntry {
  app: ExpressApp;
  candidates: Candidate[];
}

/**
 * Whether the route has a handler for HEAD (its own, GET's or `all`). Express sets `req.route` for
 * a HEAD request on every route whose path matches, also one without such a handler, which then
 * passes the request on; the route left in `req.route` never answered it.
 */
function answersHead(route: ExpressRoute): boolean {
  const methods = (route as { methods?: unknown }).methods;
  if (typeof methods !== 'object' || methods === null) return true;
  const m = methods as Record<string, unknown>;
  return Boolean(m.head || m.get || m._all);
}

/** The `endpoint` of a request whose route is `req.route`, once its response has `status`. */
export type RouteResolver = (
  req: ExpressRequestFields & { method?: string },
  status: number,
) => string;

/**
 * Resolves the `endpoint` label: the route template, with the patterns of every router and sub-app
 * it is mounted under. The template is computed from the app's structure, not from the URL, so
 * it is bounded by the routes the developer declared. Each route is looked up once and cached;
 * a route reached in several ways (a router mounted in several places, a path array) is told
 * apart by matching the request path against each way, which names the one that matched.
 */
export function createRouteResolver(rootApp: ExpressApp): RouteResolver {
  const cache = new WeakMap<object, CacheEntry>();

  // Only when the route is not found from the root (an app Express was not told about).
  function mountPrefix(app: ExpressApp): string {
    let prefix = '';
    let current: ExpressApp | undefined = app;
    for (let hops = 0; current !== undefined && current !== rootApp && hops < MAX_DEPTH; hops++) {
      prefix = patternText(current.mountpath) + prefix;
      current = current.parent;
    }
    return prefix;
  }

  function candidatesFor(route: ExpressRoute, app: ExpressApp): Candidate[] {
    const ancestors = new Set<ExpressApp>();
    for (
      let a: ExpressApp | undefined = app;
      a !== undefined && ancestors.size < MAX_DEPTH;
      a = a.parent
    ) {
      ancestors.add(a);
    }
    const router = routerOf(rootApp);
    const chains = router ? findChains(router.stack, rootApp, route, ancestors, 0, new Set()) : [];
    if (chains.length > 0) return chains.flatMap(candidatesOf);
    const text = patternText(route.path);
    return [
      {
        steps: [],
        template: joinPatterns([mountPrefix(app), text]),
        catchAll: endsInWildcard(text),
      },
    ];
  }

  function candidateOf(req: ExpressRequestFields, candidates: Candidate[]): Candidate {
    const first = candidates[0] as Candidate;
    if (candidates.length === 1) return first;
    const pathname = (req.originalUrl ?? '').split('?', 1)[0] ?? '';
    return candidates.find((c) => candidateMatches(c.steps, pathname)) ?? first;
  }

  return (req, status) => {
    const route = req.route;
    if (typeof route !== 'object' || route === null) return UNMATCHED_ENDPOINT;
    if (req.method === 'HEAD' && !answersHead(route)) return UNMATCHED_ENDPOINT;
    const app = req.app ?? rootApp;
    let entry = cache.get(route);
    if (entry === undefined || entry.app !== app) {
      entry = { app, candidates: candidatesFor(route, app) };
      cache.set(route, entry);
    }
    const candidate = candidateOf(req, entry.candidates);
    // A catch-all that answers 404 (NestJS 12's not-found route under a global prefix, an app's
    // own fallback) matched a path the app does not have: it counts with the unmatched requests.
    return candidate.catchAll && status === 404 ? UNMATCHED_ENDPOINT : candidate.template;
  };
}
