// `pnpm soak [--requests N]`: N keep-alive requests (1,000,000 by default) to an app with the
// package, then two checks: the request counter sums to exactly N, and the app's RSS after a full
// GC is within 10 MiB of its value after the warm-up (the first 40%).
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const RSS_GROWTH_LIMIT = 10 * MiB;
const CONCURRENCY = 32;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer`);
  return value;
}

const TOTAL = option('--requests', 1_000_000);
/** The same app and load without the package: how much of the growth is Node's and Express'. */
const BARE = process.argv.includes('--bare');
/**
 * The first 40% of the run. V8 grows its committed heap (the young generation) in steps under a
 * steady allocation rate, bare Express included: at 1,000,000 requests here, RSS after a GC rose
 * by about 12 MiB between 300,000 and 400,000 requests and then stayed within 2 MiB. A shorter
 * warm-up would measure that sizing of Node's heap rather than anything the app keeps.
 */
const WARMUP_TENTHS = 4;
/** RSS after a GC at every tenth of the run, to show its course. */
const CHECKPOINTS = 10;
const WARMUP = Math.floor((TOTAL * WARMUP_TENTHS) / CHECKPOINTS);

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type?: string }): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the soak app exited (${code})`)));
  });
}

function measure(child: ChildProcess): Promise<Memory> {
  const reply = nextMessage<Memory>(child, 'memory');
  child.send('measure');
  return reply;
}

/** The request for the n-th call: mostly reads, some writes and some unmatched paths. */
function target(n: number): { method: string; path: string } {
  if (n % 10 === 7) return { method: 'POST', path: `/users/${n}/orders` };
  if (n % 10 === 9) return { method: 'GET', path: `/no/such/page/${n}` };
  return { method: 'GET', path: `/users/${n}` };
}

/** Sends `count` requests over keep-alive connections; returns the responses by status. */
async function load(base: string, from: number, count: number, agent: Agent) {
  const statuses = new Map<number, number>();
  let next = from;
  const end = from + count;
  const one = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const { method, path } = target(n);
      request(`${base}${path}`, { method, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          resolve();
        });
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
  const worker = async (): Promise<void> => {
    while (next < end) await one(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

async function scrapeCount(url: string): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('app_request_count_total{'))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const fmtMiB = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const child = fork(join(__dirname, 'soak-server.js'), BARE ? ['--bare'] : [], {
    execArgv: ['--expose-gc'],
  });
  const urls = await nextMessage<{ app: string; metrics: string }>(child, 'ready');
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const started = Date.now();
    await load(urls.app, 0, WARMUP, agent);
    const warm = await measure(child);
    const statuses = new Map<number, number>();
    const course: number[] = [warm.rss];
    for (let i = WARMUP_TENTHS; i < CHECKPOINTS; i++) {
      const from = Math.floor((TOTAL * i) / CHECKPOINTS);
      const to = Math.floor((TOTAL * (i + 1)) / CHECKPOINTS);
      for (const [status, n] of await load(urls.app, from, to - from, agent)) {
        statuses.set(status, (statuses.get(status) ?? 0) + n);
      }
      if (i < CHECKPOINTS - 1) course.push((await measure(child)).rss);
    }
    const seconds = (Date.now() - started) / 1000;
    // The counter is recorded on each response's 'close', which can follow the client's last byte.
    await new Promise((r) => setTimeout(r, 200));
    const end = await measure(child);
    const counted = BARE ? TOTAL : await scrapeCount(urls.metrics);

    const growth = end.rss - warm.rss;
    const rows: Array<[string, string]> = [
      ['requests sent', String(TOTAL)],
      ['sum(app_request_count_total)', BARE ? 'n/a (without the package)' : String(counted)],
      ['statuses after warm-up', [...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')],
      ['duration', `${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)} req/s)`],
      ['RSS after warm-up and GC', fmtMiB(warm.rss)],
      ['RSS at the end, after GC', fmtMiB(end.rss)],
      ['RSS growth', fmtMiB(growth)],
      [
        'RSS after GC at each tenth, from the warm-up on (MiB)',
        [...course, end.rss].map((b) => (b / MiB).toFixed(1)).join(', '),
      ],
      [
        'heap used after warm-up / at the end',
        `${fmtMiB(warm.heapUsed)} / ${fmtMiB(end.heapUsed)}`,
      ],
      [
        'heap committed after warm-up / at the end',
        `${fmtMiB(warm.heapTotal)} / ${fmtMiB(end.heapTotal)}`,
      ],
      ['external after warm-up / at the end', `${fmtMiB(warm.external)} / ${fmtMiB(end.external)}`],
    ];
    console.log(
      `\nSoak: ${TOTAL} keep-alive requests, ${CONCURRENCY} connections, Node ${process.version}\n`,
    );
    console.log('| measure | value |\n| --- | --- |');
    for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);

    const failures: string[] = [];
    if (counted !== TOTAL) failures.push(`counted ${counted} requests, sent ${TOTAL}`);
    if (growth > RSS_GROWTH_LIMIT) failures.push(`RSS grew by ${fmtMiB(growth)}, limit 10 MiB`);
    if (failures.length > 0) {
      console.error(`\nsoak failed: ${failures.join('; ')}`);
      process.exitCode = 1;
    } else {
      console.log('\nsoak passed: exact count, RSS within 10 MiB');
    }
  } finally {
    agent.destroy();
    child.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
