/*
 * A node:cluster app in a process tree of its own, driven by a test over IPC: the primary serves
 * the cluster's metrics (`serveClusterMetrics`) and forks workers running an Express app with
 * `registerMetrics(app, { cluster: true })`, all sharing one app port, as in production. A worker
 * that exits is replaced, as a process manager would.
 */
import { spawn } from 'node:child_process';
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express5';
import {
  registerMetrics,
  serveClusterMetrics,
  type ClusterMetricsHandle,
  type Naming,
} from '../../src/index';
import { MESSAGE_KEY } from '../../src/cluster/messages';
import { driveChild, type Reply } from './child-ipc';

export interface ClusterConfig {
  workers: number;
  workerTimeout?: number;
  /**
   * The primary's `gatherInterval`; 0 (every scrape asks the workers) unless given, so that a
   * scrape right after the load counts all of it, as the tests written for that mode expect.
   */
  gatherInterval?: number;
  /** The naming of the primary and the workers alike; the package's default when absent. */
  naming?: Naming;
  /**
   * Each worker runs OpenTelemetry's NodeSDK (sampling every trace, exporting none) and answers
   * every request inside a span of the app's own, whose ids it sends back in `x-span`
   * (`traceId/spanId`): the package keeps exemplars of them.
   */
  traced?: boolean;
}

type Op =
  | { op: 'pids' }
  | { op: 'kill'; slot: number }
  | { op: 'retire'; slot: number }
  | { op: 'block'; slot: number; ms: number }
  | { op: 'snapshots' }
  | { op: 'stop' };

/** Primary to worker, on the app's own messages. */
type AppMessage = { app: 'retire' } | { app: 'block'; ms: number };

export interface ClusterProcess {
  readonly appUrl: string;
  readonly metricsUrl: string;
  /** The live workers' pids, in fork order. */
  pids(): Promise<number[]>;
  /** SIGKILLs the worker at this position of `pids()`; the primary forks a replacement. */
  kill(slot: number): Promise<void>;
  /** Asks that worker to shut down gracefully (metrics first); a replacement is forked. */
  retire(slot: number): Promise<void>;
  /** Blocks that worker's event loop for `ms` (answers before the block starts). */
  block(slot: number, ms: number): Promise<void>;
  /** The snapshots the primary has received from its workers so far: the answers it asked for. */
  snapshots(): Promise<number>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

export async function startCluster(config: ClusterConfig): Promise<ClusterProcess> {
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'ts-child.cjs'), __filename, JSON.stringify(config)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // The SDK of traced workers: no resource detection beyond the environment, no exports.
      env: {
        ...process.env,
        ...(config.traced === true && {
          OTEL_NODE_RESOURCE_DETECTORS: 'env',
          OTEL_TRACES_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
        }),
      },
    },
  );
  const driven = driveChild<{ appUrl: string; metricsUrl: string }>(child, START_TIMEOUT_MS);
  const { exited } = driven;
  const ready = await driven.ready;
  const call = (op: Op): Promise<unknown> => driven.call(op);
  let stopping: Promise<void> | undefined;
  return {
    ...ready,
    pids: async () => (await call({ op: 'pids' })) as number[],
    kill: async (slot) => {
      await call({ op: 'kill', slot });
    },
    retire: async (slot) => {
      await call({ op: 'retire', slot });
    },
    block: async (slot, ms) => {
      await call({ op: 'block', slot, ms });
    },
    snapshots: async () => (await call({ op: 'snapshots' })) as number,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null) {
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await call({ op: 'stop' }).catch(() => undefined);
          await exited;
          clearTimeout(timer);
        }
      })()),
  };
}

