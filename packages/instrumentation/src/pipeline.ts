/**
 * The one assembly behind both entry points, `registerMetrics` and `serveClusterMetrics`: the
 * provider with its readers, resource and Views, the collectors, the exposition with its
 * authentication, the endpoint, and the order in which they stop. What differs between the two
 * is passed in: which collectors run, and what the exposition reads.
 */

import type { RequestListener } from 'node:http';
import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider as SdkMeterProvider } from '@opentelemetry/sdk-metrics';
import type { Collector } from './collectors/collector.js';
import { startCollectors } from './collectors/start.js';
import { withAuthentication } from './export/auth.js';
import { createExposition, type Exposition, type MetricSource } from './export/exposition.js';
import type { Collected } from './export/collected.js';
import { noExpositionHandler } from './export/no-exposition.js';
import { checkOtlpExporterInstalled } from './export/otlp.js';
import { createReaders } from './export/readers.js';
import { createResource } from './export/resource.js';
import { startMetricsServer, type MetricsServer } from './export/server.js';
import { METER_NAME } from './catalogue.js';
import { shareStore } from './exemplars/shared.js';
import { ExemplarStore } from './exemplars/store.js';
import { WORKER_LABEL } from './labels.js';
import type { ResolvedExport } from './options/exporters.js';
import type { ResolvedOptions } from './options/resolve.js';
import type { Serving } from './options/serving.js';
import type { Reporter } from './report.js';
import { viewsFor } from './views.js';

export interface PipelineParts {
  options: ResolvedOptions;
  target: ResolvedExport;
  serving: Serving;
  collectors: readonly Collector[];
  report: Reporter;
  /**
   * What the exposition reads, made from the Prometheus reader: by default the reader itself; the
   * cluster primary's adds the workers' series to it.
   */
  source?: (reader: PrometheusExporter, resource: Resource) => MetricSource;
  /**
   * The app's requests are recorded into this pipeline's provider (`registerMetrics`): with the
   * option `exemplars`, and an exposition to show them, their exemplars are kept.
   */
  recordsRequests?: boolean;
}

export interface Pipeline {
  /** The provider to record into: the package's own, the user's, or a no-op one when disabled. */
  meterProvider: MeterProvider;
  meter: Meter;
  /** The exposition, wherever there is one (also in a cluster worker, where only the primary reads it). */
  exposition: Exposition | undefined;
  /**
   * Where the request recorder keeps exemplars, which the exposition's collections carry: only
   * with the option `exemplars`, requests recorded here, and an exposition; or, with
   * `meterProvider`, for the readers of createPrometheusReader (exemplars/shared.ts).
   */
  exemplars: ExemplarStore | undefined;
  /** The store is a shared one: spans are looked for only while such a reader is open. */
  sharedExemplars: boolean;
  /** The handle's `handler`: the exposition behind its authentication, or a 404 saying why not. */
  handler: RequestListener;
  ready: Promise<void>;
  url(): string | undefined;
  scrape(): Promise<string>;
  forceFlush(): Promise<void>;
  /**
   * Stops in this order: the endpoint (scrapes in flight still find a working provider), then
   * `between`, then the package's provider, whose push exporters send a last export while the
   * collectors still observe, then the collectors. Safe to call twice.
   */
  shutdown(between?: () => Promise<void> | void): Promise<void>;
}

/** Why a cluster worker serves nothing itself. */
const WORKER_REASON =
  'this is a cluster worker (option cluster); the primary serves the metrics of every worker';

/**
 * Throws when an OTLP exporter package the target needs is not installed: the one thing that
 * can still fail before anything is built. Call it before touching the app.
 */
export function checkExportersInstalled(target: ResolvedExport): void {
  if (target.kind !== 'own') return;
  for (const exporter of target.exporters) {
    if (exporter.type === 'otlp') checkOtlpExporterInstalled(exporter.protocol, exporter.askedBy);
  }
}

function noExposition(reason: string): Promise<string> {
  return Promise.reject(
    new Error(`express-otel-metrics: scrape() has no Prometheus exposition to read: ${reason}`),
  );
}

/**
 * A pipeline that records nothing and serves nothing, for `reason`: while `OTEL_SDK_DISABLED` is
 * true (where `scrape()` reads an empty exposition, since nothing is recorded), and in a cluster
 * primary whose workers export their own series.
 */
