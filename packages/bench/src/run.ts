// `pnpm bench [--smoke]`: request-path throughput and high-cardinality scrape benchmarks.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, machine, median, memory } from './proc.js';
import {
  exemplarTable,
  ratioChart,
  scrapeTable,
  targets,
  targetTable,
  throughputTable,
  tracedTable,
  type ExemplarCost,
  type ScrapeRow,
  type ThroughputRow,
  type TracedRow,
} from './report.js';
import { exemplarsIn, histogramSeries, populate, scrape } from './scrape.js';
import { startServer, type Server } from './servers.js';
import { LABELS, SCRAPE_VARIANTS, TRACED_VARIANTS, VARIANTS, type Variant } from './variants.js';
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

type Run = WrkResult & { cpuUs: number };

interface Measured {
  runs: Map<Variant, Run[]>;
  idle: Map<Variant, number>;
  peak: Map<Variant, number>;
  exemplars: { on: number; off: number };
}

/**
 * Every variant, traced or not, in the same interleaved rounds, so that the traced ones are
 * compared with each other and with the untraced ones under the same moments of the machine.
 */
async function measureRequests(): Promise<Measured> {
  const all: readonly Variant[] = [...VARIANTS, ...TRACED_VARIANTS];
  const servers = new Map<Variant, Server>();
  for (const v of all) servers.set(v, await startServer(v, SERVER_CORE));
  const server = (v: Variant): Server => servers.get(v) as Server;
  await sleep(2000);
  const idle = new Map(all.map((v) => [v, memory(server(v).pid).rssMiB]));
  for (const v of all) await wrk(`${server(v).url}/users/42`, WARMUP_SECONDS, LOAD_CORE);

  const runs = new Map<Variant, Run[]>(all.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of all) {
      const cpu0 = cpuSeconds(server(v).pid);
      const result = await wrk(`${server(v).url}/users/42`, SECONDS, LOAD_CORE);
      const cpuUs = ((cpuSeconds(server(v).pid) - cpu0) * 1e6) / result.requests;
      runs.get(v)?.push({ ...result, cpuUs });
      process.stderr.write(`round ${round + 1}/${ROUNDS} ${v}: ${result.rps.toFixed(0)} req/s\n`);
    }
  }
  const peak = new Map(all.map((v) => [v, memory(server(v).pid).peakMiB]));
  // Without exemplars where they are on (or with some where they are off), the traced rows would
  // time something other than what they are labelled with.
  const exemplars = {
    on: await exemplarsIn(server('ours-traced').metricsUrl as string),
    off: await exemplarsIn(server('ours-traced-no-exemplars').metricsUrl as string),
  };
  if (exemplars.on === 0 || exemplars.off !== 0) {
    throw new Error(
      `expected exemplars with them on and none with them off, scraped ${exemplars.on} and ${exemplars.off}`,
    );
  }
  for (const s of servers.values()) await s.stop();
  return { runs, idle, peak, exemplars };
}

/** One variant's row; its ratio is the median of the per-round ratios to `baseline`. */
function rowOf(m: Measured, v: Variant, baseline: Variant): ThroughputRow {
  const r = m.runs.get(v) as Run[];
  const base = m.runs.get(baseline) as Run[];
  return {
    label: LABELS[v],
    rps: median(r.map((x) => x.rps)),
    ratio: median(r.map((x, i) => x.rps / (base[i] as Run).rps)),
    p50ms: median(r.map((x) => x.p50ms)),
    p99ms: median(r.map((x) => x.p99ms)),
    cpuUsPerRequest: median(r.map((x) => x.cpuUs)),
    idleRssMiB: m.idle.get(v) as number,
    peakRssMiB: m.peak.get(v) as number,
    errors: r.reduce((s, x) => s + x.errors, 0),
  };
}

function throughput(m: Measured): ThroughputRow[] {
  return VARIANTS.map((v) => rowOf(m, v, 'bare'));
}

function traced(m: Measured): TracedRow[] {
  return TRACED_VARIANTS.map((v) => ({
    ...rowOf(m, v, 'bare-traced'),
    ratioUntraced: rowOf(m, v, 'bare').ratio,
  }));
}

/** Exemplars on against off, round by round: both ran back to back in each round. */
function exemplarCost(m: Measured): ExemplarCost {
  const on = m.runs.get('ours-traced') as Run[];
  const off = m.runs.get('ours-traced-no-exemplars') as Run[];
  return {
    cpuUsDiffs: on.map((x, i) => x.cpuUs - (off[i] as Run).cpuUs),
    rpsRatios: on.map((x, i) => x.rps / (off[i] as Run).rps),
    exemplarsOn: m.exemplars.on,
    exemplarsOff: m.exemplars.off,
  };
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
  const m = await measureRequests();
  const t = throughput(m);
  const tr = traced(m);
  const ex = exemplarCost(m);
  const s = await scrapes();
  const tTable = throughputTable(t);
  const trTable = tracedTable(tr);
  const exTable = exemplarTable(ex);
  const sTable = scrapeTable(s);
  const ours = s[s.length - 1] as ScrapeRow;
  const goals = targetTable(targets(t, s, ours.gzipBytes < ours.plainBytes));
  console.log(
    `\nRequest path: GET /users/:id, ${ROUNDS} interleaved rounds of ${SECONDS} s, wrk -t1 -c32\n`,
  );
  console.log(tTable);
  console.log(
    '\nRequest path with tracing (tracer provider + http instrumentation, every span sampled, none exported), same rounds\n',
  );
  console.log(trTable);
  console.log('\nExemplars on vs off, both traced, same rounds\n');
  console.log(exTable);
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
      title: 'Throughput with tracing vs bare Express with tracing (higher is better)',
      // Shorter than the table's labels, which would not fit left of the bars.
      bars: [
        {
          label: 'express-otel-metrics, exemplars on',
          value: rowOf(m, 'ours-traced', 'bare-traced').ratio,
        },
        {
          label: 'express-otel-metrics, exemplars off',
          value: rowOf(m, 'ours-traced-no-exemplars', 'bare-traced').ratio,
        },
      ],
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
      '@opentelemetry/sdk-trace-node',
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
    '## Request path with tracing: the same rounds',
    '',
    'Each of these apps is started with a preload (src/otel-trace-preload.ts) that registers sdk-trace-node\'s NodeTracerProvider (AlwaysOn sampler, no span processor, so nothing is exported) and @opentelemetry/instrumentation-http, so every request ends inside a sampled server span; there is no metrics part. They run in the rounds above, after the untraced variants. "vs bare + tracing" is the median of the per-round ratios to bare Express with the same tracing; "vs bare (no tracing)" to bare Express of the table above.',
    '',
    trTable,
    '',
    '### Exemplars on vs off',
    '',
    'express-otel-metrics with tracing, defaults (exemplars on: each request looks up the active span and, being sampled, leaves an exemplar on its latency bucket and request count) against `exemplars: false` (no span looked up). Each round ran the two back to back; the figures are per round, then their median.',
    '',
    exTable,
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
