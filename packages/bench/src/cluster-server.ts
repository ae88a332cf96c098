/*
 * The apps of the cluster scrape benchmark, each started by cluster-proc.ts over IPC:
 *   node cluster-server.js single <routes>             one process, registerMetrics (no cluster)
 *   node cluster-server.js primary <routes> <workers> <gatherInterval>
 *                                                      serveClusterMetrics + <workers> workers
 *   node cluster-server.js prom-single <routes>        one process, express-prom-bundle
 *   node cluster-server.js prom-primary <routes> <workers>
 *                                                      prom-client's AggregatorRegistry +
 *                                                      <workers> workers with express-prom-bundle
 * Workers run this file too (cluster.setupPrimary). Every app has the same <routes> route
 * templates as the single-process scrape benchmark (server.ts), and each worker listens on a
 * port of its own (`exclusive`), so that the benchmark can give every worker the same series.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import express from 'express';
import promBundle from 'express-prom-bundle';
import { AggregatorRegistry } from 'prom-client';
import {
  registerMetrics,
  serveClusterMetrics,
  type ClusterMetricsHandle,
  type MetricsHandle,
} from 'express-otel-metrics';
import type { Command, Probe, Ready } from './cluster-proc.js';

/** The package's key on the cluster's IPC channel (MESSAGE_KEY in src/cluster/messages.ts). */
const SNAPSHOT_KEY = 'expressOtelMetrics';

const [role, routesArg, workersArg, intervalArg] = process.argv.slice(2);
const ROUTES = Number(routesArg);
/** The apps with prom-client (express-prom-bundle) instead of the package. */
const PROM = role?.startsWith('prom-') === true;
/**
 * One more than the 2,000 label sets of each request metric: the SDK keeps one series of its
 * limit for `otel_metric_overflow`. With the default (2,000), the 2,000th label set would land in
 * that series, and which one does could differ from worker to worker.
 */
const CARDINALITY_LIMIT = 2001;

function app(): express.Express {
  const a = express();
  // As the scrape benchmark's prom-client app (server.ts): its status is a label of the histogram.
  if (PROM) {
    const options = { includeMethod: true, includePath: true, includeStatusCode: true };
    a.use(promBundle({ ...options, promClient: { collectDefaultMetrics: {} } }));
  }
  a.get('/users/:id', (req: Request, res: Response) => {
    res.json({ id: String(req.params.id) });
  });
  // Distinct route templates, so each one is a series of its own (as in server.ts). For the
  // package, every answer is a 200, whatever `?s=` asks: so the request counter has the
  // histogram's 2,000 label sets, as it has in the scrape benchmark, where its default limit keeps
  // it to 2,000 series. prom-client's histogram has the two statuses on half the routes.
  for (let i = 0; i < ROUTES; i++) {
    a.all(`/route${i}`, (req: Request, res: Response) => {
      res.status(PROM && req.query.s === '500' ? 500 : 200).send('ok');
    });
  }
  return a;
}

function listen(a: express.Express): Promise<string> {
  return new Promise((resolve, reject) => {
    // `exclusive`: in a worker, a port of its own instead of one shared through the primary.
    const server: Server = a.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
    server.once('error', reject);
  });
}

function fail(err: unknown): never {
  console.error(err);
  process.exit(1);
}

/** Answers the benchmark's commands until it says stop, or goes away. */
function serve(run: (command: Command) => Promise<unknown>, stop: () => Promise<void>): void {
  let stopping = false;
  const leave = (): void => {
    if (stopping) return;
    stopping = true;
    void stop().finally(() => process.exit(0));
  };
  process.on('message', (command: Command & { id: number }) => {
    if (command.op === 'stop') {
      leave();
      return;
    }
    run(command).then(
      (value) => process.send?.({ id: command.id, value }),
      (err: unknown) => process.send?.({ id: command.id, error: String(err) }),
    );
  });
  // The benchmark has exited (or crashed): nothing is left to measure.
  process.once('disconnect', leave);
  process.once('SIGTERM', leave);
}

async function runSingle(): Promise<void> {
  const a = app();
  const metrics: MetricsHandle | undefined = PROM
    ? undefined
    : registerMetrics(a, {
        appVersion: 'bench',
        appConfig: 'bench',
        cardinalityLimit: CARDINALITY_LIMIT,
        endpoint: { host: '127.0.0.1', port: 0 },
      });
  const appUrl = await listen(a);
  await metrics?.ready;
  const ready: Ready = {
    // express-prom-bundle answers on the app's own port.
    metricsUrl: metrics === undefined ? `${appUrl}/metrics` : (metrics.url as string),
    workers: [{ pid: process.pid, url: appUrl }],
  };
  process.send?.({ ready });
  serve(
    () => Promise.reject(new Error('no such command')),
    async () => metrics?.shutdown(),
  );
}

function runWorker(): void {
  // prom-client answers the primary's requests once an AggregatorRegistry exists in the worker too.
  if (PROM) new AggregatorRegistry();
  const a = app();
  const metrics = PROM
    ? undefined
    : registerMetrics(a, {
        appVersion: 'bench',
        appConfig: 'bench',
        cardinalityLimit: CARDINALITY_LIMIT,
        cluster: true,
      });
  listen(a).then((url) => process.send?.({ bench: 'listening', url }), fail);
  process.once('SIGTERM', () => {
    void Promise.resolve(metrics?.shutdown()).finally(() => process.exit(0));
  });
}

