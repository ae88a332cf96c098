// `pnpm bench:instructions [--smoke] [--jobs 2] [--warmup 6000] [--n1 2000] [--n2 8000]
// [--only users-bare,users-defaults] [--out .out/x] [--reuse] [--no-predictable]`: instructions
// per request, counted with valgrind's callgrind, which neither the machine's speed nor its other
// load changes as they change the timings of `pnpm bench`. `--only` counts some variants, once,
// and writes no results file; `--out` keeps the dumps elsewhere than .out/instructions; `--reuse`
// reads the dumps of an earlier run there instead of counting again (to change the tables without
// an hour's wait).
//
// Each variant runs twice as one process (instructions-app.ts: the app and a client over one
// keep-alive connection), both times with the same warm-up, then N1 or N2 more requests. The
// start-up, the warm-up (the JIT's compilations) and the exit are the same in both, so
// (I(N2) - I(N1)) / (N2 - N1) is what a request costs once the process is warm, client included.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  countInstructions,
  functionCosts,
  readCounted,
  ownerOf,
  shortName,
  type Counted,
  type Owner,
} from './callgrind.js';
import {
  ALL_ON_OPTIONS,
  SETUP_LABELS,
  SHAPE_LABELS,
  SMOKE_VARIANTS,
  TARGETS,
  VARIANTS,
  type InstructionVariant,
} from './instruction-variants.js';
import { machine, table } from './proc.js';

const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');

