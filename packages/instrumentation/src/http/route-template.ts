import type {
  ExpressApp,
  ExpressLayer,
  ExpressRequestFields,
  ExpressRoute,
} from '../express-internals.js';
import { routerOf } from '../express-internals.js';
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

/**
 * Recovers the declared path of an Express 4 mount from its RegExp. Returns undefined for
 * anything outside the simple grammar (the caller then shows the RegExp itself, still bounded).
 */
export function express4MountPath(
  regexp: RegExp,
  keys: ReadonlyArray<{ name?: unknown; optional?: boolean }>,
): string | undefined {
  let src = regexp.source;
  if (!src.startsWith('^')) return undefined;
  src = src.slice(1);
  const suffix = E4_SUFFIXES.find((s) => src.endsWith(s));
  if (suffix === undefined) return undefined;
  src = src.slice(0, src.length - suffix.length);
  let out = '';
  let k = 0;
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
  return k === keys.length ? out : undefined;
}

function mountPattern(layer: ExpressLayer): string {
  if ('rawPath' in layer) return patternText(layer.rawPath);
  const { regexp } = layer;
  if (regexp instanceof RegExp) {
    if (regexp.fast_slash === true) return '';
    return express4MountPath(regexp, layer.keys ?? []) ?? String(regexp);
  }
  return UNKNOWN_MOUNT;
}

/** Joins pattern parts the way Express joins paths: one slash between parts, none at the end. */
export function joinPatterns(parts: readonly string[]): string {
  let out = parts.join('').replace(/\/{2,}/g, '/');
  if (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  return out === '' ? '/' : out;
}

function subStack(handle: unknown): ExpressLayer[] | undefined {
  if (typeof handle !== 'function') return undefined;
  const stack = (handle as { stack?: unknown }).stack;
  return Array.isArray(stack) ? (stack as ExpressLayer[]) : undefined;
}

/** Every chain of mount layers from `stack` down to the layer of `route`. */
function findChains(
  stack: readonly ExpressLayer[],
  route: ExpressRoute,
  depth: number,
  visiting: Set<unknown>,
): ExpressLayer[][] {
  const chains: ExpressLayer[][] = [];
  for (const layer of stack) {
    if (layer.route === route) {
      chains.push([]);
      continue;
    }
    if (layer.route !== undefined) continue;
    const sub = subStack(layer.handle);
    if (sub === undefined || visiting.has(sub) || depth >= MAX_DEPTH) continue;
    visiting.add(sub);
    for (const chain of findChains(sub, route, depth + 1, visiting)) chains.push([layer, ...chain]);
    visiting.delete(sub);
  }
  return chains;
}

/** The prefix the layer removes from `path`, or undefined if it does not match. */
function matchedPrefix(layer: ExpressLayer, path: string): string | undefined {
  if (typeof layer.match === 'function' && 'rawPath' in layer) {
    const m = layer.match(path) as { path?: unknown } | false;
    return m && typeof m.path === 'string' ? m.path : undefined;
  }
  if (layer.regexp instanceof RegExp) {
    if (layer.regexp.fast_slash === true) return '';
    return layer.regexp.exec(path)?.[0];
  }
  return undefined;
}

function chainMatches(chain: readonly ExpressLayer[], pathname: string): boolean {
  let rest = pathname;
  for (const layer of chain) {
    const prefix = matchedPrefix(layer, rest);
    if (prefix === undefined) return false;
    rest = rest.slice(prefix.length) || '/';
  }
  return true;
}

interface Candidate {
  chain: ExpressLayer[];
  template: string;
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

/**
 * Resolves the `endpoint` label: the route template, with the patterns of every router and sub-app
 * it is mounted under. The template is computed from the app's structure, not from the URL, so
 * it is bounded by the routes the developer declared. Each route is looked up once and cached;
 * a router mounted in several places is told apart by matching the request path against each.
 */
export function createRouteResolver(
  rootApp: ExpressApp,
): (req: ExpressRequestFields & { method?: string }) => string {
  const cache = new WeakMap<object, CacheEntry>();

  function appPrefix(app: ExpressApp): string {
    let prefix = '';
    let current: ExpressApp | undefined = app;
    for (let hops = 0; current !== undefined && current !== rootApp && hops < MAX_DEPTH; hops++) {
      prefix = patternText(current.mountpath) + prefix;
      current = current.parent;
    }
    return prefix;
  }

  function candidatesFor(route: ExpressRoute, app: ExpressApp): Candidate[] {
    const routePath = patternText(route.path);
    const prefix = app === rootApp ? '' : appPrefix(app);
    const router = routerOf(app);
    const chains = router ? findChains(router.stack, route, 0, new Set()) : [];
    if (chains.length === 0) return [{ chain: [], template: joinPatterns([prefix, routePath]) }];
    return chains.map((chain) => ({
      chain,
      template: joinPatterns([prefix, ...chain.map(mountPattern), routePath]),
    }));
  }

  return (req) => {
    const route = req.route;
    if (typeof route !== 'object' || route === null) return UNMATCHED_ENDPOINT;
    if (req.method === 'HEAD' && !answersHead(route)) return UNMATCHED_ENDPOINT;
    const app = req.app ?? rootApp;
    let entry = cache.get(route);
    if (entry === undefined || entry.app !== app) {
      entry = { app, candidates: candidatesFor(route, app) };
      cache.set(route, entry);
    }
    const { candidates } = entry;
    const first = candidates[0] as Candidate;
    if (candidates.length === 1 || app !== rootApp) return first.template;
    const pathname = (req.originalUrl ?? '').split('?', 1)[0] ?? '';
    return candidates.find((c) => chainMatches(c.chain, pathname))?.template ?? first.template;
  };
}
