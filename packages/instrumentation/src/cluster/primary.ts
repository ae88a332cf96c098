import cluster from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { appInfoCollector } from '../collectors/app-info.js';
import { COLLECTORS } from '../collectors/index.js';
import { startCollectors } from '../collectors/start.js';
import { withAuthentication } from '../export/auth.js';
import { createExposition, type MetricSource } from '../export/exposition.js';
import { createResource } from '../export/resource.js';
import { startEndpoint } from '../export/server.js';
import { createUnservedHandler } from '../export/unserved.js';
import { CLUSTER_METRICS, METER_NAME, PRIMARY_WORKER } from '../names.js';
import { resolveExport, resolvePrimaryOptions, type ClusterPrimaryOptions } from '../options.js';
import { createReporter } from '../report.js';
import { viewsFor } from '../views.js';
import { Gatherer } from './gatherer.js';
import { Floors, mergeSnapshots, toResourceMetrics, type Contribution } from './merge.js';
import { takeSnapshot, type Snapshot } from './snapshot.js';

/** What `serveClusterMetrics` returns. */
export interface ClusterMetricsHandle {
  /**
   * Settles when the endpoint listens (at once with `endpoint.mode: 'none'` or
   * `OTEL_SDK_DISABLED`); rejects with an error naming the port if it cannot.
   */
  readonly ready: Promise<void>;
  /** The exposition's URL once the endpoint listens; otherwise undefined. */
  readonly url: string | undefined;
  /** Answers a scrape with the whole cluster's exposition (with the endpoint's authentication). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The whole cluster's exposition text, in-process (for tests). */
  scrape(): Promise<string>;
  /** Closes the endpoint and stops gathering and the primary's own collectors. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** The primary's series about the workers, in the form the merge takes. */
function workerCounts(workers: number, unresponsive: number): Snapshot {
  const gauge = (name: string, description: string, value: number) => ({
    name,
    description,
    unit: '',
    kind: 'gauge' as const,
    points: [{ attributes: {}, value }],
  });
  return {
    scopes: [
      {
        name: METER_NAME,
        metrics: [
          gauge(CLUSTER_METRICS.workers, 'Live cluster workers that report metrics.', workers),
          gauge(
            CLUSTER_METRICS.unresponsive,
            'Cluster workers that did not answer this scrape in time; their counters are served as last reported.',
            unresponsive,
          ),
        ],
      },
    ],
  };
}

/**
 * The primary's half of cluster mode: serves one exposition for the whole cluster, gathered from
 * every worker (`registerMetrics(app, { cluster: true })`) over the cluster's IPC channel at each
 * scrape, added up with the primary's own process series. Call it once, in the primary.
 */
export function serveClusterMetrics(options?: ClusterPrimaryOptions): ClusterMetricsHandle {
  const { base, workerTimeout } = resolvePrimaryOptions(options);
  if (!cluster.isPrimary) {
    throw new TypeError(
      'express-otel-metrics: serveClusterMetrics() belongs in the primary of node:cluster; workers call registerMetrics(app, { cluster: true })',
    );
  }
  // The workers read OTEL_METRICS_EXPORTER too: when it leaves Prometheus out they push their own
  // series (over OTLP, say), answer no primary, and there is nothing to serve here.
  const target = resolveExport({ exporters: undefined, meterProvider: undefined });
  let unserved: string | undefined;
  if (target.kind === 'disabled') unserved = 'OTEL_SDK_DISABLED is true, so nothing is recorded';
  else if (target.kind === 'own' && !target.exporters.some((e) => e.type === 'prometheus')) {
    unserved = `the exporters are ${target.summary}, without 'prometheus': every worker exports its own series`;
  }
  if (unserved !== undefined) {
    const done = Promise.resolve();
    return {
      ready: done,
      url: undefined,
      handler: createUnservedHandler(unserved),
      scrape: () =>
        target.kind === 'disabled'
          ? Promise.resolve('')
          : Promise.reject(
              new Error(`express-otel-metrics: scrape() has nothing to read: ${unserved}`),
            ),
      shutdown: () => done,
    };
  }
  const report = createReporter();
  const warn = createReporter('warn');
  const reader = new PrometheusExporter({ preventServerStart: true });
  const resource = createResource();
  const provider = new MeterProvider({ resource, readers: [reader], views: viewsFor(base) });
  const meter = provider.getMeter(METER_NAME);
  const stopCollectors = startCollectors(
    // The app's version comes from the workers, which run the app.
    COLLECTORS.filter((collector) => collector !== appInfoCollector),
    { meter, meterProvider: provider, options: base },
    report,
  );
  const gatherer = new Gatherer(cluster, workerTimeout, (key, message) =>
    warn(`cluster:${key}`, message),
  );

  const floors = new Floors();
  const source: MetricSource = {
    async collect() {
      const [own, gathered] = await Promise.all([reader.collect(), gatherer.gather()]);
      const contributions: Contribution[] = [
        { worker: PRIMARY_WORKER, snapshot: takeSnapshot(own.resourceMetrics), fresh: true },
        {
          worker: PRIMARY_WORKER,
          snapshot: workerCounts(gathered.workers, gathered.unresponsive),
          fresh: true,
        },
        ...gathered.contributions,
      ];
      const merged = mergeSnapshots(contributions, (key, message) =>
        warn(`cluster:${key}`, message),
      );
      floors.apply(merged);
      return { resourceMetrics: toResourceMetrics(resource, merged), errors: own.errors };
    },
  };
  const exposition = createExposition(source, base, report, warn, meter);
  const handler = withAuthentication(exposition.handler, base.endpoint);
  const { server, ready } = startEndpoint(base.endpoint.mode === 'port', base.endpoint, handler);

  let stopping: Promise<void> | undefined;
  return {
    ready,
    get url() {
      return server?.url();
    },
    handler,
    scrape: () => exposition.text(),
    shutdown: () =>
      (stopping ??= (async () => {
        try {
          await server?.close();
          gatherer.stop();
          await provider.shutdown();
        } finally {
          for (const stop of stopCollectors) stop();
        }
      })()),
  };
}