function text(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

function option(name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} takes a whole number`);
  return value;
}

// The project's earlier counts (ARCHITECTURE.md) used 12,000, then 5,000 or 20,000; with V8's
// `--predictable` (below) the JIT works on the main thread and a process runs slower, so these
// keep the full run near 40 minutes. The smoke run only checks that the harness works: a short warm-up leaves the JIT unsettled, so its figures
// are rough.
const WARMUP = option('--warmup', smoke ? 100 : 6000);
const N1 = option('--n1', smoke ? 50 : 2000);
const N2 = option('--n2', smoke ? 250 : 8000);
// V8's predictable mode: the JIT (Sparkplug, Maglev, TurboFan) and the GC do the same work, on the
// main thread instead of background threads, with no memory reducer (a timer) and a fixed random
// seed. Without it, when a background compilation lands depends on how valgrind interleaves the
// threads, the JIT inlines differently from run to run, and two counts of the same variant have
// differed by a quarter (196,699 and 244,890 instructions per request, users-defaults, 2026-12-07).
// `--no-predictable` counts without it, to see that again.
const NODE_FLAGS = argv.includes('--no-predictable') ? [] : ['--predictable'];
// Each valgrind process runs on one core at a time (it serialises the process's threads), and the
// counts do not depend on what else runs, so the runs can share the machine's cores.
const JOBS = Math.max(1, option('--jobs', Math.min(2, availableParallelism())));
if (N2 <= N1) throw new Error('--n2 must be above --n1');

const PACKAGE_DIR = join(__dirname, '..');
const OUT_DIR = resolve(
  PACKAGE_DIR,
  text('--out') ?? join('.out', smoke ? 'instructions-smoke' : 'instructions'),
);
const ONLY = text('--only')?.split(',');
const REUSE = argv.includes('--reuse');
const requireHere = createRequire(__filename);
/** The package's folder in the workspace (the real path behind node_modules' link). */
const LIBRARY_DIR = dirname(dirname(requireHere.resolve('express-otel-metrics')));
/**
 * Where the counted processes load their script and the package from (see {@link snapshot});
 * named `dist`, which ESLint skips as it skips every build.
 */
const APP_DIR = join(OUT_DIR, 'dist');
const APP = join(APP_DIR, 'instructions-app.js');
/** The package's bundle as V8 names its functions, in the snapshot. */
const OUR_DIST = join(APP_DIR, 'node_modules', 'express-otel-metrics', 'dist');
/** The variant of the function table and the one it is compared with. */
const PROFILED = { ours: 'users-defaults', bare: 'users-bare' } as const;
/** Variants counted twice in the full run, to show the run-to-run spread. */
const REPEATED = smoke || ONLY !== undefined ? [] : ['users-bare', 'users-defaults'];
const TOP_FUNCTIONS = 15;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const signed = (n: number): string => `${n >= 0 ? '+' : '-'}${fmt(Math.abs(n))}`;
const percent = (n: number, of: number): string =>
  `${n >= 0 ? '+' : '-'}${Math.abs((n / of) * 100).toFixed(1)}%`;

/**
 * What the dumps do not keep, written as the run goes: each process's wall time and the run's.
 * `--reuse` reads it back.
 */
interface Log {
  seconds: Record<string, number>;
  minutes?: number;
  /** The commit the counted bundle was built from, read when the run started. */
  workspace?: string;
}
const LOG = join(OUT_DIR, 'runs.json');
const logged: Log =
  REUSE && existsSync(LOG) ? (JSON.parse(readFileSync(LOG, 'utf8')) as Log) : { seconds: {} };

interface Task {
  variant: InstructionVariant;
  requests: number;
  pass: number;
}

interface Measured {
  variant: InstructionVariant;
  pass: number;
  n1: Counted;
  n2: Counted;
  perRequest: number;
}

/** Runs `work` over `items`, `jobs` at a time, the results in the items' order. */
async function pool<T, R>(
  items: readonly T[],
  jobs: number,
  work: (t: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

async function measure(variants: readonly InstructionVariant[]): Promise<Measured[]> {
  const tasks: Task[] = [];
  for (const variant of variants) {
    const passes = REPEATED.includes(variant.id) ? 2 : 1;
    for (let pass = 1; pass <= passes; pass++) {
      for (const requests of [N1, N2]) tasks.push({ variant, requests, pass });
    }
  }
  // The longest first, so that the last job to finish is a short one.
  const order = [...tasks].sort((a, b) => b.requests - a.requests);
  let done = 0;
  const counted = await pool(order, JOBS, async (t) => {
    const name = `${t.variant.id}-${t.requests}-pass${t.pass}`;
    const c = REUSE
      ? { ...readCounted(OUT_DIR, name), seconds: logged.seconds[name] ?? NaN }
      : await countInstructions(
          APP,
          [t.variant.id, String(WARMUP), String(t.requests)],
          OUT_DIR,
          name,
          NODE_FLAGS,
        );
    done++;
    if (!REUSE) {
      logged.seconds[name] = c.seconds;
      writeFileSync(LOG, JSON.stringify(logged, null, 2));
    }
    process.stderr.write(
      `[${done}/${order.length}] ${name}: ${fmt(c.instructions)} instructions, ${c.seconds.toFixed(0)} s\n`,
    );
    return { task: t, counted: c };
  });
  const find = (v: InstructionVariant, requests: number, pass: number): Counted =>
    (
      counted.find(
        (c) => c.task.variant === v && c.task.requests === requests && c.task.pass === pass,
      ) as { counted: Counted }
    ).counted;
  const measured: Measured[] = [];
  for (const t of tasks) {
    if (t.requests !== N1) continue;
    const n1 = find(t.variant, N1, t.pass);
    const n2 = find(t.variant, N2, t.pass);
    measured.push({
      variant: t.variant,
      pass: t.pass,
      n1,
      n2,
      perRequest: (n2.instructions - n1.instructions) / (N2 - N1),
    });
  }
  return measured;
}

const first = (m: readonly Measured[], id: string): Measured | undefined =>
  m.find((x) => x.variant.id === id && x.pass === 1);

function mainTable(m: readonly Measured[]): string {
  return table(
    ['app', 'variant', 'instructions per request', 'vs bare Express', 'vs bare Express, %'],
    m
      .filter((x) => x.pass === 1)
      .map((x) => {
        // `--only` may leave out the bare variant: then there is nothing to compare with.
        const bare = first(m, `${x.variant.shape}-bare`);
        const diff = bare === undefined ? NaN : x.perRequest - bare.perRequest;
        const compared = x.variant.setup !== 'bare' && bare !== undefined;
        return [
          x.variant.setup === 'bare' ? SHAPE_LABELS[x.variant.shape] : '',
          SETUP_LABELS[x.variant.setup],
          fmt(x.perRequest),
          compared ? signed(diff) : '',
          compared ? percent(diff, bare.perRequest) : '',
        ];
      }),
  );
}

/**
 * The package's difference split at the `sdk` variant: what the SDK's two records cost when called
 * the cheapest way, and what the package does besides (its interceptor, listeners, labels, route
 * template, span look-ups).
 */
function splitTable(m: readonly Measured[]): string {
  const bare = first(m, 'users-bare');
  const sdk = first(m, 'users-sdk');
  const rows: string[][] = [];
  if (bare === undefined || sdk === undefined) return '';
  const row = (label: string, x: number): string[] => [
    label,
    signed(x),
    percent(x, bare.perRequest),
  ];
  rows.push(
    row(
      "the SDK's two records and one 'close' listener (sdk minus bare)",
      sdk.perRequest - bare.perRequest,
    ),
  );
  for (const setup of ['defaults', 'all-on'] as const) {
    const x = first(m, `users-${setup}`);
    if (x === undefined) continue;
    rows.push(
      row(`the package's own work, ${setup} (${setup} minus sdk)`, x.perRequest - sdk.perRequest),
    );
    rows.push(row(`the package, ${setup} (${setup} minus bare)`, x.perRequest - bare.perRequest));
  }
  const hash = first(m, 'users-defaults-hash');
  if (hash !== undefined) {
    rows.push(
      row(
        "experiment: the package, defaults, with the SDK's hashAttributes replaced (defaults-hash minus bare)",
        hash.perRequest - bare.perRequest,
      ),
    );
  }
  return table(['part', 'instructions per request', 'of bare Express'], rows);
}

