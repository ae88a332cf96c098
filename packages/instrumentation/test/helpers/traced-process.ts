/*
 * An Express app with the package in a Node process where OpenTelemetry's NodeSDK traces: with
 * instrumentation-http's server spans, or with spans the app starts itself around its answer. The
 * sampler comes from OTEL_TRACES_SAMPLER, as the SDK reads it. The app's one route,
 * `/sleep/:ms`, answers after `ms` milliseconds with the ids of the span active in its handler,
 * so that a test can tell which trace each request was. The package's exemplars are read through
 * the collected data its exposition is written from (`collectedOf`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Naming, RegisterMetricsOptions } from '../../src/index';
import { driveChild, type Reply } from './child-ipc';

export interface TracedAppConfig {
  /**
   * `'http'`: instrumentation-http's server span, active when the package sees the request.
   * `'app'`: no instrumentation; the route handler answers inside a span of its own, active only
   * once the package has started timing the request.
   */
  spans: 'http' | 'app';
  /** OTEL_TRACES_SAMPLER (and its argument, OTEL_TRACES_SAMPLER_ARG, if any). */
  sampler: string;
  samplerArg?: string;
  naming: Naming;
  exemplars?: boolean;
  latencyBuckets: readonly number[];
  /**
   * `'sdk'`: the package records into NodeSDK's provider (option `meterProvider`, with
   * `createViews`), which a `createPrometheusReader` reads and serves on a port of its own
   * (`metricsUrl`); `points()` is then not available. Otherwise the package's own provider.
   */
  provider?: 'own' | 'sdk';
}

