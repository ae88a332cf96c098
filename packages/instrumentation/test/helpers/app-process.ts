/*
 * An instrumented Express app in a Node process of its own, driven by a test over IPC.
 *
 * OTel's OTLP/HTTP transport loads `http` with `import()`, which jest's module sandbox refuses
 * without --experimental-vm-modules, so whatever exports over OTLP runs here, as it would in
 * production: the package's sources through ts-child.cjs, real sockets, the process's own
 * variables, and OTel's exporters loaded by the package itself. The process also shows which
 * modules it has loaded (`require.cache`), which jest's module registry hides.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import express from 'express5';
import type { Express } from 'express';
import { registerMetrics, type RegisterMetricsOptions } from '../../src/index';
import { listen } from './apps';
import { driveChild, type Reply } from './child-ipc';

/** The routes of the app: a parameterised GET, a POST, and a route that throws. */
export function shopApp(): Express {
  const app = express();
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.post('/users', (_req, res) => {
    res.status(201).json({ created: true });
  });
  app.get('/error', () => {
    throw new Error('a route that fails');
  });
  return app;
}

type Op = 'flush' | 'scrape' | 'loaded' | 'shutdown';

interface Command {
  id: number;
  op: Op;
}

interface Ready {
  ready: { url: string; metricsUrl: string | undefined };
}

/** The OTLP packages, and what only they bring in, as they appear in a module's path. */
const OTLP_PACKAGE =
  /[\\/]node_modules[\\/](@opentelemetry[\\/](?:exporter-metrics-otlp-[a-z]+|otlp-[a-z-]+)|@grpc[\\/][a-z-]+|protobufjs)[\\/]/;

function loadedOtlpPackages(): string[] {
  const names = new Set<string>();
  for (const file of Object.keys(require.cache)) {
    const found = OTLP_PACKAGE.exec(file)?.[1];
    if (found !== undefined) names.add(found.replaceAll('\\', '/'));
  }
  return [...names].sort();
}

export interface AppProcess {
  /** The app's base URL (loopback). */
  readonly url: string;
  /** The handle's `url`: the Prometheus endpoint, when there is one. */
  readonly metricsUrl: string | undefined;
  /** `forceFlush()` on the handle. */
  forceFlush(): Promise<void>;
  /** `scrape()` on the handle. */
  scrape(): Promise<string>;
  /** The OTLP packages the process has loaded so far, by name. */
  loaded(): Promise<string[]>;
  /**
   * Shuts the registration down (the push exporters send their last export) and closes the app;
   * resolves with the exit code once the process has ended by itself.
   */
  stop(): Promise<number | null>;
}

const START_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 5_000;

/**
 * Starts the app with these variables on top of the test's own, and `options` (plain data) for
 * `registerMetrics`.
 */
export async function startAppProcess(
  env: Record<string, string>,
  options: RegisterMetricsOptions = {},
): Promise<AppProcess> {
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'ts-child.cjs'), __filename, JSON.stringify(options)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } },
  );
  const driven = driveChild<Ready['ready']>(child, START_TIMEOUT_MS);
  const { exited } = driven;
  const ready = await driven.ready;
  const call = (op: Op): Promise<unknown> => driven.call({ op } satisfies Omit<Command, 'id'>);
  let stopping: Promise<number | null> | undefined;
  return {
    url: ready.url,
    metricsUrl: ready.metricsUrl,
    forceFlush: async () => {
      await call('flush');
    },
    scrape: async () => (await call('scrape')) as string,
    loaded: async () => (await call('loaded')) as string[],
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null) await call('shutdown');
        const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })()),
  };
}

async function serve(options: RegisterMetricsOptions): Promise<void> {
  const app = shopApp();
  const metrics = registerMetrics(app, options);
  await metrics.ready;
  const running = await listen(app);
  const reply = (message: Reply): void => {
    process.send?.(message);
  };
  process.on('message', (command: Command) => {
    const run = async (): Promise<unknown> => {
      switch (command.op) {
        case 'flush':
          return metrics.forceFlush();
        case 'scrape':
          return metrics.scrape();
        case 'loaded':
          return loadedOtlpPackages();
        case 'shutdown':
          await metrics.shutdown();
          return running.close();
      }
    };
    run().then(
      (value) => {
        reply({ id: command.id, value });
        // Without the channel, the process ends by itself once nothing else holds it.
        if (command.op === 'shutdown') process.disconnect();
      },
      (err: unknown) => reply({ id: command.id, error: String(err) }),
    );
  });
  process.send?.({ ready: { url: running.url, metricsUrl: metrics.url } } satisfies Ready);
}

if (require.main === module) {
  serve(JSON.parse(process.argv[2] ?? '{}') as RegisterMetricsOptions).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
    process.disconnect();
  });
}
