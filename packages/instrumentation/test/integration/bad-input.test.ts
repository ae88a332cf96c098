import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express, NextFunction, Request, Response } from 'express';
import type express5 from 'express5';
import { registerMetrics, type MetricsHandle } from '../../src/index';
import { FLAVOURS, listen, type Running } from '../helpers/apps';
import { samplesOf } from '../helpers/exposition';
import { checkMetrics, findPromtool } from '../helpers/promtool';
import { parseResponses, RawConnection, type WireResponse } from '../helpers/raw-http';
import { sleep, until } from '../helpers/wait';

// Every case sends the same bytes to two apps built alike, one without and one with
// registerMetrics, and requires the same bytes back (the Date header's value apart), then the
// exact series the package recorded. Requests go over raw sockets so that nothing normalises them
// (method case, paths, pipelining) and so that the comparison covers the framing as well: header
// order and case, chunk sizes, what is left on the connection.

const COUNT = 'app_request_count_total';
const LATENCY = 'app_request_latency_seconds';
const promtool = findPromtool();

/** method, endpoint, http_status, count */
type Series = readonly [string, string, string, number];

/**
 * Sent on a fresh connection once a case's own connections are closed, so that a case expected
 * to record nothing still has a count to wait for, and anything it did record is in by then.
 */
const SENTINEL: Series = ['GET', '/sentinel', '200', 1];

// Not one repeated byte: a lost, repeated or reordered piece of the body changes its digest.
const BIG = Buffer.alloc(10 * 1024 * 1024 + 7);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 31 + (i >> 13)) & 0xff;

let fileDir: string;

interface Target {
  app: Express;
  port: number;
  server: Server;
  /** Emits a route's name once its handler runs, for cases that act while it is still running. */
  reached: EventEmitter;
}

/** What one connection brought back. */
interface Seen {
  responses: WireResponse[];
  /** Bytes after the last complete response. */
  rest: Buffer;
}

interface Case {
  name: string;
  /** Runs only on these flavours (all when absent). */
  flavours?: readonly string[];
  /**
   * The app's `env` setting. Express's error page shows the stack trace in any env but
   * `production`, and a stack that passes through the app's `handle` gains the wrapper's frame;
   * cases about error pages use `production` to compare them byte for byte.
   */
  env?: 'production' | 'development';
  /** Set on the one case that shows the wrapper's frame in development error pages. */
  wrapperFrame?: boolean;
  run(target: Target): Promise<Seen[]>;
  /** Status of each response, over all connections, in order; the same with and without metrics. */
  statuses: number[];
  /** Every series of the counter after the case (the sentinel apart). */
  series: Series[];
}

interface Req {
  method: string;
  bytes: Buffer;
}