/** What the route handler answers: the span active in it, if any. */
export interface HandlerSpan {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** A span the SDK ended. */
export interface EndedSpan {
  name: string;
  traceId: string;
  spanId: string;
}

/** A point of one of the package's request metrics, with its exemplars. */
export interface ExemplarPoint {
  metric: string;
  attributes: Record<string, unknown>;
  /** A histogram's bucket bounds and counts; absent for a counter. */
  boundaries?: number[];
  counts?: number[];
  value?: number;
  exemplars?: Array<{ traceId: string; spanId: string; value: number; timestamp: number } | null>;
}

type Op = 'points' | 'spans' | 'shutdown';

export interface TracedAppProcess {
  url: string;
  /** The endpoint of createPrometheusReader, with `provider: 'sdk'`. */
  metricsUrl: string | undefined;
  /** The request metrics' points as the exposition would write them, exemplars included. */
  points(): Promise<ExemplarPoint[]>;
  /** The spans the SDK has ended so far. */
  spans(): Promise<EndedSpan[]>;
  stop(): Promise<number | null>;
}

const START_TIMEOUT_MS = 20_000;

export async function startTracedApp(config: TracedAppConfig): Promise<TracedAppProcess> {
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'ts-child.cjs'), __filename, JSON.stringify(config)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        OTEL_NODE_RESOURCE_DETECTORS: 'env',
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_TRACES_SAMPLER: config.sampler,
        ...(config.samplerArg !== undefined && { OTEL_TRACES_SAMPLER_ARG: config.samplerArg }),
      },
    },
  );
  const driven = driveChild<{ url: string; metricsUrl?: string }>(child, START_TIMEOUT_MS);
  const { url, metricsUrl } = await driven.ready;
  const call = (op: Op): Promise<unknown> => driven.call({ op });
  return {
    url,
    metricsUrl,
    points: async () => (await call('points')) as ExemplarPoint[],
    spans: async () => (await call('spans')) as EndedSpan[],
    stop: async () => {
      if (child.exitCode === null) await call('shutdown');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await driven.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The child. */
async function serve(config: TracedAppConfig): Promise<void> {
  const api = await import('@opentelemetry/api');
  const ended: EndedSpan[] = [];
  const recorder = {
    onStart: () => undefined,
    onEnd: (span: { name: string; spanContext(): { traceId: string; spanId: string } }) => {
      const { traceId, spanId } = span.spanContext();
      ended.push({ name: span.name, traceId, spanId });
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const instrumentations =
    config.spans === 'http'
      ? [new (await import('@opentelemetry/instrumentation-http')).HttpInstrumentation()]
      : [];
  const { createPrometheusReader, createViews, registerMetrics } =
    await import('../../src/index.js');
  const { collectedOf } = await import('../../src/register.js');
  const recorded: RegisterMetricsOptions = {
    naming: config.naming,
    latencyBuckets: config.latencyBuckets,
    collectors: { process: false, runtime: false, gc: false, eventLoop: false },
    ...(config.exemplars !== undefined && { exemplars: config.exemplars }),
  };
  const sdkProvider = config.provider === 'sdk';
  // With the SDK's provider, the README's setup; else no metric readers on the SDK's side.
  const reader = sdkProvider
    ? createPrometheusReader({ naming: config.naming, endpoint: { port: 0, host: '127.0.0.1' } })
    : undefined;
  const sdk = new NodeSDK({
    spanProcessors: [recorder],
    instrumentations,
    metricReaders: reader === undefined ? [] : [reader],
    ...(sdkProvider && { views: createViews(recorded) }),
  });
  sdk.start();
  await reader?.ready;

  const { default: express } = await import('express');
  const app = express();
  const metrics = registerMetrics(
    app,
    sdkProvider
      ? { ...recorded, meterProvider: api.metrics.getMeterProvider() }
      : { ...recorded, endpoint: { mode: 'none' } },
  );
  const tracer = api.trace.getTracer('traced-app');

  const active = (): HandlerSpan | undefined => {
    const span = api.trace.getActiveSpan()?.spanContext();
    return span === undefined
      ? undefined
      : {
          traceId: span.traceId,
          spanId: span.spanId,
          sampled: (span.traceFlags & api.TraceFlags.SAMPLED) !== 0,
        };
  };
  app.get('/sleep/:ms', (req, res) => {
    setTimeout(() => {
      if (config.spans === 'http') {
        res.json(active() ?? null);
        return;
      }
      // The app's own span, started only now, after the package began timing the request.
      tracer.startActiveSpan('handler', (span) => {
        res.json(active() ?? null);
        span.end();
      });
    }, Number(req.params.ms));
  });

  const { listen } = await import('./apps.js');
  const running = await listen(app);

  const points = async (): Promise<ExemplarPoint[]> => {
    const collected = await collectedOf(metrics);
    const out: ExemplarPoint[] = [];
    for (const { metrics: list } of collected.scopeMetrics) {
      for (const metric of list) {
        for (const point of metric.dataPoints as Array<{
          attributes: Record<string, unknown>;
          value: number | { buckets: { boundaries: number[]; counts: number[] } };
          exemplars?: ExemplarPoint['exemplars'];
        }>) {
          const { value } = point;
          out.push({
            metric: metric.descriptor.name,
            attributes: { ...point.attributes },
            ...(typeof value === 'number'
              ? { value }
              : { boundaries: value.buckets.boundaries, counts: value.buckets.counts }),
            // Holes as null: what JSON (and the IPC channel) makes of them.
            ...(point.exemplars && { exemplars: point.exemplars.map((e) => e ?? null) }),
          });
        }
      }
    }
    return out;
  };

  process.on('message', (command: { id: number; op: Op }) => {
    const run = async (): Promise<unknown> => {
      switch (command.op) {
        case 'points':
          return points();
        case 'spans':
          return ended;
        case 'shutdown':
          await running.close();
          await metrics.shutdown();
          return sdk.shutdown();
      }
    };
    run().then(
      (value) => {
        process.send?.({ id: command.id, value } satisfies Reply);
        if (command.op === 'shutdown') process.disconnect();
      },
      (err: unknown) => process.send?.({ id: command.id, error: String(err) } satisfies Reply),
    );
  });
  process.send?.({ ready: { url: running.url, metricsUrl: reader?.url } });
}

if (require.main === module) {
  serve(JSON.parse(process.argv[2] ?? '{}') as TracedAppConfig).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
    process.disconnect();
  });
}
