import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pathnameOf } from '../request-target.js';

/** How long scrapes in flight may go on once the endpoint is closing. */
const CLOSE_GRACE_MS = 2000;

export interface MetricsServer {
  /** Settles when the server listens; rejects with an error naming the port if it cannot. */
  ready: Promise<void>;
  /** `http://host:port/path` once listening. */
  url(): string | undefined;
  close(): Promise<void>;
}

/** What to change when the server cannot listen, by the cause. */
function listenHint(code: string | undefined): string {
  // The variable is read by OpenTelemetry's own Prometheus exporter too, which may be the one on
  // the port: setting it would move both.
  const otherPort =
    "set the endpoint.port option to a free port, which moves this package's endpoint only (OTEL_EXPORTER_PROMETHEUS_PORT also moves the Prometheus exporter of an OpenTelemetry SDK in this process)";
  const elsewhere =
    "or, with registerMetrics, serve the metrics on the app itself (endpoint.mode 'app') or through the OpenTelemetry SDK's exporter (option meterProvider, with createViews(options) in the SDK's views)";
  switch (code) {
    case 'EADDRINUSE':
      return `${otherPort}; ${elsewhere}`;
    case 'EACCES':
      return `ports below 1024 need privileges: ${otherPort}; ${elsewhere}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return "set the endpoint.host option or OTEL_EXPORTER_PROMETHEUS_HOST to a name or address of this machine ('127.0.0.1' for loopback, '0.0.0.0' for every interface)";
    default:
      return `check the endpoint.host and endpoint.port options (or OTEL_EXPORTER_PROMETHEUS_HOST and _PORT)`;
  }
}

function formatUrl(address: AddressInfo, path: string, scheme: string): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}${path}`;
}

/**
 * The metrics endpoint on a port of its own. It is unref'd so that it never keeps the process
 * alive once the app's own server is gone.
 */
export function startMetricsServer(
  options: {
    host: string;
    port: number;
    path: string;
    tls?: { key: string | Buffer; cert: string | Buffer } | undefined;
    timeout: number;
  },
  handler: RequestListener,
): MetricsServer {
  const { host, port, path, tls, timeout } = options;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (pathnameOf(req.url) !== path) {
      res.statusCode = 404;
      res.end();
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET, HEAD');
      res.end();
    } else {
      handler(req, res);
    }
  };
  // The request side of a slow client: Node's defaults (60 s for the headers, 300 s for the
  // request, checked every 30 s) are meant for apps that take uploads; a scrape is a one-line GET.
  const limits = {
    headersTimeout: timeout,
    requestTimeout: timeout,
    connectionsCheckingInterval: Math.min(timeout, 1000),
  };
  const server: Server =
    tls === undefined
      ? createServer(limits, listener)
      : createHttpsServer({ ...limits, key: tls.key, cert: tls.cert }, listener);
  server.unref();
  // OpenTelemetry's HTTP instrumentation patches `http.Server.prototype.emit` (and https') to see
  // each 'request': it would count every scrape in `http.server.request.duration` and trace it.
  // Node's servers define no `emit` of their own (http, https, tls and net.Server inherit
  // EventEmitter's; a test checks), so this server gets EventEmitter's as its own: a patch of the
  // prototype, made before or after this line, never sees a scrape, which is neither counted nor
  // traced.
  server.emit = EventEmitter.prototype.emit;

  const ready = new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `express-otel-metrics: the metrics endpoint cannot listen on ${host}:${port} (${err.code ?? err.message}); ${listenHint(err.code)}`,
          { cause: err },
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });

  let closing: Promise<void> | undefined;
  // Scrapes in flight may finish for a moment; then whatever is left is cut, so a stuck
  // scraper cannot hold shutdown up.
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
    });
  return {
    ready,
    url: () => {
      const address = server.address();
      return address !== null && typeof address === 'object'
        ? formatUrl(address, path, tls === undefined ? 'http' : 'https')
        : undefined;
    },
    // Waiting for `ready` first means a close during startup still closes the socket once bound.
    close: () => (closing ??= ready.then(close, () => undefined)),
  };
}