async function runWorker(config: ClusterConfig): Promise<void> {
  if (config.traced === true) {
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    // A processor of its own, so that the SDK sets up tracing with OTEL_TRACES_EXPORTER=none.
    const kept = {
      onStart: () => undefined,
      onEnd: () => undefined,
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    new NodeSDK({ spanProcessors: [kept], instrumentations: [], metricReaders: [] }).start();
  }
  const api = await import('@opentelemetry/api');
  const app = express();
  const metrics = registerMetrics(app, {
    appVersion: 'v1',
    appConfig: 'test',
    cluster: true,
    ...(config.naming !== undefined && { naming: config.naming }),
  });
  app.use((_req, res, next) => {
    // Tells the test which worker answered, so it can see both did.
    res.setHeader('x-worker-pid', String(process.pid));
    if (config.traced !== true) {
      next();
      return;
    }
    api.trace.getTracer('cluster-app').startActiveSpan('request', (span) => {
      const { traceId, spanId } = span.spanContext();
      res.setHeader('x-span', `${traceId}/${spanId}`);
      res.once('finish', () => span.end());
      next();
    });
  });
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.post('/users', (_req, res) => {
    res.status(201).end();
  });
  // Not counted in tests that count: a second registration must be refused.
  app.get('/register-again', (_req, res) => {
    try {
      registerMetrics(express(), { cluster: true });
      res.send('accepted');
    } catch (err) {
      res.send(`${(err as Error).name}: ${(err as Error).message}`);
    }
  });
  const server: Server = app.listen(0, '127.0.0.1');
  process.on('message', (message: AppMessage) => {
    if (typeof message !== 'object' || message === null || !('app' in message)) return;
    if (message.app === 'block') {
      const until = Date.now() + message.ms;
      setImmediate(() => {
        while (Date.now() < until) {
          // The event loop is stuck, as in a handler doing heavy synchronous work.
        }
      });
    } else if (message.app === 'retire') {
      // A graceful stop: stop taking requests, hand the last counts to the primary, then leave.
      server.close();
      server.closeAllConnections();
      void metrics.shutdown().then(() => cluster.worker?.disconnect());
    }
  });
}

function runPrimary(config: ClusterConfig): void {
  const metrics: ClusterMetricsHandle = serveClusterMetrics({
    endpoint: { port: 0, host: '127.0.0.1' },
    ...(config.workerTimeout !== undefined && { workerTimeout: config.workerTimeout }),
    gatherInterval: config.gatherInterval ?? 0,
    ...(config.naming !== undefined && { naming: config.naming }),
  });
  cluster.setupPrimary({ exec: __filename, args: [JSON.stringify(config)] });
  let snapshots = 0;
  cluster.on('message', (_worker, message: unknown) => {
    if ((message as Record<string, unknown> | null)?.[MESSAGE_KEY] === 'snapshot') snapshots++;
  });
  let stopping = false;
  const workers: Worker[] = [];
  let appUrl: string | undefined;
  const fork = (): void => {
    const worker = cluster.fork();
    workers.push(worker);
    worker.once('listening', (address: AddressInfo) => {
      appUrl ??= `http://127.0.0.1:${address.port}`;
    });
  };
  cluster.on('exit', (worker) => {
    workers.splice(workers.indexOf(worker), 1);
    if (!stopping) fork();
  });
  for (let i = 0; i < config.workers; i++) fork();

  let listening = 0;
  cluster.on('listening', () => {
    listening++;
    if (listening !== config.workers) return;
    void metrics.ready.then(() => {
      process.send?.({ ready: { appUrl, metricsUrl: metrics.url } });
    });
  });

  const at = (slot: number): Worker => {
    const worker = workers[slot];
    if (worker === undefined) throw new Error(`no worker at ${slot}`);
    return worker;
  };
  process.on('message', (command: Op & { id: number }) => {
    const run = async (): Promise<unknown> => {
      switch (command.op) {
        case 'pids':
          return workers.map((w) => w.process.pid);
        case 'kill':
          at(command.slot).process.kill('SIGKILL');
          return undefined;
        case 'retire':
          at(command.slot).send({ app: 'retire' } satisfies AppMessage);
          return undefined;
        case 'block':
          at(command.slot).send({ app: 'block', ms: command.ms } satisfies AppMessage);
          return undefined;
        case 'snapshots':
          return snapshots;
        case 'stop': {
          stopping = true;
          await metrics.shutdown();
          const gone = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
          for (const w of workers) w.process.kill('SIGTERM');
          await Promise.all(gone);
          return undefined;
        }
      }
    };
    run().then(
      (value) => {
        process.send?.({ id: command.id, value } satisfies Reply);
        if (command.op === 'stop') process.disconnect();
      },
      (err: unknown) => process.send?.({ id: command.id, error: String(err) } satisfies Reply),
    );
  });
}

if (require.main === module) {
  const config = JSON.parse(process.argv[2] ?? '{}') as ClusterConfig;
  if (cluster.isPrimary) runPrimary(config);
  else {
    runWorker(config).catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  }
}
