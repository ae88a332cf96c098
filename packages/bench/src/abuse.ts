// `pnpm bench:abuse [--smoke]`: the metrics endpoint under the scrapes an attacker or an unlucky
// operator sends, against the example app and against an app (its own process, on CPU 0) with
// 10,000 latency series. Each probe runs on a fresh app and reports the app's peak RSS during the
// probe (VmHWM, reset before it starts), the longest answer to a request sent to the app every
// 10 ms meanwhile, how long the probe's sockets lived (read from the kernel's connection table, so
// that a socket the probe never reads from is seen closing too), and what the scrapes got.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { machine, memory } from './proc.js';

const smoke = process.argv.includes('--smoke');
const SERVER_CORE = 0;
const PROBE_CORE = 1;
/** `endpoint.timeout` of the app with many series: the default, or a short one for the smoke run. */
const SCRAPE_TIMEOUT_MS = smoke ? 2000 : 10_000;
/** Longest a probe waits for the server to close its sockets. */
const PROBE_LIMIT_MS = smoke ? 15_000 : 40_000;
/** The app's own request, sent in a loop with this gap while a probe runs. */
const APP_GAP_MS = 10;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface App {
  child: ChildProcess;
  pid: number;
  app: string;
  metricsPort: number;
  bytes: number;
}

/** The app a probe runs against: the example app, or one with this many latency series. */
type Target = 'example' | number;

/** The example app's entry point, built by `tsc -p packages/example-app`. */
const EXAMPLE_APP = join(__dirname, '..', '..', 'example-app', 'dist', 'main.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function get(url: string): Promise<Buffer> {
  const res = await fetch(url);
  return Buffer.from(await res.arrayBuffer());
}

/** The example app as `pnpm start` runs it, after one request to each of its routes. */
async function startExampleApp(): Promise<App> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const child = spawn('taskset', ['-c', String(SERVER_CORE), process.execPath, EXAMPLE_APP], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('example app on') && out.includes('metrics on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the example app exited (${code})`)));
  });
  const app = `http://127.0.0.1:${port}`;
  for (const path of ['/', '/users/1', '/api/orders/7/items/3', '/error', '/slow?ms=1']) {
    await get(`${app}${path}`);
  }
  await fetch(`${app}/users`, { method: 'POST' });
  const bytes = (await get(`http://127.0.0.1:${metricsPort}/metrics`)).length;
  return { child, pid: child.pid as number, app, metricsPort, bytes };
}

