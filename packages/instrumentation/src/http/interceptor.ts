import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { context, type Context, type SpanContext } from '@opentelemetry/api';
import type { Reporter } from '../report.js';
import type { InFlight, RecordRequest } from './recorders.js';
import { pathnameOf } from '../request-target.js';

export interface RequestInterceptorDeps {
  /** Records a request once it has ended, into the instruments of the chosen naming. */
  record: RecordRequest;
  excludePaths: ReadonlyArray<string | RegExp>;
  /** Serve the exposition at this path of the app (the `'app'` endpoint mode). */
  metrics?: { path: string; handler: RequestListener };
  report: Reporter;
  /** False after shutdown: the interceptor then only passes requests on. */
  isActive: () => boolean;
  /**
   * Where exemplars are kept: the sampled span active now, if any, looked for when the request
   * starts and, if there was none then, when it ends.
   */
  sampledSpan?: (active?: Context) => SpanContext | undefined;
  /** Counts the requests in flight (option `inFlight`). */
  inFlight?: InFlight;
  /** Count the response body bytes the app writes (option `bodySizes`). */
  bodySizes?: boolean;
}

// Where a request counted in flight keeps its way out, for `markScrape` to take it early: a scrape
// through a handler mounted as a route is only recognised once that handler runs.
const END_IN_FLIGHT: unique symbol = Symbol('express-otel-metrics.endInFlight');

type Tracked = ServerResponse & { [END_IN_FLIGHT]?: () => void };

// Responses of a metrics handler the app mounted as a route (`app.get('/metrics', handle.handler)`):
// scrapes, not the app's traffic. Shared by every registration, since one app may mount another's
// handler; empty, and never read, unless such a handler is called.
const scrapes = new WeakSet<ServerResponse>();
let scrapesSeen = false;

/** Marks `res` as the answer to a scrape, so that the request is not counted as traffic. */
export function markScrape(res: ServerResponse): void {
  scrapesSeen = true;
  scrapes.add(res);
  (res as Tracked)[END_IN_FLIGHT]?.();
}

/** The bytes of a chunk given to `res.write` or `res.end` (a callback in its place is none). */
function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(
      chunk,
      typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
    );
  }
  return ArrayBuffer.isView(chunk) ? chunk.byteLength : 0;
}

/**
 * Counts what the app writes to `res`, through wrappers of its `write` and `end` set on the
 * response itself: Node keeps no count of body bytes, and a streamed or chunked response has no
 * `Content-Length` to read. Middleware that wraps them too (compression) wraps these, so what is
 * counted is what it passes on. The wrappers only add; a count that cannot be made is 0.
 */
function countBody(res: ServerResponse): () => number {
  let bytes = 0;
  const { write, end } = res;
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    try {
      bytes += chunkBytes(args[0], args[1]);
    } catch {
      // An encoding Buffer does not know: the app's write fails on it anyway.
    }
    return Reflect.apply(write, this, args) as boolean;
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    try {
      bytes += chunkBytes(args[0], args[1]);
    } catch {
      // As above.
    }
    return Reflect.apply(end, this, args) as ServerResponse;
  } as ServerResponse['end'];
  return () => bytes;
}

function isExcluded(path: string, excludePaths: ReadonlyArray<string | RegExp>): boolean {
  for (const p of excludePaths) {
    if (typeof p === 'string' ? p === path : p.test(path)) return true;
  }
  return false;
}

/**
 * Called first for every request the app handles: times it, or answers it when it is a scrape of
 * the metrics path mounted in the app. Returns true when it answered the request itself. It only
 * listens: it never touches the request or the response, and nothing it does throws into the app.
 */
export type RequestInterceptor = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createRequestInterceptor(deps: RequestInterceptorDeps): RequestInterceptor {
  const { record, excludePaths, metrics, report, isActive, sampledSpan, inFlight, bodySizes } =
    deps;

  function track(req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now();
    // Off, neither of the two options costs more than these two tests of a constant.
    let endInFlight: (() => void) | undefined;
    if (inFlight !== undefined) {
      const attributes = inFlight.start(req);
      // 'close' and a scrape handler may both end it; only the first does.
      endInFlight = () => {
        if (endInFlight === undefined) return;
        endInFlight = undefined;
        (res as Tracked)[END_IN_FLIGHT] = undefined;
        inFlight.end(attributes);
      };
      (res as Tracked)[END_IN_FLIGHT] = endInFlight;
    }
    const written = bodySizes === true ? countBody(res) : undefined;
    // The sampled span the request runs in: instrumentation-http's server span is active here,
    // inside the app's `handle`. Where there is none, it is looked for again when the request
    // ends: an app that answers inside a span of its own (`startActiveSpan` around `res.json()`)
    // has it active at 'close', where AsyncLocalStorage carries the context of the write.
    let span = sampledSpan?.();
    // Whether the client got the whole response. 'prefinish' comes when the app has ended it and
    // all of it has gone to the socket: if the socket holds none of it then, the kernel has it
    // all, and the client gets it even when the connection is destroyed before 'finish' (a
    // malformed chunk of the request body does that). Otherwise the rest has gone when 'finish'
    // comes on a socket still alive: Node 22 emits 'finish' also when the client went away
    // meanwhile, once the socket is destroyed. `writableFinished` cannot tell at 'close' either:
    // Node 24 only sets it on 'finish', and Node 22 reports true for that cut-off response.
    let complete = false;
    res.on('prefinish', () => {
      if (res.writableLength === 0) {
        complete = true;
        return;
      }
      const socket = res.socket;
      res.once('finish', () => (complete = socket?.destroyed === false));
    });
    // 'close' ends every response (after 'finish', or alone when the client went away), so one
    // listener is enough; it fires once.
    res.on('close', () => {
      try {
        endInFlight?.();
      } catch (err) {
        report.error('record', 'could not count a request out of those in flight', err);
      }
      if (scrapesSeen && scrapes.has(res)) return;
      try {
        // Read once for the span and every recording, each of which would read it again.
        const active = context.active();
        if (span === undefined && sampledSpan !== undefined) span = sampledSpan(active);
        record(req, res, (performance.now() - start) / 1000, complete, span, written?.(), active);
      } catch (err) {
        report.error('record', 'could not record a request', err);
      }
    });
  }

  return function intercept(req, res) {
    if (!isActive()) return false;
    try {
      const path = pathnameOf(req.url);
      if (metrics !== undefined && path === metrics.path) {
        if (req.method === 'GET' || req.method === 'HEAD') {
          metrics.handler(req, res);
          return true;
        }
      } else if (!isExcluded(path, excludePaths)) {
        track(req, res);
      }
    } catch (err) {
      report.error('interceptor', 'could not start measuring a request', err);
    }
    return false;
  };
}