function runsTable(m: readonly Measured[]): string {
  return table(
    ['variant', 'pass', `I(${fmt(N1)})`, `I(${fmt(N2)})`, 'per request', 'wall time of the two'],
    m.map((x) => [
      x.variant.id,
      String(x.pass),
      fmt(x.n1.instructions),
      fmt(x.n2.instructions),
      fmt(x.perRequest),
      `${(x.n1.seconds + x.n2.seconds).toFixed(0)} s`,
    ]),
  );
}

/** The repeated variants' two passes, and what their spread does to the package's difference. */
function spreadTable(m: readonly Measured[]): string {
  const pair = (id: string): [Measured, Measured] | undefined => {
    const a = m.find((x) => x.variant.id === id && x.pass === 1);
    const b = m.find((x) => x.variant.id === id && x.pass === 2);
    return a && b ? [a, b] : undefined;
  };
  const rows: string[][] = [];
  for (const id of REPEATED) {
    const p = pair(id);
    if (p === undefined) continue;
    const d = p[1].perRequest - p[0].perRequest;
    rows.push([
      id,
      fmt(p[0].perRequest),
      fmt(p[1].perRequest),
      signed(d),
      percent(d, p[0].perRequest),
    ]);
  }
  const ours = pair(PROFILED.ours);
  const bare = pair(PROFILED.bare);
  if (ours && bare) {
    const d1 = ours[0].perRequest - bare[0].perRequest;
    const d2 = ours[1].perRequest - bare[1].perRequest;
    rows.push([
      'package minus bare',
      signed(d1),
      signed(d2),
      signed(d2 - d1),
      percent(d2 - d1, d1),
    ]);
  }
  return table(['variant', 'pass 1', 'pass 2', 'pass 2 - pass 1', 'relative'], rows);
}

interface FunctionRow {
  name: string;
  owner: Owner;
  self: number;
}

/** Files read to show what an anonymous function is, by path. */
const sources = new Map<string, string[]>();

/**
 * A function's name for the table; an anonymous one of ours or the SDK's with the start of its
 * line (`res.on("close", () => {`), which its line number alone does not tell.
 */
function displayName(r: FunctionRow): string {
  const name = shortName(r.name, OUR_DIST);
  const at = /^JS \(anonymous\) (\/\S+):(\d+):\d+$/.exec(r.name);
  if (r.owner === 'other' || at === null) return name;
  const file = at[1] as string;
  if (!sources.has(file)) {
    try {
      sources.set(file, readFileSync(file, 'utf8').split('\n'));
    } catch {
      sources.set(file, []);
    }
  }
  const line = sources.get(file)?.[Number(at[2]) - 1]?.trim() ?? '';
  return line === '' ? name : `${name}: ${line.length > 50 ? `${line.slice(0, 50)}...` : line}`;
}

/** Code in a Markdown table cell: no pipe may end the cell, no backtick the code. */
function cell(code: string): string {
  return `\`${code.replaceAll('`', "'").replaceAll('|', '\\|')}\``;
}

