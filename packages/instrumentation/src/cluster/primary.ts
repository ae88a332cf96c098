import cluster from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appInfoCollector } from '../collectors/app-info.js';
import { COLLECTORS } from '../collectors/index.js';
import type { MetricSource } from '../export/exposition.js';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { CATALOGUE, METER_NAME, type SeriesDef } from '../catalogue.js';
import type { Collected, CollectedMetric } from '../export/collected.js';
import { PRIMARY_WORKER } from '../labels.js';
import { resolveExport } from '../options/exporters.js';
import { resolvePrimaryOptions } from '../options/resolve.js';
import { resolveServing } from '../options/serving.js';
import type { ClusterPrimaryOptions } from '../options/types.js';
import { buildPipeline, inertPipeline, type Pipeline } from '../pipeline.js';
import { createReporter } from '../report.js';
import { Gatherer } from './gatherer.js';
import { Floors } from './floors.js';
import { mergeCollected } from './merge.js';
import { Rounds } from './rounds.js';

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

/** The primary's series about the workers, as collected data to merge with the rest. */
function workerCounts(workers: number, unresponsive: number): Collected {
  const gauge = (series: SeriesDef, value: number): CollectedMetric => ({
    descriptor: series,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [{ attributes: {}, value }],
  });
  return {
    resource: { attributes: {} },
    scopeMetrics: [
      {
        scope: { name: METER_NAME },
        metrics: [
          gauge(CATALOGUE.cluster.workers.prometheus, workers),
          gauge(CATALOGUE.cluster.unresponsive.prometheus, unresponsive),
        ],
      },
    ],
  };
}

/**
 * The primary's half of cluster mode: serves one exposition for the whole cluster, gathered from
 * every worker (`registerMetrics(app, { cluster: true })`) over the cluster's IPC channel every
 * `gatherInterval` ms (or at each scrape with `0`), added up with the primary's own process series
 * at each scrape. Call it once, in the primary.
 */
export function serveClusterMetrics(options?: ClusterPrimaryOptions): ClusterMetricsHandle {
  const report = createReporter();
  const { base, workerTimeout, gatherInterval } = resolvePrimaryOptions(options);
  if (!cluster.isPrimary) {
    throw new TypeError(
      'express-otel-metrics: serveClusterMetrics() belongs in the primary of node:cluster; workers call registerMetrics(app, { cluster: true })',
    );
  }
  // The workers read OTEL_METRICS_EXPORTER too: when it leaves Prometheus out they push their own
  // series (over OTLP, say), answer no primary, and there is nothing to do here.
  const target = resolveExport(base, process.env, report);
  const serving = resolveServing(base, target, process.env);
  if (serving.mode === 'none') {
    const pipeline = inertPipeline(
      target.kind === 'disabled'
        ? serving.reason
        : `${serving.reason}: every worker exports its own series`,
      target.kind === 'disabled',
    );
    return handleOf(pipeline, () => pipeline.shutdown());
  }

  const warn = (key: string, message: string): void => report.warn(`cluster:${key}`, message);
  const gatherer = new Gatherer(cluster, workerTimeout, warn);
  const rounds = new Rounds(gatherer, gatherInterval, warn, (err) =>
    report.error('cluster:gather', "gathering the workers' metrics failed", err),
  );
  const floors = new Floors();
  const pipeline = buildPipeline({
    options: base,
    // The primary serves its series to Prometheus only: over OTLP or to the console, the workers
    // push their own, and the primary has none of the app's to add.
    target: { kind: 'own', exporters: [{ type: 'prometheus' }], summary: 'prometheus' },
    serving,
    // The app's version comes from the workers, which run the app.
    collectors: COLLECTORS.filter((collector) => collector !== appInfoCollector),
    report,
    source: (reader, resource): MetricSource => ({
      async collect() {
        const [own, round] = await Promise.all([reader.collect(), rounds.current()]);
        // The workers' part was merged when its round ended; only the primary's is added here.
        const merged = mergeCollected(
          [
            { worker: PRIMARY_WORKER, data: own.resourceMetrics, fresh: true },
            {
              worker: PRIMARY_WORKER,
              data: workerCounts(round.workers, round.unresponsive),
              fresh: true,
            },
            { merged: round.merged, fresh: true },
          ],
          resource,
          warn,
        );
        floors.apply(merged);
        return { resourceMetrics: merged, errors: own.errors };
      },
    }),
  });
  return handleOf(pipeline, () =>
    pipeline.shutdown(() => {
      rounds.stop();
      gatherer.stop();
    }),
  );
}

function handleOf(pipeline: Pipeline, shutdown: () => Promise<void>): ClusterMetricsHandle {
  return {
    ready: pipeline.ready,
    get url() {
      return pipeline.url();
    },
    handler: pipeline.handler,
    scrape: () => pipeline.scrape(),
    shutdown,
  };
}