async function startApp(target: Target): Promise<App> {
  if (target === 'example') return startExampleApp();
  const child = spawn(
    'taskset',
    [
      '-c',
      String(SERVER_CORE),
      process.execPath,
      join(__dirname, 'abuse-server.js'),
      String(target),
      String(SCRAPE_TIMEOUT_MS),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  const ready = await new Promise<{ app: string; metrics: string; bytes: number }>(
    (resolve, reject) => {
      child.on('message', (m: { type?: string; app: string; metrics: string; bytes: number }) => {
        if (m.type === 'ready') resolve(m);
      });
      child.once('exit', (code) =>
        reject(new Error(`the app exited (${code}) before it was ready`)),
      );
    },
  );
  return {
    child,
    pid: child.pid as number,
    app: ready.app,
    metricsPort: Number(new URL(ready.metrics).port),
    bytes: ready.bytes,
  };
}

async function stopApp(app: App): Promise<void> {
  const exited = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGKILL');
  await exited;
}

/** The app's peak RSS since the last reset (VmHWM); root may reset it through clear_refs. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** The state (the kernel's hex code) of IPv4 TCP connections, by `localPort:remotePort`. */
function connections(): Map<string, string> {
  const table = new Map<string, string>();
  const port = (address: string): number => parseInt(address.slice(address.indexOf(':') + 1), 16);
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    table.set(`${port(fields[1] as string)}:${port(fields[2] as string)}`, fields[3] as string);
  }
  return table;
}

const ESTABLISHED = '01';

/**
 * Resolves with the time at which the server let go of each connection: the server's side of it
 * is reset (gone from the table) or closed (no longer established). This is the server's view, so
 * it holds for a client that never reads, which would not see the close itself.
 */
async function closedAt(
  serverPort: number,
  clientPorts: readonly number[],
  limitMs: number,
): Promise<number[]> {
  const closed = new Array<number>(clientPorts.length).fill(NaN);
  const deadline = performance.now() + limitMs;
  let open = clientPorts.length;
  while (open > 0 && performance.now() < deadline) {
    const table = connections();
    const now = performance.now();
    clientPorts.forEach((port, i) => {
      if (!Number.isNaN(closed[i])) return;
      if (table.get(`${serverPort}:${port}`) !== ESTABLISHED) {
        closed[i] = now;
        open--;
      }
    });
    await sleep(20);
  }
  return closed;
}

/** Requests `/ping` every APP_GAP_MS until stopped; the longest answer, in ms. */
function appProbe(base: string): { stop(): Promise<number> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  let longest = 0;
  const loop = (async () => {
    while (running) {
      const start = performance.now();
      await new Promise<void>((resolve) => {
        request(`${base}/ping`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', () => resolve())
          .end();
      });
      longest = Math.max(longest, performance.now() - start);
      await sleep(APP_GAP_MS);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return longest;
    },
  };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

/** `count` scrapes in one write; the last asks the server to close, so its close ends the probe. */
function scrapeRequests(count: number, gzip: boolean): string {
  const one = (close: boolean): string =>
    `GET /metrics HTTP/1.1\r\nHost: metrics\r\n${gzip ? 'Accept-Encoding: gzip\r\n' : ''}${close ? 'Connection: close\r\n' : ''}\r\n`;
  return one(false).repeat(count - 1) + one(true);
}

/** Statuses of the HTTP responses in what a connection received, by status. */
function statuses(received: Buffer): Map<number, number> {
  const counts = new Map<number, number>();
  const text = received.toString('latin1');
  for (const m of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) {
    const status = Number(m[1]);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return counts;
}

interface Outcome {
  probe: string;
  bytes: number;
  idleMiB: number;
  peakMiB: number;
  appMs: number;
  socketMs: { max: number; median: number };
  answers: string;
}

function summary(counts: Map<number, number>): string {
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([status, n]) => `${n} x ${status}`)
    .join(', ');
}

/** One probe: what it sends, and how its sockets read. */
interface Probe {
  name: string;
  target: Target;
  connections: number;
  /** Scrapes each connection sends in one write. */
  perConnection: number;
  /** 'all' reads every answer at once, 'none' never reads, 'slow' reads one byte a second. */
  read: 'all' | 'none' | 'slow';
  gzip: boolean;
  /** Milliseconds between one connection's scrapes and the next's (0: all at once). */
  staggerMs: number;
}

async function probe(p: Probe): Promise<Outcome> {
  const app = await startApp(p.target);
  try {
    await sleep(500);
    const idle = memory(app.pid).rssMiB;
    resetPeak(app.pid);
    const prober = appProbe(app.app);
    await sleep(100);
    const sockets = await Promise.all(
      Array.from({ length: p.connections }, () => open(app.metricsPort)),
    );
    const opened = performance.now();
    const received = sockets.map(() => [] as Buffer[]);
    const timers: NodeJS.Timeout[] = [];
    for (const [i, socket] of sockets.entries()) {
      if (p.read === 'all') socket.on('data', (chunk: Buffer) => received[i]?.push(chunk));
      else {
        socket.pause();
        if (p.read === 'slow') {
          timers.push(
            setInterval(() => {
              const byte = socket.read(1) as Buffer | null;
              if (byte !== null) received[i]?.push(byte);
            }, 1000),
          );
        }
      }
      if (p.staggerMs > 0 && i > 0) await sleep(p.staggerMs);
      socket.write(scrapeRequests(p.perConnection, p.gzip));
    }
    const ports = sockets.map((s) => s.localPort as number);
    const closed = await closedAt(app.metricsPort, ports, PROBE_LIMIT_MS);
    for (const t of timers) clearInterval(t);
    await sleep(300);
    const appMs = await prober.stop();
    const { peakMiB } = memory(app.pid);
    const lifetimes = closed
      .map((at, i) => (Number.isNaN(at) ? Infinity : at - opened - i * p.staggerMs))
      .sort((a, b) => a - b);
    const counts = new Map<number, number>();
    for (const chunks of received) {
      for (const [status, n] of statuses(Buffer.concat(chunks))) {
        counts.set(status, (counts.get(status) ?? 0) + n);
      }
    }
    for (const socket of sockets) socket.destroy();
    return {
      probe: p.name,
      bytes: app.bytes,
      idleMiB: idle,
      peakMiB,
      appMs,
      socketMs: {
        max: lifetimes[lifetimes.length - 1] as number,
        median: lifetimes[lifetimes.length >> 1] as number,
      },
      answers: p.read === 'all' ? summary(counts) : 'not read',
    };
  } finally {
    await stopApp(app);
  }
}

function table(outcomes: readonly Outcome[]): string {
  const rows = outcomes.map((o) => {
    const life = (ms: number): string =>
      Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '> limit';
    return `| ${o.probe} | ${(o.bytes / 1024).toFixed(0)} KiB | ${o.idleMiB.toFixed(0)} MiB | ${o.peakMiB.toFixed(0)} MiB | ${o.appMs.toFixed(0)} ms | ${life(o.socketMs.median)} / ${life(o.socketMs.max)} | ${o.answers} |`;
  });
  return [
    '| probe | exposition | app RSS before | peak RSS | longest app request | socket lifetime (median / max) | answers |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  execFileSync('taskset', ['-cp', String(PROBE_CORE), String(process.pid)], { stdio: 'ignore' });
  const big: Target = smoke ? 500 : 10_000;
  const many = smoke ? 100 : 1000;
  const manyText = many.toLocaleString('en-US');
  const base = { perConnection: 1, gzip: false, staggerMs: 0 };
  const plan: Probe[] = [
    {
      ...base,
      name: '100 pipelined, never read',
      target: big,
      connections: 1,
      perConnection: 100,
      read: 'none',
    },
    { ...base, name: '200 connections, never read', target: big, connections: 200, read: 'none' },
    {
      ...base,
      name: '20 slow readers (1 byte/s) at once',
      target: big,
      connections: 20,
      read: 'slow',
    },
    {
      ...base,
      name: '10 slow readers, one every 500 ms (an answer each)',
      target: big,
      connections: 10,
      read: 'slow',
      staggerMs: 500,
    },
    {
      ...base,
      name: `${manyText} pipelined, read`,
      target: 'example',
      connections: 1,
      perConnection: many,
      read: 'all',
    },
    {
      ...base,
      name: `${manyText} pipelined, read, gzip`,
      target: 'example',
      connections: 1,
      perConnection: many,
      read: 'all',
      gzip: true,
    },
    {
      ...base,
      name: `${manyText} connections, read`,
      target: 'example',
      connections: many,
      read: 'all',
    },
    {
      ...base,
      name: `${manyText} connections, read, gzip`,
      target: 'example',
      connections: many,
      read: 'all',
      gzip: true,
    },
  ];
  const outcomes: Outcome[] = [];
  for (const p of plan) {
    process.stderr.write(
      `${p.name} (${p.target === 'example' ? 'the example app' : `${p.target} series`})...\n`,
    );
    const outcome = await probe(p);
    process.stderr.write(`  ${JSON.stringify(outcome)}\n`);
    outcomes.push(outcome);
  }
  const text = [
    `# The metrics endpoint under abuse`,
    '',
    `${new Date().toISOString()}, ${machine()}, Node ${process.version}; \`pnpm bench:abuse${smoke ? ' --smoke' : ''}\`.`,
    `The app runs on CPU ${SERVER_CORE}, the probe on CPU ${PROBE_CORE}; the app's own request goes every ${APP_GAP_MS} ms during each probe.`,
    `The probes of ${big} series run against an app whose latency histogram has that many series; the others against the example app.`,
    "Socket lifetime is from the scrape to the moment the app let go of the connection (reset or closed), read from the kernel's table.",
    '',
    table(outcomes),
    '',
  ].join('\n');
  process.stdout.write(text);
  if (!smoke) writeFileSync(join(__dirname, '..', 'ABUSE-RESULTS.md'), text);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
