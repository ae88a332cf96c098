import cluster from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeterProvider } from '@opentelemetry/api';
import type { Express } from 'express';
import { isLinked, linkToPrimary } from './cluster/worker.js';
import { COLLECTORS } from './collectors/index.js';
import { sampledSpanContext } from './exemplars/sampled-span.js';
import { readersOpen } from './exemplars/shared.js';
import type { Collected } from './export/collected.js';
import { isExpressApp, type ExpressApp } from './express-internals.js';
import { createExtraLabels } from './http/extra-labels.js';
import {
  createRequestInterceptor,
  markScrape,
  type RequestInterceptor,
} from './http/interceptor.js';
import { createInFlight, createRequestRecorder } from './http/recorders.js';
import { createRouteResolver } from './http/route-template.js';
import { resolveExport } from './options/exporters.js';
import { resolveOptions } from './options/resolve.js';
import { resolveServing } from './options/serving.js';
import type { RegisterMetricsOptions } from './options/types.js';
import { buildPipeline, checkExportersInstalled } from './pipeline.js';
import { createReporter } from './report.js';

/** What `registerMetrics` returns. */
export interface MetricsHandle {
  /**
   * Settles when the metrics endpoint listens (at once in the `'app'` and `'none'` modes, and when
   * there is no endpoint: no Prometheus exporter, `meterProvider`, `OTEL_SDK_DISABLED`); rejects
   * with an error naming the port if it cannot. The app keeps serving either way.
   */
  readonly ready: Promise<void>;
  /** The exposition's URL once the endpoint listens on its own port; otherwise undefined. */
  readonly url: string | undefined;
  /**
   * The provider the package records into: its own, one per call and never shared; yours, with
   * option `meterProvider`; a no-op one while `OTEL_SDK_DISABLED` is true.
   */
  readonly meterProvider: MeterProvider;
  /**
   * Answers a scrape (with the endpoint's authentication, if any); mount it where you like
   * (`app.get('/metrics', handle.handler)`). Without the Prometheus exporter, or in a cluster
   * worker (the primary serves), it answers `404 Not Found`, with the reason in the body.
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The current exposition text, in-process (for tests); in a cluster worker (option `cluster`),
   * that worker's own. Without the Prometheus exporter it rejects, saying why; while
   * `OTEL_SDK_DISABLED` is true it resolves to '' (nothing recorded).
   */
  scrape(): Promise<string>;
  /**
   * Exports what has been recorded so far through the push exporters (OTLP, console, readers of
   * yours) instead of waiting for the interval. Nothing to do for Prometheus, which is read when
   * scraped; with `meterProvider` or `OTEL_SDK_DISABLED` it resolves at once.
   */
  forceFlush(): Promise<void>;
  /**
   * Stops measuring, closes the endpoint and shuts the package's provider down, which makes the
   * push exporters send a last export. A provider of yours (`meterProvider`) keeps running. Safe to
   * call twice; the wrapper around the app's `handle` stays as a pass-through.
   */
  shutdown(): Promise<void>;
}

/**
 * The apps with a registration that is not shut down: a second one would count every request
 * twice. Weak, so an app that is dropped is forgotten.
 */
const registered = new WeakSet<ExpressApp>();

/**
 * Runs `intercept` ahead of the app's own handling of every request, by wrapping this app's
 * `handle` (Express calls it for each request, also when the app is mounted in another). Routes
 * declared before and after `registerMetrics` are timed alike, and no router layer is added (see
 * ARCHITECTURE.md for why, and what the two cost). After shutdown the wrapper only passes
 * requests on (replacing it back while requests are in flight could lose some of them).
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

/** Refuses what can only be known of this process and this app, before anything is installed. */
function checkRegistration(app: ExpressApp, clusterWorker: boolean): void {
  if (registered.has(app)) {
    throw new TypeError(
      'express-otel-metrics: this app already has a registerMetrics() that is not shut down, and a second would count every request twice; keep the first handle (its `meterProvider` records more series), or call its shutdown() before registering again',
    );
  }
  if (clusterWorker && !cluster.isWorker) {
    throw new TypeError(
      'express-otel-metrics: option `cluster` is for the workers of node:cluster, and this process is not one; the primary calls serveClusterMetrics()',
    );
  }
  if (clusterWorker && isLinked()) {
    throw new TypeError(
      'express-otel-metrics: option `cluster`: this worker already has a registration with `cluster: true`; one per worker (shut the other down first)',
    );
  }
}

