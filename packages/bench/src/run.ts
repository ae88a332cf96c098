// `pnpm bench [--smoke]`: request-path throughput and high-cardinality scrape benchmarks.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, machine, median, memory } from './proc.js';
import {
  ratioChart,
  scrapeTable,
  targets,
  targetTable,
  throughputTable,
  type ScrapeRow,
  type ThroughputRow,
} from './report.js';
import { histogramSeries, populate, scrape } from './scrape.js';
import { startServer, type Server } from './servers.js';
import { LABELS, SCRAPE_VARIANTS, VARIANTS, type Variant } from './variants.js';
import { wrk, type WrkResult } from './wrk.js';

const smoke = process.argv.includes('--smoke');
const SERVER_CORE = 0;
const LOAD_CORE = 1;
const ROUNDS = smoke ? 1 : 5;
const SECONDS = smoke ? 2 : 10;
const WARMUP_SECONDS = smoke ? 1 : 3;
const SCRAPES = smoke ? 3 : 20;
const WARMUP_SCRAPES = smoke ? 1 : 5;
const SCALE = smoke ? 0.05 : 1;
const PACKAGE_DIR = join(__dirname, '..');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function version(name: string): string {
  const pkg = JSON.parse(
    readFileSync(join(PACKAGE_DIR, 'node_modules', name, 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  return `${name} ${pkg.version}`;
}

async function throughput(): Promise<ThroughputRow[]> {
  const servers = new Map<Variant, Server>();
  for (const v of VARIANTS) servers.set(v, await startServer(v, SERVER_CORE));
  await sleep(2000);
  const idle = new Map(VARIANTS.map((v) => [v, memory((servers.get(v) as Server).pid).rssMiB]));
  for (const v of VARIANTS)
    await wrk(`${(servers.get(v) as Server).url}/users/42`, WARMUP_SECONDS, LOAD_CORE);

  const runs = new Map<Variant, Array<WrkResult & { cpuUs: number }>>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of VARIANTS) {
      const server = servers.get(v) as Server;
      const cpu0 = cpuSeconds(server.pid);
      const result = await wrk(`${server.url}/users/42`, SECONDS, LOAD_CORE);
      const cpuUs = ((cpuSeconds(server.pid) - cpu0) * 1e6) / result.requests;
      runs.get(v)?.push({ ...result, cpuUs });
      process.stderr.write(`round ${round + 1}/${ROUNDS} ${v}: ${result.rps.toFixed(0)} req/s\n`);
    }
  }
  const bare = runs.get('bare') as WrkResult[];
  const rows = VARIANTS.map((v) => {
    const r = runs.get(v) as Array<WrkResult & { cpuUs: number }>;
    return {
      label: LABELS[v],
      rps: median(r.map((x) => x.rps)),
      ratio: median(r.map((x, i) => x.rps / (bare[i] as WrkResult).rps)),
      p50ms: median(r.map((x) => x.p50ms)),
      p99ms: median(r.map((x) => x.p99ms)),
      cpuUsPerRequest: median(r.map((x) => x.cpuUs)),
      idleRssMiB: idle.get(v) as number,
      peakRssMiB: memory((servers.get(v) as Server).pid).peakMiB,
      errors: r.reduce((s, x) => s + x.errors, 0),
    };
  });
  for (const s of servers.values()) await s.stop();
  return rows;
}

async function scrapes(): Promise<ScrapeRow[]> {
  const servers = new Map<(typeof SCRAPE_VARIANTS)[number], Server>();
  for (const v of SCRAPE_VARIANTS) {
    const server = await startServer(v, SERVER_CORE, 'cardinality');
    const sent = await populate(server.url, v, SCALE);
    process.stderr.write(`populated ${v} with ${sent} requests\n`);
    servers.set(v, server);
  }
  await sleep(1000);
  // Warm-up scrapes, as the request benchmark warms up: the first ones measure the JIT compiler.
  for (let i = 0; i < WARMUP_SCRAPES; i++) {
    for (const v of SCRAPE_VARIANTS) await scrape((servers.get(v) as Server).metricsUrl as string);
  }
  const times = new Map(SCRAPE_VARIANTS.map((v) => [v, [] as number[]]));
  const cpu = new Map(SCRAPE_VARIANTS.map((v) => [v, 0]));
  const bodies = new Map<string, { bytes: number; body: string }>();
  // Interleaved, so a noisy moment of the machine hits every variant alike.
  for (let i = 0; i < SCRAPES; i++) {
    for (const v of SCRAPE_VARIANTS) {
      const server = servers.get(v) as Server;
      const cpu0 = cpuSeconds(server.pid);
      const s = await scrape(server.metricsUrl as string);
      cpu.set(v, (cpu.get(v) as number) + cpuSeconds(server.pid) - cpu0);
      times.get(v)?.push(s.ms);
      bodies.set(v, s);
    }
  }
  const promMs = median(times.get('prom-bundle') as number[]);
  const rows: ScrapeRow[] = [];
  for (const v of SCRAPE_VARIANTS) {
    const server = servers.get(v) as Server;
    const gz = await scrape(server.metricsUrl as string, true);
    const plain = bodies.get(v) as { bytes: number; body: string };
    const ms = median(times.get(v) as number[]);
    rows.push({
      label: LABELS[v],
      series: histogramSeries(plain.body, v),
      ms,
      ratio: ms / promMs,
      plainBytes: plain.bytes,
      gzipBytes: gz.bytes,
      cpuMsPerScrape: ((cpu.get(v) as number) * 1000) / SCRAPES,
      rssMiB: memory(server.pid).rssMiB,
    });
  }
  for (const s of servers.values()) await s.stop();
  return rows;
}

async function main(): Promise<void> {
  for (const tool of ['wrk', 'taskset']) {
    try {
      execFileSync('which', [tool]);
    } catch {
      throw new Error(
        `${tool} is needed (Debian: apt-get install ${tool === 'wrk' ? 'wrk' : 'util-linux'})`,
      );
    }
  }
  const t = await throughput();
  const s = await scrapes();
  const tTable = throughputTable(t);
  const sTable = scrapeTable(s);
  const ours = s[s.length - 1] as ScrapeRow;
  const goals = targetTable(targets(t, s, ours.gzipBytes < ours.plainBytes));
  console.log(
    `\nRequest path: GET /users/:id, ${ROUNDS} interleaved rounds of ${SECONDS} s, wrk -t1 -c32\n`,
  );
  console.log(tTable);
  console.log(`\nScrape at high cardinality: median of ${SCRAPES} scrapes\n`);
  console.log(sTable);
  console.log('\nTargets\n');
  console.log(goals);

  const chart = ratioChart([
    {
      title: 'Throughput vs bare Express (higher is better)',
      bars: t.map((r) => ({ label: r.label, value: r.ratio })),
    },
    {
      title: 'Scrape time vs prom-client at 2,000 series (lower is better)',
      bars: s.map((r) => ({ label: r.label, value: r.ratio })),
    },
  ]);
  const versions = [
    `Node.js ${process.version}`,
    ...[
      'express',
      'express-prom-bundle',
      'prom-client',
      '@opentelemetry/sdk-metrics',
      '@opentelemetry/exporter-prometheus',
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-express',
    ].map(version),
    // `wrk --version` prints its version and exits 1.
    `wrk ${/wrk (\S+)/.exec(spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'}`,
  ].join(', ');
  const results = [
    '# Benchmark results',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${machine()}; ${versions}.`,
    `Server pinned to core ${SERVER_CORE}, wrk to core ${LOAD_CORE} (taskset); each variant its own process.`,
    smoke ? '\n**Smoke run: one short round; figures are not meaningful.**' : '',
    '',
    `## Request path: GET /users/:id (small JSON), ${ROUNDS} interleaved rounds of ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up`,
    '',
    '"vs bare" is the median of the per-round ratios to bare Express; CPU is the server\'s user + system time per request; idle RSS is 2 s after start.',
    '',
    tTable,
    '',
    `## Scrape at high cardinality: ${SCRAPES} interleaved scrapes after populating over HTTP and ${WARMUP_SCRAPES} warm-up scrapes`,
    '',
    'prom-client: 200 routes x 5 methods x 2 statuses; OTel exporter: 400 routes x 5 methods; ours: 400 routes x 5 methods (2 statuses on the counter); 10 observations per label set. Scrape time is to the last byte on a fresh connection, plain text.',
    '',
    sTable,
    '',
    '## Targets',
    '',
    goals,
    '',
    '![ratios](results.svg)',
    '',
  ].join('\n');
  writeFileSync(join(PACKAGE_DIR, smoke ? 'RESULTS.smoke.md' : 'RESULTS.md'), results);
  writeFileSync(join(PACKAGE_DIR, smoke ? 'results.smoke.svg' : 'results.svg'), chart);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
