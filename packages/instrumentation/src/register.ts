import cluster from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createNoopMeter, type MeterProvider } from '@opentelemetry/api';
import { MeterProvider as SdkMeterProvider } from '@opentelemetry/sdk-metrics';
import type { Express } from 'express';
import { isLinked, linkToPrimary } from './cluster/worker.js';
import { COLLECTORS } from './collectors/index.js';
import { startCollectors } from './collectors/start.js';
import { withAuthentication } from './export/auth.js';
import { createExposition, type Exposition } from './export/exposition.js';
import { checkOtlpExporterInstalled } from './export/otlp.js';
import { createReaders } from './export/readers.js';
import { createResource } from './export/resource.js';
import { startEndpoint } from './export/server.js';
import { createUnservedHandler } from './export/unserved.js';
import { createExtraLabels } from './http/extra-labels.js';
import { createRequestInterceptor, type RequestInterceptor } from './http/middleware.js';
import { createRequestRecorder } from './http/recorders.js';
import { createRouteResolver } from './http/route-template.js';
import { isExpressApp, type ExpressApp } from './internal-types.js';
import { METER_NAME, WORKER_LABEL } from './names.js';
import {
  resolveExport,
  resolveOptions,
  type RegisterMetricsOptions,
  type ResolvedExport,
  type ResolvedOptions,
} from './options.js';
import { createReporter, type Reporter } from './report.js';
import { viewsFor } from './views.js';

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
 * The handle while `OTEL_SDK_DISABLED` is true. Nothing was installed or started, so there is
 * nothing to read, flush or stop.
 */
function disabledHandle(): MetricsHandle {
  const done = Promise.resolve();
  return {
    ready: done,
    url: undefined,
    meterProvider: { getMeter: () => createNoopMeter() },
    handler: createUnservedHandler('OTEL_SDK_DISABLED is true, so nothing is recorded'),
    scrape: () => Promise.resolve(''),
    forceFlush: () => done,
    shutdown: () => done,
  };
}

/** The provider to record into, and what reads it. */
interface Recording {
  meterProvider: MeterProvider;
  /** The package's own provider, which the handle flushes and shuts down; never the user's. */
  own: SdkMeterProvider | undefined;
  /** The Prometheus exposition, when Prometheus is among the exporters. */
  exposition: Exposition | undefined;
  /** Why there is no exposition, for the handler's answer and `scrape()`'s error. */
  unserved: string;
}

function startRecording(
  target: Exclude<ResolvedExport, { kind: 'disabled' }>,
  resolved: ResolvedOptions,
  report: Reporter,
): Recording {
  if (target.kind === 'provider') {
    return {
      meterProvider: target.meterProvider,
      own: undefined,
      exposition: undefined,
      unserved: 'the metrics go to a MeterProvider of yours (option meterProvider)',
    };
  }
  const readers = createReaders(target.exporters, report);
  const own = new SdkMeterProvider({
    resource: createResource(),
    readers: readers.all,
    views: viewsFor(resolved),
  });
  if (readers.prometheus === undefined) {
    return {
      meterProvider: own,
      own,
      exposition: undefined,
      unserved: `the exporters are ${target.summary}, without 'prometheus'`,
    };
  }
  return {
    meterProvider: own,
    own,
    exposition: createExposition(
      readers.prometheus,
      {
        ...resolved,
        constantLabels:
          resolved.workerIndex === undefined ? '' : `${WORKER_LABEL}="${resolved.workerIndex}"`,
      },
      report,
      createReporter('warn'),
      // A cluster worker's exposition is read by the primary alone, which counts its own refusals.
      resolved.cluster ? undefined : own.getMeter(METER_NAME),
    ),
    unserved: '',
  };
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
  const resolved = resolveOptions(options);
  const target = resolveExport(resolved);
  if (target.kind === 'disabled') return disabledHandle();
  if (target.kind === 'own') {
    for (const exporter of target.exporters) {
      if (exporter.type === 'otlp') checkOtlpExporterInstalled(exporter.protocol, exporter.askedBy);
    }
  }
  if (resolved.cluster && !cluster.isWorker) {
    throw new TypeError(
      'express-otel-metrics: option `cluster` is for the workers of node:cluster, and this process is not one; the primary calls serveClusterMetrics()',
    );
  }
  if (resolved.cluster && isLinked()) {
    throw new TypeError(
      'express-otel-metrics: option `cluster`: this worker already has a registration with `cluster: true`; one per worker (shut the other down first)',
    );
  }
  const report = createReporter();

  const recording = startRecording(target, resolved, report);
  const { meterProvider, own } = recording;
  // In cluster mode the primary serves the worker's series; the worker answers it over IPC.
  const link =
    resolved.cluster && recording.exposition !== undefined
      ? linkToPrimary(recording.exposition.collect, report)
      : undefined;
  const exposition = link === undefined ? recording.exposition : undefined;
  const unserved =
    link === undefined
      ? recording.unserved
      : 'this is a cluster worker (option cluster); the primary serves the metrics of every worker';
  const meter = meterProvider.getMeter(METER_NAME);

  const stopCollectors = startCollectors(
    COLLECTORS,
    { meter, meterProvider, options: resolved },
    report,
  );

  let active = true;
  const { endpoint } = resolved;
  const serveMetrics: MetricsHandle['handler'] =
    exposition === undefined
      ? createUnservedHandler(unserved)
      : withAuthentication(exposition.handler, endpoint);
  // Without an exposition, the app's own routes keep the metrics path.
  const mountedMetrics =
    exposition !== undefined && endpoint.mode === 'app'
      ? { path: endpoint.path, handler: serveMetrics }
      : undefined;
  interceptRequests(
    app,
    createRequestInterceptor({
      record: createRequestRecorder({
        meter,
        options: resolved,
        resolveEndpoint: createRouteResolver(app),
        ...(resolved.extraLabels && {
          extraLabels: createExtraLabels(resolved.extraLabels, report),
        }),
      }),
      excludePaths: resolved.excludePaths,
      ...(mountedMetrics && { metrics: mountedMetrics }),
      report,
      isActive: () => active,
    }),
  );

  const { server, ready } = startEndpoint(
    exposition !== undefined && endpoint.mode === 'port',
    endpoint,
    serveMetrics,
  );

  let stopping: Promise<void> | undefined;
  return {
    ready,
    get url() {
      return server?.url();
    },
    meterProvider,
    handler: serveMetrics,
    scrape: () =>
      recording.exposition !== undefined
        ? recording.exposition.text()
        : Promise.reject(
            new Error(
              `express-otel-metrics: scrape() has no Prometheus exposition to read: ${unserved}`,
            ),
          ),
    forceFlush: async () => {
      await own?.forceFlush();
    },
    shutdown: () =>
      (stopping ??= (async () => {
        active = false;
        try {
          // The endpoint first: scrapes in flight still find a working provider.
          await server?.close();
          // What a worker counted since the primary's last scrape would be lost with it.
          if (link !== undefined) {
            await link.sendFinal();
            link.stop();
          }
          // Then the provider, whose push exporters send a last export: the collectors still
          // observe, so it carries their series too.
          await own?.shutdown();
        } finally {
          for (const stop of stopCollectors) stop();
        }
      })()),
  };
}
