// The process `pnpm bench:instructions` counts under callgrind:
// `node instructions-app.js <variant> <warm-up requests> <requests>`. The app and its client live
// in this one process, over one keep-alive connection, so that every instruction of a request,
// client and server, is in the count and nothing else runs. It prints one JSON line and exits.
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Request, Response, Router } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { context, type Attributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import express from 'express';
import {
  createViews,
  INSTRUMENTS,
  LABELS,
  registerMetrics,
  type MetricsHandle,
} from 'express-otel-metrics';
import {
  ALL_ON_OPTIONS,
  BASE_OPTIONS,
  requestBytes,
  ROUTES_PER_ROUTER,
  TARGETS,
  VARIANTS,
  type Shape,
} from './instruction-variants.js';

const [id, warmup, requests] = process.argv.slice(2) as [string, string, string];
const variant = VARIANTS.find((x) => x.id === id);
if (variant === undefined) throw new Error(`unknown variant ${id}`);

function user(req: Request, res: Response): void {
  const userId = String(req.params.id);
  res.json({ id: userId, name: `user ${userId}`, email: `user${userId}@example.com` });
}

function build(shape: Shape): express.Express {
  const app = express();
  if (shape === 'users') {
    app.get('/users/:id', user);
  } else if (shape === 'routes10' || shape === 'routes1000') {
    const routers = (shape === 'routes10' ? 10 : 1000) / ROUTES_PER_ROUTER;
    for (let g = 0; g < routers; g++) {
      const router = express.Router();
      for (let r = 0; r < ROUTES_PER_ROUTER; r++) router.get(`/res${r}/:id`, user);
      app.use(`/g${g}/:org`, router);
    }
  } else {
    // Each level has routes of its own beside the mount, as an app's routers do; the request
    // passes them by on its way down.
    const depth = shape === 'depth1' ? 1 : 5;
    const routers = Array.from({ length: depth }, () => {
      const router = express.Router();
      router.get('/', (_req: Request, res: Response) => void res.send('index'));
      router.get('/status', (_req: Request, res: Response) => void res.send('ok'));
      return router;
    });
    (routers[depth - 1] as Router).get('/users/:id', user);
    for (let level = depth; level > 1; level--) {
      (routers[level - 2] as Router).use(`/l${level}/:p${level}`, routers[level - 1] as Router);
    }
    app.use('/l1/:p1', routers[0] as Router);
  }
  return app;
}

/** A reader that exports nothing: the `sdk` setup's, read once at the end. */
class Reader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/**
 * The `sdk` setup: what the package's defaults record per request, through the SDK, and nothing
 * else: a histogram record and a counter add at the response's 'close', with new attribute
 * objects of the values the package gives them, called the cheapest way the API allows (literal
 * keys, the active context read once and passed to both). Returns the check of the count.
 */
function recordWithSdkAlone(target: express.Express): (total: number) => Promise<void> {
  const reader = new Reader();
  const provider = new MeterProvider({ views: createViews(BASE_OPTIONS), readers: [reader] });
  const meter = provider.getMeter('express-otel-metrics');
  const latency = meter.createHistogram(INSTRUMENTS.requestLatency, { unit: 's' });
  const count = meter.createCounter(INSTRUMENTS.requestCount);
  const endpoint = TARGETS[variant?.shape as Shape].template;
  // Where the package hooks in too: Express calls the app's `handle` for each request.
  type Handle = (req: IncomingMessage, res: ServerResponse) => void;
  const hooked = target as unknown as { handle: Handle };
  const handle = hooked.handle;
  hooked.handle = function (this: unknown, req: IncomingMessage, res: ServerResponse) {
    const start = performance.now();
    res.on('close', () => {
      const method = req.method as string;
      const active = context.active();
      latency.record((performance.now() - start) / 1000, { method, endpoint }, active);
      count.add(1, { method, endpoint, http_status: String(res.statusCode) }, active);
    });
    // eslint-disable-next-line prefer-rest-params -- every argument Express passes, as it passes them
    Reflect.apply(handle, this, arguments);
  };
  return async (total) => {
    const { resourceMetrics } = await reader.collect();
    const points = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === INSTRUMENTS.requestCount)?.dataPoints;
    const point = points?.[0];
    if (
      points?.length !== 1 ||
      point?.value !== total ||
      point.attributes[LABELS.httpStatus] !== '200' ||
      point.attributes[LABELS.endpoint] !== endpoint
    ) {
      throw new Error(
        `the SDK counted ${JSON.stringify(points)}, expected ${total} under ${endpoint}`,
      );
    }
  };
}