/** Per request, `ours` minus `bare`, of each function's costs in the N2 run minus the N1 run. */
function functionDiff(ours: Measured, bare: Measured): Map<string, number> {
  const perRequest = (x: Measured): Map<string, number> => {
    const a = functionCosts(x.n1);
    const b = functionCosts(x.n2);
    const out = new Map<string, number>();
    for (const name of new Set([...a.keys(), ...b.keys()])) {
      out.set(name, ((b.get(name) ?? 0) - (a.get(name) ?? 0)) / (N2 - N1));
    }
    return out;
  };
  const o = perRequest(ours);
  const b = perRequest(bare);
  const diff = new Map<string, number>();
  for (const name of new Set([...o.keys(), ...b.keys()])) {
    diff.set(name, (o.get(name) ?? 0) - (b.get(name) ?? 0));
  }
  return diff;
}

const OWNER_LABELS: Record<Owner, string> = {
  ours: 'ours (express-otel-metrics/dist)',
  sdk: "the SDK's (@opentelemetry)",
  other: 'other (V8 builtins and runtime, Node, Express, libc)',
};

function functionTables(m: readonly Measured[]): string {
  const ours = first(m, PROFILED.ours);
  const bare = first(m, PROFILED.bare);
  if (ours === undefined || bare === undefined) return '';
  const rows: FunctionRow[] = [...functionDiff(ours, bare)].map(([name, self]) => ({
    name,
    owner: ownerOf(name, OUR_DIST),
    self,
  }));
  const total = ours.perRequest - bare.perRequest;
  // `other` split by what runs there, so that it shows whether the engine's work or some other
  // JavaScript grew.
  const groups: Array<[string, (r: FunctionRow) => boolean]> = [
    [OWNER_LABELS.ours, (r) => r.owner === 'ours'],
    [OWNER_LABELS.sdk, (r) => r.owner === 'sdk'],
    [
      'other: JavaScript (Node, Express, the client)',
      (r) => r.owner === 'other' && r.name.startsWith('JS '),
    ],
    [
      "other: the node binary's own code (V8's builtins, runtime, compilers, GC; Node's C++)",
      (r) => r.owner === 'other' && / \[\S*\/node\]$/.test(r.name),
    ],
    [
      "other: the rest (libc, libstdc++, V8's generated stubs and regular expressions)",
      (r) => r.owner === 'other' && !r.name.startsWith('JS ') && !/ \[\S*\/node\]$/.test(r.name),
    ],
    ['all functions', () => true],
  ];
  const sums = table(
    ['whose code', 'self instructions per request, package minus bare', 'share of the difference'],
    groups.map(([label, member]) => {
      const sum = rows.filter(member).reduce((s, r) => s + r.self, 0);
      return [label, signed(sum), `${((sum / total) * 100).toFixed(0)}%`];
    }),
  );
  const top = (owner: Owner | undefined): string =>
    table(
      ['function', 'whose', 'self instructions per request'],
      rows
        .filter((r) => (owner === undefined || r.owner === owner) && r.self >= 0.5)
        .sort((a, b) => b.self - a.self)
        .slice(0, TOP_FUNCTIONS)
        .map((r) => [cell(displayName(r)), r.owner, signed(r.self)]),
    );
  return [
    sums,
    '',
    `### The ${TOP_FUNCTIONS} functions with the most self instructions of the difference`,
    '',
    top(undefined),
    '',
    `### Ours: the ${TOP_FUNCTIONS} first`,
    '',
    top('ours'),
    '',
    `### The SDK's: the ${TOP_FUNCTIONS} first`,
    '',
    top('sdk'),
  ].join('\n');
}

/** What would be wrong with the counts, if anything. */
function problems(m: readonly Measured[]): string[] {
  const found: string[] = [];
  for (const x of m) {
    if (!(x.perRequest > 0)) found.push(`${x.variant.id}: ${fmt(x.perRequest)} per request`);
    const bare = first(m, `${x.variant.shape}-bare`);
    if (bare === undefined) continue;
    if (x.variant.setup !== 'bare' && x.pass === 1 && !(x.perRequest > bare.perRequest)) {
      found.push(
        `${x.variant.id}: ${fmt(x.perRequest)} per request, not above bare Express's ${fmt(bare.perRequest)}`,
      );
    }
  }
  return found;
}

/**
 * A package's version, as `from` resolves it: from the package.json above its entry point, since
 * some (@opentelemetry/api) do not export `./package.json`.
 */
