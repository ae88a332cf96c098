import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) throw new Error(`unreadable wrk latency ${value}`);
  const n = Number(m[1]);
  return { us: n / 1000, ms: n, s: n * 1000, m: n * 60000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
}

/** Parses `wrk --latency` output. */
export function parseWrk(output: string): WrkResult {
  const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const p50 = /^\s+50%\s+(\S+)$/m.exec(output)?.[1];
  const p99 = /^\s+99%\s+(\S+)$/m.exec(output)?.[1];
  if (!Number.isFinite(requests) || !Number.isFinite(rps) || !p50 || !p99) {
    throw new Error(`unreadable wrk output:\n${output}`);
  }
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const errors = (socket ? socket.slice(1).reduce((s, n) => s + Number(n), 0) : 0) + non2xx;
  return { requests, rps, p50ms: toMs(p50), p99ms: toMs(p99), errors };
}

/** One load run from core `core`, 1 thread, `connections` keep-alive connections. */
export async function wrk(
  url: string,
  seconds: number,
  core: number,
  connections = 32,
): Promise<WrkResult> {
  const { stdout } = await run('taskset', [
    '-c',
    String(core),
    'wrk',
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    url,
  ]);
  return parseWrk(stdout);
}