export function inertPipeline(reason: string, disabled: boolean): Pipeline {
  const done = Promise.resolve();
  return {
    meterProvider: { getMeter: () => createNoopMeter() },
    meter: createNoopMeter(),
    exposition: undefined,
    exemplars: undefined,
    sharedExemplars: false,
    handler: noExpositionHandler(reason),
    ready: done,
    url: () => undefined,
    scrape: () => (disabled ? Promise.resolve('') : noExposition(reason)),
    forceFlush: () => done,
    shutdown: () => done,
  };
}

/**
 * `source` with exemplars added to what it collects by `decorate`. The exposition, and in a
 * cluster worker the snapshots sent to the primary, read the collections made here; a failure to
 * decorate serves the collection as it is.
 */
export function withExemplars(
  source: MetricSource,
  decorate: (collected: Collected) => Collected,
  report: Reporter,
): MetricSource {
  return {
    async collect() {
      const { resourceMetrics, errors } = await source.collect();
      try {
        return { resourceMetrics: decorate(resourceMetrics), errors };
      } catch (err) {
        report.error(
          'exemplars',
          'could not add the exemplars to a collection; it is served without them',
          err,
        );
        return { resourceMetrics, errors };
      }
    },
  };
}

export function buildPipeline(parts: PipelineParts): Pipeline {
  const { options, target, serving, report } = parts;
  const reason = serving.mode === 'none' ? serving.reason : WORKER_REASON;
  if (target.kind === 'disabled') return inertPipeline(reason, true);

  let own: SdkMeterProvider | undefined;
  let meterProvider: MeterProvider;
  let exposition: Exposition | undefined;
  let exemplars: ExemplarStore | undefined;
  let unshare: (() => void) | undefined;
  const newStore = (): ExemplarStore =>
    new ExemplarStore(options.cardinalityLimit, (key, message) => report.warn(key, message));
  if (target.kind === 'provider') {
    meterProvider = target.meterProvider;
    if (parts.recordsRequests === true && options.exemplars) {
      exemplars = newStore();
      unshare = shareStore(exemplars);
    }
  } else {
    const readers = createReaders(target.exporters, report);
    const resource = createResource(options.serviceName);
    own = new SdkMeterProvider({ resource, readers: readers.all, views: viewsFor(options) });
    meterProvider = own;
    const { prometheus } = readers;
    if (prometheus !== undefined && serving.mode !== 'none') {
      let source = parts.source?.(prometheus, resource) ?? prometheus;
      if (parts.recordsRequests === true && options.exemplars) {
        exemplars = newStore();
        const store = exemplars;
        source = withExemplars(source, (collected) => store.decorate(collected), report);
      }
      exposition = createExposition(
        source,
        {
          ...options,
          constantLabels:
            options.workerIndex === undefined ? '' : `${WORKER_LABEL}="${options.workerIndex}"`,
        },
        report,
        // A cluster worker's exposition is read by the primary alone, which counts its own
        // refusals.
        serving.mode === 'worker' ? undefined : own.getMeter(METER_NAME),
      );
    }
  }
  const meter = meterProvider.getMeter(METER_NAME);
  const stopCollectors = startCollectors(
    parts.collectors,
    { meter, meterProvider, options },
    report,
  );

  let handler: RequestListener;
  let server: MetricsServer | undefined;
  switch (serving.mode) {
    case 'none':
    case 'worker':
      handler = noExpositionHandler(reason);
      break;
    default:
      // A serving mode other than 'none' means a Prometheus reader, so an exposition.
      handler = withAuthentication((exposition as Exposition).handler, serving.endpoint);
      if (serving.mode === 'port') {
        server = startMetricsServer({ ...serving.endpoint, ...serving.address }, handler);
      }
  }
  const ready = server?.ready ?? Promise.resolve();
  // A failed listen must not become an unhandled rejection that ends the app: it is reported,
  // and still rejects `ready` for whoever awaits it.
  ready.catch((err: Error) => report.alert('endpoint:listen', err.message, err.cause));

  let stopping: Promise<void> | undefined;
  return {
    meterProvider,
    meter,
    exposition,
    exemplars,
    sharedExemplars: unshare !== undefined,
    handler,
    ready,
    url: () => server?.url(),
    scrape: () => (exposition !== undefined ? exposition.text() : noExposition(reason)),
    forceFlush: async () => {
      await own?.forceFlush();
    },
    shutdown: (between) =>
      (stopping ??= (async () => {
        try {
          await server?.close();
          await between?.();
          await own?.shutdown();
        } finally {
          unshare?.();
          for (const stop of stopCollectors) stop();
        }
      })()),
  };
}