/**
 * One scrape in-process, with the arrival of each worker's snapshot: how long the gathering took,
 * how large each worker's IPC message was as JSON, and what is left after the last one (merge,
 * conversion and writing the exposition).
 */
async function probe(metrics: ClusterMetricsHandle): Promise<Probe> {
  const arrivals: Array<{ at: number; message: unknown }> = [];
  const onMessage = (_worker: Worker, message: unknown): void => {
    if (
      typeof message === 'object' &&
      message !== null &&
      (message as Record<string, unknown>)[SNAPSHOT_KEY] === 'snapshot'
    )
      arrivals.push({ at: performance.now(), message });
  };
  cluster.on('message', onMessage);
  const start = performance.now();
  let text: string;
  try {
    text = await metrics.scrape();
  } finally {
    cluster.off('message', onMessage);
  }
  const end = performance.now();
  // Off the clock: the cost of the JSON that crossed the channel, each way.
  const messages = arrivals.map(({ message }) => {
    const timed = (f: () => unknown): number => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        f();
        times.push(performance.now() - t);
      }
      return times.sort((x, y) => x - y)[2] as number;
    };
    let json = '';
    const stringifyMs = timed(() => (json = JSON.stringify(message)));
    const parseMs = timed(() => JSON.parse(json));
    return { bytes: Buffer.byteLength(json) + 1, stringifyMs, parseMs };
  });
  const ats = arrivals.map((a) => a.at - start);
  return {
    totalMs: end - start,
    firstSnapshotMs: ats.length ? Math.min(...ats) : NaN,
    lastSnapshotMs: ats.length ? Math.max(...ats) : NaN,
    exposition: text.length,
    messages,
  };
}

/** The primary's side of the cluster's metrics: the package's, or prom-client's. */
interface PrimaryMetrics {
  ready: Promise<void>;
  url(): string;
  run(command: Command): Promise<unknown>;
  shutdown(): Promise<void>;
}

function ourPrimary(gatherInterval: number): PrimaryMetrics {
  const metrics = serveClusterMetrics({ endpoint: { port: 0, host: '127.0.0.1' }, gatherInterval });
  // The snapshots the workers have sent: the rounds of gathering, times the workers.
  let snapshots = 0;
  cluster.on('message', (_worker, message: unknown) => {
    if ((message as Record<string, unknown> | null)?.[SNAPSHOT_KEY] === 'snapshot') snapshots++;
  });
  return {
    ready: metrics.ready,
    url: () => metrics.url as string,
    run: (command) => {
      if (command.op === 'probe') return probe(metrics);
      if (command.op === 'snapshots') return Promise.resolve(snapshots);
      return Promise.reject(new Error(`no such command: ${command.op}`));
    },
    shutdown: () => metrics.shutdown(),
  };
}

/** prom-client's cluster primary: `clusterMetrics()` asks every worker at each scrape. */
function promPrimary(): PrimaryMetrics {
  const registry = new AggregatorRegistry();
  const server = createServer((_req, res) => {
    registry.clusterMetrics().then(
      (text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      },
      (err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      },
    );
  });
  const ready = new Promise<void>((resolve, reject) => {
    server.listen(0, '127.0.0.1', resolve);
    server.once('error', reject);
  });
  return {
    ready,
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    run: (command) => Promise.reject(new Error(`no such command: ${command.op}`)),
    shutdown: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function runPrimary(workers: number, metrics: PrimaryMetrics): void {
  cluster.setupPrimary({
    exec: __filename,
    args: [PROM ? 'prom-worker' : 'worker', String(ROUTES)],
  });
  const urls = new Map<Worker, string>();
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) fail(new Error(`worker ${worker.process.pid} exited (${code ?? signal})`));
  });
  cluster.on('message', (worker, message: { bench?: string; url?: string }) => {
    if (message.bench !== 'listening') return;
    urls.set(worker, message.url as string);
    if (urls.size !== workers) return;
    metrics.ready.then(() => {
      const ready: Ready = {
        metricsUrl: metrics.url(),
        workers: [...urls].map(([w, url]) => ({ pid: w.process.pid as number, url })),
      };
      process.send?.({ ready });
    }, fail);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  serve(
    (command) => metrics.run(command),
    async () => {
      stopping = true;
      const live = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      const gone = live.map((w) => new Promise((r) => w.once('exit', r)));
      for (const w of live) w.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const w of live) w.process.kill('SIGKILL');
      }, 5000);
      await Promise.all(gone);
      clearTimeout(timer);
      await metrics.shutdown();
    },
  );
}

if (cluster.isWorker) runWorker();
else if (role === 'primary') runPrimary(Number(workersArg), ourPrimary(Number(intervalArg)));
else if (role === 'prom-primary') runPrimary(Number(workersArg), promPrimary());
else if (role === 'single' || role === 'prom-single') runSingle().catch(fail);
else fail(new Error(`unknown role ${role}`));