/** A request in exactly these bytes; `Connection: close` unless `close` is false. */
function rq(
  method: string,
  target: string,
  options: { headers?: Record<string, string>; body?: string; close?: boolean } = {},
): Req {
  const { headers = {}, body, close = true } = options;
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: test'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  if (close) lines.push('Connection: close');
  return { method, bytes: Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`, 'latin1') };
}

/** Writes every request in one write (pipelined when there are several), reads until the server closes. */
async function exchange(target: Target, ...requests: Req[]): Promise<Seen[]> {
  const conn = await RawConnection.open(target.port);
  conn.write(Buffer.concat(requests.map((r) => r.bytes)));
  await conn.waitClosed();
  return [
    parseResponses(
      conn.received,
      requests.map((r) => r.method),
      true,
    ),
  ];
}

/** One request per connection, one after the other. */
async function each(target: Target, ...requests: Req[]): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const r of requests) seen.push(...(await exchange(target, r)));
  return seen;
}

/** Sends a request (or its start), waits until the handler of `route` runs, then hangs up. */
async function giveUp(target: Target, route: string, bytes: Buffer | string): Promise<Seen[]> {
  const conn = await RawConnection.open(target.port);
  const reached = once(target.reached, route);
  conn.write(bytes);
  await reached;
  await conn.destroy();
  return [parseResponses(conn.received, [], true)];
}

function header(response: WireResponse | undefined, name: string): string {
  const line = response?.head.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (line === undefined) throw new Error(`no ${name} header`);
  return line.slice(name.length + 1).trim();
}

const CASES: Case[] = [
  // Paths
  {
    // Decoding the parameter fails while Express matches the route, before it sets req.route:
    // the 400 belongs to no route.
    name: 'malformed percent-encoding in a route parameter',
    env: 'production',
    run: (t) => exchange(t, rq('GET', '/users/%E0%A4%A')),
    statuses: [400],
    series: [['GET', '<unmatched>', '400', 1]],
  },
  {
    name: 'malformed percent-encoding on an unmatched path',
    run: (t) => exchange(t, rq('GET', '/nowhere/%E0%A4%A?q=%ZZ')),
    statuses: [404],
    series: [['GET', '<unmatched>', '404', 1]],
  },
  {
    // Past Node's 16 KiB limit on the request head, its parser answers 431 and closes the
    // connection; no request object is ever made.
    name: 'a 64 KiB path, refused by Node before the app sees it',
    run: (t) => exchange(t, rq('GET', `/users/${'a'.repeat(64 * 1024)}`)),
    statuses: [431],
    series: [],
  },
  {
    name: 'unicode, raw UTF-8 and percent-encoded',
    run: (t) =>
      each(
        t,
        // The UTF-8 bytes of üñ€, unescaped: Node's parser takes no byte above 0x7f in a target.
        rq('GET', '/users/\u00c3\u00bc\u00c3\u00b1\u00e2\u0082\u00ac'),
        rq('GET', '/users/%C3%BC%C3%B1%E2%82%AC?name=%F0%9F%90%88'),
        rq('GET', '/%F0%9F%90%88'),
      ),
    statuses: [400, 200, 404],
    series: [
      ['GET', '/users/:id', '200', 1],
      ['GET', '<unmatched>', '404', 1],
    ],
  },
  {
    name: 'dot-dot segments',
    run: (t) =>
      each(t, rq('GET', '/users/..'), rq('GET', '/x/../users/1'), rq('GET', '/users/%2e%2e')),
    statuses: [200, 404, 200],
    series: [
      ['GET', '/users/:id', '200', 2],
      ['GET', '<unmatched>', '404', 1],
    ],
  },
  {
    name: 'query strings',
    run: (t) =>
      each(
        t,
        rq('GET', '/users/1?x=1&x=2&y=%ZZ&z[a][b]=1'),
        rq('GET', '/users/2?'),
        rq('GET', '/items??&&=&'),
      ),
    statuses: [200, 200, 200],
    series: [
      ['GET', '/users/:id', '200', 2],
      ['GET', '/items', '200', 1],
    ],
  },
  {
    name: 'double slashes',
    run: (t) => each(t, rq('GET', '//double//slashes'), rq('GET', '//users//1')),
    statuses: [404, 404],
    series: [['GET', '<unmatched>', '404', 2]],
  },
  {
    // The strict route is declared '/dir/', and keeps its trailing slash: strict routing tells it
    // from '/dir'.
    name: 'a trailing slash: tolerated by default, required by a strict router',
    run: (t) => each(t, rq('GET', '/items/'), rq('GET', '/strict/dir/'), rq('GET', '/strict/dir')),
    statuses: [200, 200, 404],
    series: [
      ['GET', '/items', '200', 1],
      ['GET', '/strict/dir/', '200', 1],
      ['GET', '<unmatched>', '404', 1],
    ],
  },

  // Methods
  {
    // Method tokens are case-sensitive; Node's parser knows only upper-case ones and answers 400.
    name: 'lowercase and mixed-case method tokens, refused by Node',
    run: (t) => each(t, rq('get', '/users/1'), rq('Get', '/users/1')),
    statuses: [400, 400],
    series: [],
  },
  {
    name: 'WebDAV methods',
    run: (t) => each(t, rq('PROPFIND', '/dav'), rq('PROPFIND', '/any'), rq('MKCOL', '/users/1')),
    statuses: [207, 200, 404],
    series: [
      ['_OTHER', '/dav', '207', 1],
      ['_OTHER', '/any', '200', 1],
      ['_OTHER', '<unmatched>', '404', 1],
    ],
  },
  {
    name: 'QUERY',
    run: (t) =>
      each(t, rq('QUERY', '/any', { body: '{"q":1}' }), rq('QUERY', '/users/1', { body: '' })),
    statuses: [200, 404],
    series: [
      ['QUERY', '/any', '200', 1],
      ['QUERY', '<unmatched>', '404', 1],
    ],
  },
  {
    // Node emits CONNECT as the server's 'connect' event, never as a request; with no listener
    // it closes the connection without a byte.
    name: 'CONNECT, with no connect listener',
    run: (t) => exchange(t, rq('CONNECT', '127.0.0.1:9', { close: false })),
    statuses: [],
    series: [],
  },

  // Responses
  {
    name: 'a body streamed with res.write over time',
    run: (t) => exchange(t, rq('GET', '/stream')),
    statuses: [200],
    series: [['GET', '/stream', '200', 1]],
  },
  {
    name: '204',
    run: (t) => exchange(t, rq('GET', '/empty')),
    statuses: [204],
    series: [['GET', '/empty', '204', 1]],
  },
  {
    name: '304 to a conditional GET with the ETag',
    run: async (t) => {
      const conn = await RawConnection.open(t.port);
      conn.write(rq('GET', '/etag', { close: false }).bytes);
      const [first] = await conn.read(['GET']);
      conn.write(rq('GET', '/etag', { headers: { 'If-None-Match': header(first, 'etag') } }).bytes);
      await conn.waitClosed();
      return [parseResponses(conn.received, ['GET', 'GET'], true)];
    },
    statuses: [200, 304],
    series: [
      ['GET', '/etag', '200', 1],
      ['GET', '/etag', '304', 1],
    ],
  },
  {
    name: 'HEAD',
    run: (t) => each(t, rq('HEAD', '/users/1'), rq('HEAD', '/stream'), rq('HEAD', '/nope')),
    statuses: [200, 200, 404],
    series: [
      ['HEAD', '/users/:id', '200', 1],
      ['HEAD', '/stream', '200', 1],
      ['HEAD', '<unmatched>', '404', 1],
    ],
  },
  {
    name: 'redirects',
    run: (t) =>
      each(
        t,
        rq('GET', '/old'),
        rq('GET', '/moved'),
        rq('GET', '/old', { headers: { Accept: 'text/html' } }),
      ),
    statuses: [302, 301, 302],
    series: [
      ['GET', '/old', '302', 2],
      ['GET', '/moved', '301', 1],
    ],
  },
  {
    name: 'res.sendFile: whole, a range, a missing file',
    run: (t) =>
      each(
        t,
        rq('GET', '/file'),
        rq('GET', '/file', { headers: { Range: 'bytes=2-9' } }),
        rq('GET', '/missing-file'),
      ),
    statuses: [200, 206, 404],
    series: [
      ['GET', '/file', '200', 1],
      ['GET', '/file', '206', 1],
      ['GET', '/missing-file', '404', 1],
    ],
  },
  {
    name: 'keep-alive: three requests one after the other on one connection',
    run: async (t) => {
      const conn = await RawConnection.open(t.port);
      const methods: string[] = [];
      for (const r of [
        rq('GET', '/users/1', { close: false }),
        rq('POST', '/any', { body: 'hello', close: false }),
        rq('GET', '/nope'),
      ]) {
        methods.push(r.method);
        conn.write(r.bytes);
        await conn.read(methods);
      }
      await conn.waitClosed();
      return [parseResponses(conn.received, methods, true)];
    },
    statuses: [200, 200, 404],
    series: [
      ['GET', '/users/:id', '200', 1],
      ['POST', '/any', '200', 1],
      ['GET', '<unmatched>', '404', 1],
    ],
  },
  {
    name: 'pipelining: five requests in one write',
    run: (t) =>
      exchange(
        t,
        rq('GET', '/users/1', { close: false }),
        rq('HEAD', '/users/2', { close: false }),
        rq('POST', '/any', { body: 'x'.repeat(100), close: false }),
        rq('GET', '/stream', { close: false }),
        rq('GET', '/nope'),
      ),
    statuses: [200, 200, 200, 200, 404],
    series: [
      ['GET', '/users/:id', '200', 1],
      ['HEAD', '/users/:id', '200', 1],
      ['POST', '/any', '200', 1],
      ['GET', '/stream', '200', 1],
      ['GET', '<unmatched>', '404', 1],
    ],
  },
  {
    name: 'a response larger than 10 MiB',
    run: (t) => exchange(t, rq('GET', '/big')),
    statuses: [200],
    series: [['GET', '/big', '200', 1]],
  },
  {
    name: 'a status outside 100-599',
    run: (t) => exchange(t, rq('GET', '/status-999')),
    statuses: [999],
    series: [['GET', '/status-999', 'other', 1]],
  },

  // Failures
  {
    name: 'a handler that throws',
    env: 'production',
    run: (t) => exchange(t, rq('GET', '/sync-throw')),
    statuses: [500],
    series: [['GET', '/sync-throw', '500', 1]],
  },
  {
    // Rejected after an await: the stack no longer runs through `handle`, so even the
    // development page is the same.
    name: 'an async handler that rejects',
    env: 'development',
    flavours: ['Express 5'],
    run: (t) => exchange(t, rq('GET', '/async-reject')),
    statuses: [500],
    series: [['GET', '/async-reject', '500', 1]],
  },
  {
    name: 'next(err) with a status',
    env: 'production',
    run: (t) => exchange(t, rq('GET', '/next-error')),
    statuses: [503],
    series: [['GET', '/next-error', '503', 1]],
  },
  {
    name: 'an error handler that throws',
    env: 'production',
    run: (t) => exchange(t, rq('GET', '/eh/boom')),
    statuses: [500],
    series: [['GET', '/eh/boom', '500', 1]],
  },
  {
    name: 'error pages in development: the stack gains the wrapper frame, nothing else differs',
    env: 'development',
    wrapperFrame: true,
    run: (t) =>
      each(
        t,
        rq('GET', '/users/%E0%A4%A'),
        rq('GET', '/sync-throw'),
        rq('GET', '/next-error'),
        rq('GET', '/eh/boom'),
      ),
    statuses: [400, 500, 503, 500],
    series: [
      ['GET', '<unmatched>', '400', 1],
      ['GET', '/sync-throw', '500', 1],
      ['GET', '/next-error', '503', 1],
      ['GET', '/eh/boom', '500', 1],
    ],
  },
  {
    name: 'a handler that never answers and a client that gives up',
    run: (t) => giveUp(t, 'hang', rq('GET', '/hang').bytes),
    statuses: [],
    series: [['GET', '/hang', '499', 1]],
  },
  {
    name: 'a client that hangs up mid-response',
    run: async (t) => {
      const conn = await RawConnection.open(t.port);
      conn.write(rq('GET', '/drip').bytes);
      await until(
        async () => conn.received.toString('latin1'),
        (text) => text.endsWith('first\n\r\n'),
      );
      await conn.destroy();
      return [parseResponses(conn.received, ['GET'], false)];
    },
    statuses: [],
    series: [['GET', '/drip', '499', 1]],
  },
  {
    // The app has ended the response, but most of it is still queued in the server when the
    // client leaves: the client did not get it.
    name: 'a client that hangs up during a large answer the app has ended',
    run: async (t) => {
      const conn = await RawConnection.open(t.port);
      conn.write(rq('GET', '/big').bytes);
      await until(
        async () => conn.received.length,
        (n) => n > 64 * 1024,
      );
      await conn.destroy();
      // How much arrived before the hang-up depends on timing; the count is what this case checks.
      return [{ responses: [], rest: Buffer.alloc(0) }];
    },
    statuses: [],
    series: [['GET', '/big', '499', 1]],
  },
  {
    // Node's parser fails on the request body after the app has sent its whole answer, and
    // destroys the connection before the response's 'finish': the client has the answer, so it
    // counts with its status.
    name: 'a complete answer, then a malformed chunk in the request body',
    run: (t) =>
      exchange(t, {
        method: 'POST',
        bytes: Buffer.from(
          'POST /created HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
          'latin1',
        ),
      }),
    statuses: [201],
    series: [['POST', '/created', '201', 1]],
  },
  {
    name: 'an upload cut mid-body, read by hand',
    run: (t) =>
      giveUp(
        t,
        'upload',
        `POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`,
      ),
    statuses: [],
    series: [['POST', '/upload', '499', 1]],
  },
  {
    name: 'an upload cut mid-body, read by express.raw',
    run: (t) =>
      giveUp(
        t,
        'upload-parsed',
        `POST /upload-parsed HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`,
      ),
    statuses: [],
    series: [['POST', '/upload-parsed', '499', 1]],
  },
  {
    name: 'an upgrade request, with no upgrade listener',
    run: async (t) => {
      // Node gives the request to the app like any other and keeps the connection as HTTP: a
      // second request on it is answered too.
      const conn = await RawConnection.open(t.port);
      conn.write(
        rq('GET', '/users/1', {
          headers: { Connection: 'Upgrade', Upgrade: 'websocket' },
          close: false,
        }).bytes,
      );
      await conn.read(['GET']);
      conn.write(rq('GET', '/items').bytes);
      await conn.waitClosed();
      return [parseResponses(conn.received, ['GET', 'GET'], true)];
    },
    statuses: [200, 200],
    series: [
      ['GET', '/users/:id', '200', 1],
      ['GET', '/items', '200', 1],
    ],
  },
  {
    // Node hands the socket to the 'upgrade' listener; the app never sees the request.
    name: 'an upgrade request, with an upgrade listener',
    run: async (t) => {
      t.server.on('upgrade', (_req, socket) => {
        socket.end(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbye',
        );
      });
      return exchange(
        t,
        rq('GET', '/users/1', {
          headers: { Connection: 'Upgrade', Upgrade: 'websocket' },
          close: false,
        }),
      );
    },
    statuses: [101],
    series: [],
  },
];

type ExpressFactory = typeof express5;

function buildApp(express: ExpressFactory, reached: EventEmitter): Express {
  const app = express();
  app.get('/sentinel', (_req, res) => {
    res.send('ok');
  });
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/items', (_req, res) => {
    res.send('items');
  });
  const strict = express.Router({ strict: true });
  strict.get('/dir/', (_req, res) => {
    res.send('dir');
  });
  app.use('/strict', strict);
  app.all('/any', (req, res) => {
    res.send(`${req.method} answered`);
  });
  app.propfind('/dav', (_req, res) => {
    res.status(207).type('application/xml').send('<multistatus xmlns="DAV:"/>');
  });
  app.get('/stream', (_req, res) => {
    res.type('text/plain');
    let n = 0;
    const tick = (): void => {
      if (n === 3) {
        res.end('end\n');
        return;
      }
      res.write(`part ${n++}\n`);
      setTimeout(tick, 15);
    };
    tick();
  });
  app.get('/drip', (_req, res) => {
    // One chunk, then nothing until the client leaves.
    res.type('text/plain').write('first\n');
  });
  app.get('/empty', (_req, res) => {
    res.sendStatus(204);
  });
  app.get('/etag', (_req, res) => {
    res.send('a body with an ETag');
  });
  app.get('/old', (_req, res) => {
    res.redirect('/users/1');
  });
  app.get('/moved', (_req, res) => {
    res.redirect(301, '/items');
  });
  app.get('/file', (_req, res) => {
    res.sendFile(join(fileDir, 'file.txt'));
  });
  app.get('/missing-file', (_req, res) => {
    res.sendFile(join(fileDir, 'absent.txt'));
  });
  app.get('/big', (_req, res) => {
    res.send(BIG);
  });
  app.post('/created', (_req, res) => {
    res.status(201).json({ created: true });
  });
  app.get('/status-999', (_req, res) => {
    res.status(999).end();
  });
  app.get('/sync-throw', () => {
    throw new Error('sync failure');
  });
  app.get('/async-reject', (async () => {
    await sleep(1);
    throw new Error('async failure');
  }) as unknown as () => void);
  app.get('/next-error', (_req: Request, _res: Response, next: NextFunction) => {
    next(Object.assign(new Error('unavailable'), { status: 503 }));
  });
  const failing = express.Router();
  failing.get('/eh/boom', () => {
    throw new Error('first failure');
  });
  failing.use((_err: Error, _req: Request, _res: Response, _next: NextFunction) => {
    throw new Error('the error handler failed too');
  });
  app.use(failing);
  app.get('/hang', () => {
    reached.emit('hang');
  });
  app.post('/upload', (req, res) => {
    reached.emit('upload');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.send(`${bytes} bytes`));
  });
  app.post(
    '/upload-parsed',
    (_req, _res, next) => {
      reached.emit('upload-parsed');
      next();
    },
    express.raw({ type: () => true }),
    (req, res) => {
      res.send(`${(req.body as Buffer).length} bytes`);
    },
  );
  return app;
}

/** The response as compared: the Date header's value is the one part that may differ. */
function comparable(seen: Seen[]): unknown {
  return seen.map(({ responses, rest }) => ({
    responses: responses.map((r) => ({
      // Date changes with the clock; every other header, its order and case, must be the same.
      head: r.head.map((l) => (/^date:/i.test(l) ? 'Date: <ignored>' : l)),
      bodyBytes: r.body.length,
      body:
        r.body.length <= 4096
          ? r.body.toString('latin1')
          : createHash('sha256').update(r.body).digest('hex'),
    })),
    // An unfinished response stays here, Date header and all.
    rest: rest.toString('latin1').replace(/^date: .*$/gim, 'Date: <ignored>'),
  }));
}

/**
 * How finalhandler prints the frame of the package's wrapper around `app.handle`. V8 names the
 * receiver `app` in Node 24 and `Function` in Node 22.
 */
const WRAPPER_FRAME =
  /<br> &nbsp; &nbsp;at (?:app|Function)\.handleWithMetrics \[as handle\] \([^)]*\)/g;

function wrapperFrames(body: Buffer): string[] {
  return body.toString('latin1').match(WRAPPER_FRAME) ?? [];
}

/** The responses with the wrapper's stack frame taken out of their bodies and lengths. */
function withoutWrapperFrame(seen: Seen[]): Seen[] {
  return seen.map(({ responses, rest }) => ({
    rest,
    responses: responses.map((r) => {
      const body = Buffer.from(r.body.toString('latin1').replace(WRAPPER_FRAME, ''), 'latin1');
      const head = r.head.map((l) =>
        /^content-length:/i.test(l) ? `Content-Length: ${body.length}` : l,
      );
      return { ...r, head, body };
    }),
  }));
}

function statusesOf(seen: Seen[]): number[] {
  return seen.flatMap((s) => s.responses.map((r) => r.status));
}

function sortSeries(series: readonly Series[]): Series[] {
  return [...series].sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
}

describe.each(FLAVOURS)('the same answers and one count per request on %s', (flavour, express) => {
  let plain: Target & { running: Running };
  let measured: Target & { running: Running };
  let metrics: MetricsHandle;

  async function start(withMetrics: boolean): Promise<Target & { running: Running }> {
    const reached = new EventEmitter();
    const app = buildApp(express, reached);
    if (withMetrics) metrics = registerMetrics(app, { endpoint: { mode: 'none' } });
    const running = await listen(app);
    return {
      app,
      running,
      server: running.server,
      port: Number(new URL(running.url).port),
      reached,
    };
  }

  beforeAll(() => {
    fileDir = mkdtempSync(join(tmpdir(), 'bad-input-'));
    writeFileSync(join(fileDir, 'file.txt'), 'the contents of a static file\n'.repeat(50));
  });
  afterAll(() => rmSync(fileDir, { recursive: true, force: true }));

  beforeEach(async () => {
    plain = await start(false);
    measured = await start(true);
  });
  afterEach(async () => {
    await plain.running.close();
    await measured.running.close();
    await metrics.shutdown();
  });

  const cases = CASES.filter((c) => c.flavours === undefined || c.flavours.includes(flavour));
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.env !== undefined) {
      plain.app.set('env', c.env);
      measured.app.set('env', c.env);
    }
    const without = await c.run(plain);
    const withMetrics = await c.run(measured);
    if (c.wrapperFrame === true) {
      const frames = (seen: Seen[]): number[] =>
        seen.flatMap((s) => s.responses.map((r) => wrapperFrames(r.body).length));
      expect(frames(without)).toEqual(c.statuses.map(() => 0));
      expect(frames(withMetrics)).toEqual(c.statuses.map(() => 1));
      expect(comparable(withoutWrapperFrame(withMetrics))).toEqual(comparable(without));
    } else {
      expect(comparable(withMetrics)).toEqual(comparable(without));
    }
    expect(statusesOf(without)).toEqual(c.statuses);

    await exchange(measured, rq('GET', '/sentinel'));
    const expected = sortSeries([...c.series, SENTINEL]);
    const total = expected.reduce((n, s) => n + s[3], 0);
    const text = await until(
      () => metrics.scrape(),
      (t) => samplesOf(t, COUNT).reduce((n, s) => n + s.value, 0) >= total,
    );

    const counted = samplesOf(text, COUNT).map((s): Series => {
      expect(Object.keys(s.labels).sort()).toEqual(['endpoint', 'http_status', 'method']);
      return [s.labels.method ?? '', s.labels.endpoint ?? '', s.labels.http_status ?? '', s.value];
    });
    expect(sortSeries(counted)).toEqual(expected);

    const timed = new Map<string, number>();
    for (const [method, endpoint, , n] of expected) {
      const key = `${method} ${endpoint}`;
      timed.set(key, (timed.get(key) ?? 0) + n);
    }
    const histogram = samplesOf(text, `${LATENCY}_count`).map(
      (s) => [`${s.labels.method} ${s.labels.endpoint}`, s.value] as const,
    );
    expect(new Map(histogram)).toEqual(timed);
    expect(histogram).toHaveLength(timed.size);

    if (promtool !== undefined) {
      expect(checkMetrics(promtool, text)).toEqual({ status: 0, output: '' });
    }
  });
});