/**
 * Instruments an Express app: request latency and counts by route template, the app's version,
 * exported to Prometheus (by default an endpoint on port 9464, apart from the app), over OTLP, or
 * both, as `exporters` or `OTEL_METRICS_EXPORTER` say.
 */
export function registerMetrics(app: Express, options?: RegisterMetricsOptions): MetricsHandle {
  if (!isExpressApp(app)) {
    throw new TypeError('express-otel-metrics: `app` must be an Express 4 or 5 application');
  }
  const report = createReporter();
  const resolved = resolveOptions(options);
  const target = resolveExport(resolved, process.env, report);
  const serving = resolveServing(resolved, target, process.env);
  checkExportersInstalled(target);
  if (target.kind !== 'disabled') checkRegistration(app, resolved.cluster);

  const pipeline = buildPipeline({
    options: resolved,
    target,
    serving,
    collectors: COLLECTORS,
    report,
    recordsRequests: true,
  });
  // Nothing is measured while the SDK is disabled, so nothing is installed.
  if (target.kind === 'disabled') return handleOf(pipeline, () => Promise.resolve());

  const { exposition, exemplars } = pipeline;
  // In cluster mode the primary serves the worker's series; the worker answers it over IPC.
  const link =
    serving.mode === 'worker' && exposition !== undefined
      ? linkToPrimary(exposition.collect, report)
      : undefined;

  let active = true;
  registered.add(app);
  interceptRequests(
    app,
    createRequestInterceptor({
      record: createRequestRecorder({
        meter: pipeline.meter,
        options: resolved,
        resolveEndpoint: createRouteResolver(app),
        ...(resolved.extraLabels && {
          extraLabels: createExtraLabels(resolved.extraLabels, report),
        }),
        ...(exemplars && { exemplars }),
      }),
      excludePaths: resolved.excludePaths,
      ...(resolved.inFlight && { inFlight: createInFlight(pipeline.meter, resolved.naming) }),
      ...(resolved.bodySizes && { bodySizes: true }),
      // Without an exposition, the app's own routes keep the metrics path.
      ...(serving.mode === 'app' && {
        metrics: { path: serving.endpoint.path, handler: pipeline.handler },
      }),
      report,
      isActive: () => active,
      // Without exemplars, no span is looked for; nor, for a provider of the app's, while no
      // reader of createPrometheusReader would show them.
      ...(exemplars && {
        sampledSpan: pipeline.sharedExemplars
          ? (active) => (readersOpen() ? sampledSpanContext(active) : undefined)
          : sampledSpanContext,
      }),
    }),
  );

  return handleOf(pipeline, () => {
    active = false;
    registered.delete(app);
    return pipeline.shutdown(async () => {
      // What a worker counted since the primary's last scrape would be lost with it.
      if (link !== undefined) {
        await link.sendFinal();
        link.stop();
      }
    });
  });
}

/** The collections of each handle's exposition, for {@link collectedOf}. */
const collections = new WeakMap<MetricsHandle, () => Promise<Collected>>();

/**
 * The collected data that `handle`'s exposition is written from, exemplars included (the text
 * format of `scrape()` has no place for them). For the package's tests; not exported by index.ts.
 */
export function collectedOf(handle: MetricsHandle): Promise<Collected> {
  const collect = collections.get(handle);
  return collect !== undefined
    ? collect()
    : Promise.reject(new Error('express-otel-metrics: this registration has no exposition'));
}

function handleOf(
  pipeline: ReturnType<typeof buildPipeline>,
  shutdown: () => Promise<void>,
): MetricsHandle {
  let stopping: Promise<void> | undefined;
  const handle: MetricsHandle = {
    ready: pipeline.ready,
    get url() {
      return pipeline.url();
    },
    meterProvider: pipeline.meterProvider,
    handler: (req, res) => {
      markScrape(res);
      pipeline.handler(req, res);
    },
    scrape: () => pipeline.scrape(),
    forceFlush: () => pipeline.forceFlush(),
    shutdown: () => (stopping ??= shutdown()),
  };
  const { exposition } = pipeline;
  if (exposition !== undefined) collections.set(handle, exposition.collect);
  return handle;
}