/**
 * The `defaults-hash` experiment: the SDK's attribute hash (sdk-metrics' `utils.hashAttributes`,
 * which sorts the keys with `Array.prototype.sort` and `JSON.stringify`s the pairs on every
 * recording) replaced by one that sorts the few keys in place and joins length-prefixed keys and
 * string values (unique for any strings; other values still go through JSON). The SDK reads the
 * function from its module each time it makes a map, so this must run before any instrument.
 */
function replaceSdkHash(): void {
  const sdkDir = dirname(
    createRequire(require.resolve('express-otel-metrics')).resolve('@opentelemetry/sdk-metrics'),
  );
  const utils = createRequire(__filename)(join(sdkDir, 'utils.cjs')) as {
    hashAttributes: (a: Attributes) => string;
  };
  utils.hashAttributes = (attributes) => {
    const keys = Object.keys(attributes);
    for (let i = 1; i < keys.length; i++) {
      const key = keys[i] as string;
      let j = i - 1;
      for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
      keys[j + 1] = key;
    }
    let out = '';
    for (const key of keys) {
      const value = attributes[key];
      out +=
        typeof value === 'string'
          ? `${key.length}:${key}${value.length}:${value}`
          : `${key.length}:${key}j${JSON.stringify(value ?? null)};`;
    }
    return out;
  };
}

if (variant.setup === 'defaults-hash') replaceSdkHash();
const app = build(variant.shape);
// Registered after the routes, which the package allows (it wraps `app.handle`), and which keeps
// the app's layers the same in every variant.
const handle: MetricsHandle | undefined =
  variant.setup === 'bare' || variant.setup === 'sdk'
    ? undefined
    : registerMetrics(app, {
        ...BASE_OPTIONS,
        ...(variant.setup === 'all-on' && ALL_ON_OPTIONS),
      });
const checkSdk = variant.setup === 'sdk' ? recordWithSdkAlone(app) : undefined;

/**
 * Sends `count` requests one after another on `socket`, each once the previous answer is read in
 * full; a minimal parser (status line, Content-Length), so the client adds few instructions.
 */
function send(socket: Socket, request: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = count;
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      for (;;) {
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffered.toString('latin1', 0, headEnd);
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length === null || !head.startsWith('HTTP/1.1 200 ')) {
          socket.off('data', onData);
          reject(new Error(`unexpected answer: ${head}`));
          return;
        }
        const end = headEnd + 4 + Number(length[1]);
        if (buffered.length < end) return;
        buffered = buffered.subarray(end);
        if (--left === 0) {
          socket.off('data', onData);
          resolve();
          return;
        }
        socket.write(request);
      }
    };
    socket.on('data', onData);
    socket.write(request);
  });
}

/** The value of the exposition's first sample of `metric` whose labels include `labels`. */
function sample(text: string, metric: string, labels: readonly string[]): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${metric}{`) && labels.every((label) => l.includes(label)));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

/**
 * Whether the package recorded every request under the measured route's template, and, all on,
 * the series of its options too: a variant that records less would be counted as cheaper.
 */
async function check(metrics: MetricsHandle, total: number): Promise<void> {
  const text = await metrics.scrape();
  const route = `endpoint="${TARGETS[variant?.shape as Shape].template}"`;
  const counts: Array<[string, string[], number]> = [
    ['app_request_count_total', [route, 'http_status="200"'], total],
  ];
  if (variant?.setup === 'all-on') {
    counts.push(
      ['app_request_count_total', [route, 'tenant="acme"'], total],
      ['app_response_size_bytes_count', [route], total],
      ['app_request_size_bytes_count', [route], total],
      ['app_requests_in_flight', ['method="GET"'], 0],
    );
  }
  for (const [metric, labels, expected] of counts) {
    const found = sample(text, metric, labels);
    if (found !== expected) {
      throw new Error(`${metric}{${labels.join(',')}} is ${found}, expected ${expected}`);
    }
  }
}

async function main(): Promise<void> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((r) => socket.once('connect', r));
  const request = requestBytes(variant?.shape as Shape);
  const total = Number(warmup) + Number(requests);
  // Warm-up and measured requests are one loop: the driver takes the difference of two counts
  // that differ only in `requests`, so both the start-up and the warm-up cancel out.
  await send(socket, request, total);
  if (handle !== undefined) await check(handle, total);
  if (checkSdk !== undefined) await checkSdk(total);
  process.stdout.write(`${JSON.stringify({ pid: process.pid, requests: total })}\n`);
  // At once: the exit's own work is the same in every run, and nothing after it is measured.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
