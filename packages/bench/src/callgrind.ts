// Counting a process's instructions with valgrind's callgrind, and reading per-function costs out
// of its dumps, the JIT-compiled JavaScript named through V8's perf map.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});
// Stopped, the run leaves no valgrind process behind: a signal's default action would skip 'exit'.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(1));
}

export interface Counted {
  /** Instructions of the whole process, every thread (callgrind's `totals`). */
  instructions: number;
  /** The callgrind dump, for `callgrind_annotate`. */
  dump: string;
  /** V8's map of the addresses of its generated code (`--perf-basic-prof`), beside the dump. */
  perfMap: string;
  seconds: number;
}

/**
 * Runs `node <nodeFlags> <script> <args>` under callgrind, with its working directory and every
 * file it writes in `outDir` under the name `name`.
 */
export async function countInstructions(
  script: string,
  args: readonly string[],
  outDir: string,
  name: string,
  nodeFlags: readonly string[] = [],
): Promise<Counted> {
  const dump = join(outDir, `${name}.callgrind`);
  const began = Date.now();
  const run = await runOnce(dump, [...nodeFlags, script, ...args], outDir);
  if (run.code !== 0) {
    const tail = run.stderr.split('\n').slice(-30).join('\n');
    throw new Error(`${name} exited with ${run.code ?? run.signal}:\n${tail}`);
  }
  const { pid } = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { pid?: number };
  if (pid === undefined) throw new Error(`${name}: no pid in its output:\n${run.stdout}`);
  const perfMap = `${dump}.map`;
  renameSync(join(outDir, `perf-${pid}.map`), perfMap);
  return {
    instructions: totalsOf(dump),
    dump,
    perfMap,
    seconds: (Date.now() - began) / 1000,
  };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runOnce(dump: string, nodeArgs: readonly string[], outDir: string): Promise<Run> {
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${dump}`,
      // Costs per function and line are all this reads; per instruction would only grow the dump.
      '--dump-instr=no',
      // V8 writes and rewrites machine code in anonymous memory: valgrind must notice the change
      // and translate it again (the default on amd64, spelled out since it is what makes a JIT
      // countable at all).
      '--smc-check=all-non-file',
      process.execPath,
      // V8 writes a map from the addresses of its generated code to the JavaScript functions,
      // which callgrind only knows by address; it also turns off code-space compaction, so an
      // address keeps one function.
      '--perf-basic-prof',
      `--perf-basic-prof-path=${outDir}`,
      ...nodeArgs,
    ],
    { cwd: outDir, env: environment(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      started.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A run of {@link countInstructions} read back from its files (its duration is not kept). */
export function readCounted(outDir: string, name: string): Counted {
  const dump = join(outDir, `${name}.callgrind`);
  return { instructions: totalsOf(dump), dump, perfMap: `${dump}.map`, seconds: NaN };
}

function totalsOf(dump: string): number {
  const totals = /^totals: (\d+)$/m.exec(readFileSync(dump, 'utf8'));
  if (totals === null) throw new Error(`no totals in ${dump}`);
  return Number(totals[1]);
}

/**
 * The environment of a counted process: production Express, and none of the OpenTelemetry
 * variables, which would change what the package builds (`OTEL_METRICS_EXPORTER=otlp`, ...).
 */
function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'production' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OTEL_') && key !== 'NODE_OPTIONS' && key !== 'NODE_ENV') env[key] = value;
  }
  return env;
}

interface MapEntry {
  start: number;
  size: number;
  name: string;
}

/** The perf map's entries by start address; a later entry at an address replaces an earlier one. */
function readPerfMap(path: string): MapEntry[] {
  const byStart = new Map<number, MapEntry>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m === null) continue;
    const start = parseInt(m[1] as string, 16);
    byStart.set(start, { start, size: parseInt(m[2] as string, 16), name: m[3] as string });
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

function lookUp(entries: readonly MapEntry[], address: number): MapEntry | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  let found: MapEntry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = entries[mid] as MapEntry;
    if (e.start <= address) {
      found = e;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found !== undefined && address < found.start + found.size ? found : undefined;
}

/**
 * The name a function is compared by across processes. JavaScript: its name and where it is
 * declared, without V8's tier marker (`~` interpreted, `^` Sparkplug, `+` Maglev, `*` TurboFan),
 * so a function counts as one however often it was compiled. Code callgrind knows by address
 * only and the map does not name: one bucket, since its addresses differ from run to run.
 */
function nameOf(annotated: string, entries: readonly MapEntry[]): string {
  const jit = /^\?\?\?:0x([0-9a-f]+)(?:'\d+)? \[\?\?\?\]$/.exec(annotated);
  if (jit === null) return annotated;
  const entry = lookUp(entries, parseInt(jit[1] as string, 16));
  if (entry === undefined) return 'JIT code the perf map does not name';
  const js = /^JS:[~^+*]?'?(.*)$/.exec(entry.name);
  if (js === null) return `V8 ${entry.name}`;
  const text = js[1] as string;
  return `JS ${text.startsWith(' ') ? `(anonymous)${text}` : text}`;
}

/**
 * Self (exclusive) instructions per function of a dump, as `callgrind_annotate` sums them: what
 * runs in each function's own code, so that they add up to the total. Inclusive costs are not
 * read: callgrind follows calls and returns, and V8's code enters and leaves builtins by jumps as
 * well, so a JavaScript function's inclusive cost can hold the rest of the request.
 */
export function functionCosts(counted: Pick<Counted, 'dump' | 'perfMap'>): Map<string, number> {
  const text = execFileSync(
    'callgrind_annotate',
    ['--threshold=100', '--auto=no', '--inclusive=no', counted.dump],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const entries = readPerfMap(counted.perfMap);
  const costs = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.+)$/.exec(line);
    if (m === null || m[2] === 'PROGRAM TOTALS') continue;
    const name = nameOf(m[2] as string, entries);
    costs.set(name, (costs.get(name) ?? 0) + Number((m[1] as string).replaceAll(',', '')));
  }
  return costs;
}

/** Whose code a function is: the package's bundle, OpenTelemetry's packages, or anything else. */
export type Owner = 'ours' | 'sdk' | 'other';

export function ownerOf(name: string, ourDist: string): Owner {
  if (!name.startsWith('JS ')) return 'other';
  if (name.includes(ourDist) || name.includes('express-otel-metrics/dist')) return 'ours';
  if (name.includes('/@opentelemetry/')) return 'sdk';
  return 'other';
}

/**
 * A C++ function's name without its return type and parameters:
 * `bool v8::internal::Foo<false>(v8::internal::Handle<...>)` is `v8::internal::Foo<false>`.
 */
function cppName(name: string): string {
  let end = name.length;
  const suffix = /(?: const)?(?:'\d+)?$/.exec(name)?.[0] ?? '';
  end -= suffix.length;
  if (name[end - 1] === ')') {
    let depth = 0;
    for (let i = end - 1; i >= 0; i--) {
      if (name[i] === ')') depth++;
      else if (name[i] === '(' && --depth === 0) {
        end = i;
        break;
      }
    }
  }
  let depth = 0;
  let start = 0;
  for (let i = 0; i < end; i++) {
    const c = name[i];
    if (c === '<' || c === '(') depth++;
    else if (c === '>' || c === ')') depth--;
    else if (c === ' ' && depth === 0) start = i + 1;
  }
  return name.slice(start, end);
}

/**
 * A function's name for a table: JavaScript's file shortened to what follows the last
 * `node_modules/`, C++'s without types, with the file name of its binary.
 */
export function shortName(name: string, ourDist: string): string {
  if (name.startsWith('JS ')) {
    return name
      .slice(3)
      .replace(ourDist, 'express-otel-metrics/dist')
      .replace(/\S*node_modules\//, '');
  }
  if (name.startsWith('V8 ')) return name.slice(3);
  // `file:function [object]` of callgrind_annotate.
  const m = /^(?:[^:]*):(.*?)(?: \[(?:.*\/)?([^/\]]+)\])?$/.exec(name);
  if (m === null) return name;
  return `${cppName(m[1] as string)}${m[2] !== undefined ? ` (${m[2]})` : ''}`;
}