function version(name: string, from = PACKAGE_DIR): string {
  let dir = dirname(createRequire(join(from, 'package.json')).resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === name) return `${name} ${pkg.version}`;
    } catch {
      // No package.json at this level: a folder inside the package.
    }
    if (dirname(dir) === dir) return `${name} ?`;
    dir = dirname(dir);
  }
}

/**
 * Copies what the counted processes load from the workspace, the package's build and the app's
 * two scripts, into OUT_DIR, where the app finds the package first. The full run takes over an
 * hour: a rebuild meanwhile (`pnpm typecheck` rebuilds the package) would otherwise change what
 * is measured halfway, or fail a process that starts while dist is being rewritten. The package's
 * own node_modules is linked, so it loads the same dependencies.
 */
function snapshot(): void {
  mkdirSync(OUR_DIST, { recursive: true });
  for (const file of ['instructions-app.js', 'instruction-variants.js']) {
    copyFileSync(join(__dirname, file), join(APP_DIR, file));
  }
  const library = dirname(OUR_DIST);
  copyFileSync(join(LIBRARY_DIR, 'package.json'), join(library, 'package.json'));
  copyFileSync(join(LIBRARY_DIR, 'dist', 'index.cjs'), join(OUR_DIST, 'index.cjs'));
  symlinkSync(join(LIBRARY_DIR, 'node_modules'), join(library, 'node_modules'));
}

/** The workspace's commit, and whether the package's sources differ from it (read-only git). */
function workspace(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', ['-C', LIBRARY_DIR, ...args], { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src') !== '';
    return `workspace at ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes to the package' : ''}`;
  } catch {
    return 'workspace commit unknown';
  }
}

