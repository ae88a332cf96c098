/*
 * An Express app with the package (a provider of its own) in a Node process where OpenTelemetry's
 * NodeSDK runs the HTTP, Express and Node.js runtime instrumentations, driven by a test over IPC.
 * The instrumentations patch `http` for the whole process, so they run here and not in jest's
 * worker. The SDK's side has an in-memory reader and a span recorder, so that a test sees what it
 * counts and traces.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Naming } from '../../src/index';
import { driveChild, type Reply } from './child-ipc';

/**
 * The README's hook for instrumentation-http, as written there (a test checks): a request to
 * `/metrics` is not the app's.
 */
export const IGNORE_SCRAPES_HOOK =
  "ignoreIncomingRequestHook: (req) => req.url?.split('?')[0] === '/metrics'";
const ignoreScrapes = (req: IncomingMessage): boolean => req.url?.split('?')[0] === '/metrics';

export interface SdkAppConfig {
  naming: Naming;
  /** The package's endpoint: its own port, or its handler mounted on the app at `/metrics`. */
  serving: 'port' | 'mounted';
  /** Which is set up first: the SDK (so its patches), or the package and its metrics server. */
  order: 'sdk-first' | 'package-first';
  /** Give instrumentation-http {@link IGNORE_SCRAPES_HOOK}. */
  ignoreScrapes: boolean;
  /** Serve the package's own port over HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

/** A span the SDK ended, as the test needs it. */
export interface RecordedSpan {
  name: string;
  /** `SpanKind`: 1 is SERVER. */
  kind: number;
  attributes: Record<string, unknown>;
}

/** A data point of instrumentation-http's `http.server.request.duration`. */
export interface DurationPoint {
  attributes: Record<string, unknown>;
  count: number;
}

/** Whether each of Node's server prototypes has an `emit` of its own (else EventEmitter's). */
export type OwnEmit = Record<'http' | 'https' | 'tls' | 'net', boolean>;

interface Ready {
  url: string;
  metricsUrl: string;
  /** Before anything is patched. */
  ownEmitBefore: OwnEmit;
  /** Once instrumentation-http is on. */
  ownEmitAfter: OwnEmit;
}

type Op = 'spans' | 'serverDuration' | 'shutdown';

export interface SdkAppProcess extends Ready {
  /** The spans the SDK has ended so far. */
  spans(): Promise<RecordedSpan[]>;
  /** instrumentation-http's server histogram, from the SDK's reader; [] when it has none. */
  serverDuration(): Promise<DurationPoint[]>;
  /** Shuts the SDK and the package down; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const START_TIMEOUT_MS = 20_000;

export async function startSdkApp(config: SdkAppConfig): Promise<SdkAppProcess> {
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'ts-child.cjs'), __filename, JSON.stringify(config)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, OTEL_NODE_RESOURCE_DETECTORS: 'env' },
    },
  );
  const driven = driveChild<Ready>(child, START_TIMEOUT_MS);
  const ready = await driven.ready;
  const call = (op: Op): Promise<unknown> => driven.call({ op });
  return {
    ...ready,
    spans: async () => (await call('spans')) as RecordedSpan[],
    serverDuration: async () => (await call('serverDuration')) as DurationPoint[],
    stop: async () => {
      if (child.exitCode === null) await call('shutdown');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await driven.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function ownEmit(): Promise<OwnEmit> {
  const [http, https, tls, net] = await Promise.all([
    import('node:http'),
    import('node:https'),
    import('node:tls'),
    import('node:net'),
  ]);
  return {
    http: Object.hasOwn(http.Server.prototype, 'emit'),
    https: Object.hasOwn(https.Server.prototype, 'emit'),
    tls: Object.hasOwn(tls.Server.prototype, 'emit'),
    net: Object.hasOwn(net.Server.prototype, 'emit'),
  };
}

/** The child: everything is imported here, in the order the config says. */
async function serve(config: SdkAppConfig): Promise<void> {
  const ownEmitBefore = await ownEmit();
  const { MetricReader, DataPointType } = await import('@opentelemetry/sdk-metrics');
  class PullReader extends MetricReader {
    protected override async onForceFlush(): Promise<void> {}
    protected override async onShutdown(): Promise<void> {}
  }
  const reader = new PullReader();
  const spans: RecordedSpan[] = [];
  const recorder = {
    onStart: () => undefined,
    onEnd: (span: { name: string; kind: number; attributes: Record<string, unknown> }) => {
      spans.push({ name: span.name, kind: span.kind, attributes: { ...span.attributes } });
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };

  let sdk: { shutdown(): Promise<void> } | undefined;
  const startSdk = async (): Promise<void> => {
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
    const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
    const { RuntimeNodeInstrumentation } =
      await import('@opentelemetry/instrumentation-runtime-node');
    const started = new NodeSDK({
      metricReaders: [reader],
      spanProcessors: [recorder],
      instrumentations: [
        new HttpInstrumentation(
          config.ignoreScrapes ? { ignoreIncomingRequestHook: ignoreScrapes } : {},
        ),
        new ExpressInstrumentation(),
        new RuntimeNodeInstrumentation(),
      ],
    });
    started.start();
    sdk = started;
  };

  const setUpPackage = async () => {
    const { default: express } = await import('express');
    const { registerMetrics } = await import('../../src/index.js');
    const app = express();
    const metrics = registerMetrics(app, {
      naming: config.naming,
      endpoint:
        config.serving === 'port'
          ? { host: '127.0.0.1', port: 0, ...(config.tls && { tls: config.tls }) }
          : { mode: 'none' as const },
    });
    if (config.serving === 'mounted') app.get('/metrics', metrics.handler);
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    await metrics.ready;
    return { app, metrics };
  };

  let setup: Awaited<ReturnType<typeof setUpPackage>>;
  if (config.order === 'sdk-first') {
    await startSdk();
    setup = await setUpPackage();
  } else {
    setup = await setUpPackage();
    await startSdk();
  }
  const { app, metrics } = setup;
  const { listen } = await import('./apps.js');
  const running = await listen(app);

  const serverDuration = async (): Promise<DurationPoint[]> => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .filter((s) => s.scope.name === '@opentelemetry/instrumentation-http')
      .flatMap((s) => s.metrics)
      .filter(
        (m) =>
          m.descriptor.name === 'http.server.request.duration' &&
          m.dataPointType === DataPointType.HISTOGRAM,
      )
      .flatMap((m) =>
        m.dataPoints.map((p) => ({
          attributes: { ...p.attributes },
          count: (p.value as { count: number }).count,
        })),
      );
  };

  process.on('message', (command: { id: number; op: Op }) => {
    const run = async (): Promise<unknown> => {
      switch (command.op) {
        case 'spans':
          return spans;
        case 'serverDuration':
          return serverDuration();
        case 'shutdown':
          await sdk?.shutdown();
          await metrics.shutdown();
          return running.close();
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
  const metricsUrl = config.serving === 'port' ? (metrics.url as string) : `${running.url}/metrics`;
  process.send?.({
    ready: { url: running.url, metricsUrl, ownEmitBefore, ownEmitAfter: await ownEmit() },
  });
}

if (require.main === module) {
  serve(JSON.parse(process.argv[2] ?? '{}') as SdkAppConfig).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
    process.disconnect();
  });
}
