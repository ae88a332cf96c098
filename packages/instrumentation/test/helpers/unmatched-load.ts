/*
 * Run by test/integration/cardinality.test.ts in a Node process of its own (started with
 * --expose-gc and ts-child.cjs): an Express 5 app with two routes, instrumented, is sent requests
 * to distinct random unmatched paths with random methods over kept-alive loopback connections. The
 * process reports what the client saw, the exposition and its resident memory; the test asserts on
 * them. Apart from jest, the requests are not slowed by its open-handle tracker and the memory
 * measured is the app's alone.
 */
import { Agent, METHODS, request } from 'node:http';
import { connect } from 'node:net';
import express from 'express5';
import { registerMetrics } from '../../src/index';
import { KNOWN_METHODS, OTHER_METHOD } from '../../src/labels';
import { listen } from './apps';
import { samplesOf } from './exposition';
import { until } from './wait';

export interface LoadOptions {
  seed: number;
  total: number;
  warmUp: number;
  concurrency: number;
  /** A raw CONNECT is sent before every request whose number is a multiple of this. */
  connectEvery: number;
  /** False: the same app and load without the package, for the memory Node itself takes. */
  instrumented: boolean;
}

export interface LoadResult {
  /** `[method label, status received, requests]`, from the client's side. */
  seen: Array<[string, number, number]>;
  /** What the raw CONNECTs got back before the server closed their connections. */
  connects: Array<{ reply: string; error?: string }>;
  /** Resident memory after a full GC, in bytes. */
  rssAfterWarmUp: number;
  rssAtEnd: number;
  /** Wall time of all the requests. */
  seconds: number;
  exposition: string;
}

// Node hands CONNECT to the server's 'connect' event and, with no listener, drops the socket, so
// it never reaches the app; it is sent raw instead, to show it leaves no series behind.
const APP_METHODS = METHODS.filter((m) => m !== 'CONNECT');

/** xorshift32: the run needs reproducible, not strong, randomness. */
function randomSource(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

// RFC 3986 pchar without '!', which marks the request number and so keeps every path distinct.
const PCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~$&'()*+,;=:@";

// The app's own routes; a generated path that would reach one is drawn again.
const ROUTED = /^\/(api|health)(\/|\?|$)/i;

function pathSource(random: () => number): (index: number) => string {
  const below = (n: number): number => Math.floor(random() * n);
  const percentByte = (): string => {
    const hex = below(256).toString(16).padStart(2, '0');
    return `%${random() < 0.5 ? hex.toUpperCase() : hex}`;
  };
  const text = (maxLength: number): string => {
    let out = '';
    for (let n = 1 + below(maxLength); n > 0; n--) {
      out += random() < 0.1 ? percentByte() : PCHARS.charAt(below(PCHARS.length));
    }
    return out;
  };
  return (index) => {
    for (;;) {
      const segments = Array.from({ length: 1 + below(8) }, () => text(12));
      segments[below(segments.length)] += `!${index.toString(36)}`;
      let path = `/${segments.join('/')}`;
      if (random() < 0.5) {
        const pairs = Array.from({ length: 1 + below(4) }, () => `${text(6)}=${text(16)}`);
        path += `?${pairs.join('&')}`;
      }
      if (!ROUTED.test(path)) return path;
    }
  };
}

function sendKeptAlive(agent: Agent, port: number, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function rawConnect(port: number, path: string): Promise<{ reply: string; error?: string }> {
  return new Promise((resolve) => {
    let reply = '';
    let error: string | undefined;
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`CONNECT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (reply += chunk));
    // A reset is the expected end; its code goes into the result for the test to show.
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on('close', () => resolve(error === undefined ? { reply } : { reply, error }));
  });
}

async function settledRss(gc: () => void): Promise<number> {
  // Finalizers and weak callbacks run between collections; a second one frees what they let go.
  for (let round = 0; round < 2; round++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage.rss();
}

export async function runUnmatchedLoad(options: LoadOptions): Promise<LoadResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run this with node --expose-gc');
  const random = randomSource(options.seed);
  const nextPath = pathSource(random);
  const known = new Set(KNOWN_METHODS);

  const app = express();
  const metrics = options.instrumented
    ? registerMetrics(app, {
        endpoint: { mode: 'none' },
        collectors: { process: false, runtime: false, gc: false, eventLoop: false },
      })
    : undefined;
  app.get('/api/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/health', (_req, res) => {
    res.send('ok');
  });
  const running = await listen(app);
  const port = Number(new URL(running.url).port);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });

  const seen = new Map<string, [string, number, number]>();
  const connects: LoadResult['connects'] = [];
  let next = 0;
  const drive = async (upTo: number): Promise<void> => {
    const worker = async (): Promise<void> => {
      while (next < upTo) {
        const index = next++;
        if (index % options.connectEvery === 0) {
          connects.push(await rawConnect(port, nextPath(options.total + index)));
        }
        const method = APP_METHODS[Math.floor(random() * APP_METHODS.length)] as string;
        const status = await sendKeptAlive(agent, port, method, nextPath(index));
        const label = known.has(method) ? method : OTHER_METHOD;
        const key = `${label} ${status}`;
        const entry = seen.get(key) ?? [label, status, 0];
        entry[2]++;
        seen.set(key, entry);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  };

  try {
    const started = performance.now();
    await drive(options.warmUp);
    const rssAfterWarmUp = await settledRss(gc);
    await drive(options.total);
    const rssAtEnd = await settledRss(gc);
    const seconds = (performance.now() - started) / 1000;
    // The last responses' 'close' events may still be on their way to the counter.
    const exposition =
      metrics === undefined
        ? ''
        : await until(
            () => metrics.scrape(),
            (t) =>
              samplesOf(t, 'app_request_count_total').reduce((n, s) => n + s.value, 0) >=
              options.total,
          );
    return { seen: [...seen.values()], connects, rssAfterWarmUp, rssAtEnd, seconds, exposition };
  } finally {
    agent.destroy();
    await running.close();
    await metrics?.shutdown();
  }
}

if (require.main === module) {
  const options = JSON.parse(process.argv[2] ?? '') as LoadOptions;
  runUnmatchedLoad(options).then(
    // Disconnecting once the result is written lets the process end by itself, which it only
    // does when the server, the connections and the provider are all closed.
    (result) => process.send?.(result, () => process.disconnect()),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