async function main(): Promise<void> {
  for (const tool of ['valgrind', 'callgrind_annotate']) {
    try {
      execFileSync('which', [tool]);
    } catch {
      throw new Error(`${tool} is needed (Debian: apt-get install valgrind)`);
    }
  }
  if (!REUSE) {
    rmSync(OUT_DIR, { recursive: true, force: true });
    snapshot();
  }
  const began = Date.now();
  // Read when the library's bundle is copied, which is what the counts measure.
  const counted = REUSE ? (logged.workspace ?? 'workspace unknown') : workspace();
  logged.workspace = counted;
  const m = await measure(
    (smoke ? SMOKE_VARIANTS : VARIANTS).filter((v) => ONLY === undefined || ONLY.includes(v.id)),
  );
  const minutes = REUSE ? (logged.minutes ?? NaN) : (Date.now() - began) / 60_000;
  if (!REUSE) writeFileSync(LOG, JSON.stringify({ ...logged, minutes }, null, 2));
  const found = problems(m);

  const express = dirname(requireHere.resolve('express/package.json'));
  const versions = [
    `Node.js ${process.version}`,
    version('express'),
    version('router', express),
    `${version('express-otel-metrics')} (${counted})`,
    version('@opentelemetry/api', LIBRARY_DIR),
    version('@opentelemetry/sdk-metrics', LIBRARY_DIR),
    execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim(),
  ].join(', ');
  const command = `pnpm bench:instructions${smoke ? ' --smoke' : ''} (warm-up ${fmt(WARMUP)}, N1 ${fmt(N1)}, N2 ${fmt(N2)}, node ${NODE_FLAGS.join(' ') || 'without --predictable'}, ${JOBS} at a time)`;
  const perRequest = mainTable(m);
  const split = splitTable(m);
  const runs = runsTable(m);

  console.log(`\nInstructions per request: (I(N2) - I(N1)) / (N2 - N1), ${command}\n`);
  console.log(perRequest);
  if (split !== '') console.log(`\nOurs and the SDK's\n\n${split}`);
  console.log('\nThe runs\n');
  console.log(runs);
  if (smoke) {
    // Nobody reads the smoke run's dumps; its figures are printed above.
    rmSync(OUT_DIR, { recursive: true, force: true });
    if (found.length > 0) throw new Error(`the counts are not sane:\n${found.join('\n')}`);
    console.log(
      `\nsmoke run: ${minutes.toFixed(1)} min; counts positive, the SDK's and the package's above bare`,
    );
    return;
  }
  const spread = spreadTable(m);
  if (REPEATED.length > 0) {
    console.log('\nRun-to-run spread\n');
    console.log(spread);
  }
  process.stderr.write('reading the dumps with callgrind_annotate\n');
  const functions = functionTables(m);
  console.log(`\nWhere the package's instructions go (${PROFILED.ours} minus ${PROFILED.bare})\n`);
  console.log(functions);
  if (found.length > 0) console.log(`\nCounts that look wrong:\n${found.join('\n')}`);

  const results = [
    '# Instruction counts: `pnpm bench:instructions`',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${machine()}; ${versions}.`,
    `Command: \`${command}\`; ${minutes.toFixed(0)} minutes.`,
    '',
    'Each variant is one process under `valgrind --tool=callgrind --dump-instr=no --smc-check=all-non-file`, run twice: the app and an HTTP/1.1 client on one keep-alive connection in the same process (src/instructions-app.ts), the client sending each request when the last answer is read in full. Both runs send the warm-up requests, then N1 or N2 more; start-up, warm-up and exit are the same in both, so',
    '',
    '    instructions per request = (I(N2) - I(N1)) / (N2 - N1)',
    '',
    "counts a request once the JIT has compiled the hot code, every thread of the process included, the client's side too (a minimal parser of the status line and `Content-Length`). The package is registered with `collectors` all off and `endpoint: { mode: 'none' }`, so only the request path is measured; after the requests the app reads its exposition once to check that every request was counted under the expected route template (and, all on, in every series of its options).",
    '',
    "Node runs with V8's `--predictable`: the JIT (Sparkplug, Maglev, TurboFan) stays on and the GC works as usual, but both work on the main thread instead of background threads, with no memory reducer (a timer) and a fixed random seed. Without it, when a background compilation lands depends on how valgrind interleaves the threads, and V8 optimises differently from run to run: two counts of users-defaults came to 244,890 and 196,699 instructions per request (bare Express: 176,992 and 179,173), so the package's difference was 67,898 in one and 17,526 in the other (`--no-predictable` counts that way). With it, see the spread below. Node also runs with `--perf-basic-prof`, so that the JIT's code can be named (it turns off V8's code-space compaction). Neither the machine's speed nor its other load enters the counts, beyond a few timers that fire by the clock (the HTTP server's date header, its connection checks).",
    '',
    `Apps: ${Object.entries(TARGETS)
      .map(([shape, t]) => `${shape} \`GET ${t.path}\` (route \`${t.template}\`)`)
      .join(
        '; ',
      )}. Every request also carries an \`X-Tenant\` header, which the all-on variant labels.`,
    '',
    `All-on: ${Object.keys(ALL_ON_OPTIONS)
      .map((k) => `\`${k}\``)
      .join(
        ', ',
      )} (\`latencyHistogram: '${ALL_ON_OPTIONS.latencyHistogram}'\`, one extra label, exemplars on with no tracer).`,
    '',
    '## Instructions per request',
    '',
    perRequest,
    '',
    "## Ours and the SDK's",
    '',
    "The `sdk` variant is bare Express with the two recordings the package's defaults make per request (a histogram record and a counter add with the same attribute values, new objects each time, literal keys, the active context read once and passed to both) at the response's 'close', through a MeterProvider with the package's Views, and nothing else: the least any code that records these series through the SDK pays. It also carries one 'close' listener and two clock reads, which the package needs as well.",
    '',
    split,
    '',
    '## Run-to-run spread',
    '',
    `${REPEATED.join(' and ')} were counted twice, four processes each; "package minus bare" is the difference of the two in each pass.`,
    '',
    spread,
    '',
    `## Where the package's instructions go: ${PROFILED.ours} minus ${PROFILED.bare}`,
    '',
    "Self instructions per function (what runs in the function's own code), per request, in the N2 run minus the N1 run, the package's process minus bare Express's, as `callgrind_annotate` sums them (inclusive costs are left out: V8's code enters and leaves builtins by jumps as well as calls, which callgrind's call tracking misreads). JavaScript functions are named from V8's perf map and told apart by file, line and column; TurboFan and Maglev inline small callees into their callers, whose code then carries their cost, and interpreted or Sparkplug code spends most of its instructions in V8's builtins (`other`), so the split below leans towards `other`.",
    '',
    functions,
    '',
    '## The runs',
    '',
    runs,
    '',
    found.length > 0 ? `Counts that look wrong: ${found.join('; ')}.\n` : '',
  ].join('\n');
  if (ONLY === undefined) writeFileSync(join(PACKAGE_DIR, 'INSTRUCTIONS-RESULTS.md'), results);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
