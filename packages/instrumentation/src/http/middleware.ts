import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Reporter } from '../report.js';
import type { RecordRequest } from './recorders.js';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface RequestMiddlewareDeps {
  /** Records a request once it has ended, into the instruments of the chosen naming. */
  record: RecordRequest;
  excludePaths: ReadonlyArray<string | RegExp>;
  /** Serve the exposition at this path of the app (the `'app'` endpoint mode). */
  metrics?: { path: string; handler: NodeHandler };
  report: Reporter;
  /** False after shutdown: the middleware then only passes requests on. */
  isActive: () => boolean;
}

/** The path of a request target, without the query string. */
export function pathnameOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
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

export function createRequestInterceptor(deps: RequestMiddlewareDeps): RequestInterceptor {
  const { record, excludePaths, metrics, report, isActive } = deps;

  function track(req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now();
    // 'close' ends every response (after 'finish', or alone when the client went away), so one
    // listener is enough; it fires once.
    res.on('close', () => {
      try {
        record(req, res, (performance.now() - start) / 1000);
      } catch (err) {
        report('record', 'could not record a request', err);
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
      report('middleware', 'could not start measuring a request', err);
    }
    return false;
  };
}
