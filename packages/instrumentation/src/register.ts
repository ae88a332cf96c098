import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Express } from 'express';
import { COLLECTORS } from './collectors/index.js';
import { createAuthorizer } from './export/auth.js';
import { createExposition } from './export/exposition.js';
import { startMetricsServer, type MetricsServer } from './export/server.js';
import { createExtraLabels } from './http/extra-labels.js';
import { createRequestInterceptor, type RequestInterceptor } from './http/middleware.js';
import { createRouteResolver } from './http/route-template.js';
import { isExpressApp, type ExpressApp } from './internal-types.js';
import { INSTRUMENTS, METER_NAME } from './names.js';
import { resolveOptions, type RegisterMetricsOptions } from './options.js';
import { createReporter } from './report.js';
import { createViews } from './views.js';

/** What `registerMetrics` returns. */
export interface MetricsHandle {
  /**
   * Settles when the metrics endpoint listens (at once in the `'app'` and `'none'` modes); rejects
   * with an error naming the port if it cannot. The app keeps serving either way.
   */
  readonly ready: Promise<void>;
  /** The exposition's URL once the endpoint listens on its own port; otherwise undefined. */
  readonly url: string | undefined;
  /** The provider the package records into; one per call, never shared. */
  readonly meterProvider: MeterProvider;
  /**
   * Answers a scrape (with the endpoint's authentication, if any); mount it where you like
   * (`app.get('/metrics', handle.handler)`).
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The current exposition text, in-process (for tests). */
  scrape(): Promise<string>;
  /**
   * Stops measuring, closes the endpoint and shuts the provider down. Safe to call twice; the
   * wrapper around the app's `handle` stays as a pass-through.
   */
  shutdown(): Promise<void>;
}

/**
 * Runs `intercept` ahead of the app's own handling of every request, by wrapping this app's
 * `handle` (Express calls it for each request, also when the app is mounted in another). Routes
 * declared before and after `registerMetrics` are timed alike, and no router layer is added: a
 * layer costs a match and a `next()` per request, a measurable share of a small handler's time.
 * After shutdown the wrapper only passes requests on (replacing it back while requests are in
 * flight could lose some of them).
 */
function interceptRequests(app: ExpressApp, intercept: RequestInterceptor): void {
  const handle = app.handle;
  app.handle = function handleWithMetrics(
    this: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    callback?: unknown,
  ): unknown {
    if (intercept(req, res)) return undefined;
    return handle.call(this, req, res, callback);
  };
}

/**
 * Instruments an Express app: request latency and counts by route template, the app's version,
 * and a Prometheus endpoint (by default on port 9464, apart from the app).
 */
export function registerMetrics(app: Express, options?: RegisterMetricsOptions): MetricsHandle {
  if (!isExpressApp(app)) {
    throw new TypeError('express-otel-metrics: `app` must be an Express 4 or 5 application');
  }
  const resolved = resolveOptions(options);
  const report = createReporter();

  const reader = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [reader], views: createViews(resolved) });
  const meter = meterProvider.getMeter(METER_NAME);
  const exposition = createExposition(reader, resolved, report, createReporter('warn'));

  const stopCollectors: Array<() => void> = [];
  for (const collector of COLLECTORS) {
    if (collector.group !== undefined && !resolved.collectors[collector.group]) continue;
    const key = `collector:${collector.name}`;
    try {
      stopCollectors.push(
        collector.start({
          meter,
          meterProvider,
          options: resolved,
          guard:
            (fn) =>
            (...args) => {
              try {
                fn(...args);
              } catch (err) {
                report(key, `the ${collector.name} collector failed`, err);
              }
            },
        }),
      );
    } catch (err) {
      report(key, `the ${collector.name} collector failed to start`, err);
    }
  }

  let active = true;
  const { endpoint } = resolved;
  const authorize = createAuthorizer(endpoint);
  const serveMetrics: MetricsHandle['handler'] =
    authorize === undefined
      ? exposition.handler
      : (req, res) => {
          if (authorize(req, res)) exposition.handler(req, res);
        };
  const mountedMetrics =
    endpoint.mode === 'app' ? { path: endpoint.path, handler: serveMetrics } : undefined;
  interceptRequests(
    app,
    createRequestInterceptor({
      latency: meter.createHistogram(INSTRUMENTS.requestLatency, {
        description: 'Application request latency.',
        unit: 's',
      }),
      count: meter.createCounter(INSTRUMENTS.requestCount, {
        description: 'Application request count.',
      }),
      resolveEndpoint: createRouteResolver(app),
      excludePaths: resolved.excludePaths,
      ...(resolved.extraLabels && {
        extraLabels: createExtraLabels(resolved.extraLabels, report),
      }),
      ...(mountedMetrics && { metrics: mountedMetrics }),
      report,
      isActive: () => active,
    }),
  );

  let server: MetricsServer | undefined;
  if (endpoint.mode === 'port') {
    server = startMetricsServer(endpoint, serveMetrics);
  }
  const ready = server?.ready ?? Promise.resolve();
  // A failed listen must not become an unhandled rejection that ends the app; it is written once
  // to stderr and still rejects `ready` for whoever awaits it.
  ready.catch((err: Error) => process.emitWarning(err.message, 'ExpressOtelMetricsWarning'));

  let stopping: Promise<void> | undefined;
  return {
    ready,
    get url() {
      return server?.url();
    },
    meterProvider,
    handler: serveMetrics,
    scrape: () => exposition.text(),
    shutdown: () =>
      (stopping ??= (async () => {
        active = false;
        for (const stop of stopCollectors) stop();
        // The endpoint first: scrapes in flight still find a working provider.
        await server?.close();
        await meterProvider.shutdown();
      })()),
  };
}
