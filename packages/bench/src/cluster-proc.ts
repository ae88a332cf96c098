/** The cluster scrape benchmark's side of its apps (cluster-server.ts): start, command, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** What an app says once it listens: its exposition and its processes that record. */
export interface Ready {
  metricsUrl: string;
  /** The processes with the app's series (the workers, or the single process itself). */
  workers: Array<{ pid: number; url: string }>;
}

/** `snapshots`: how many the primary has received from its workers (the package's primary). */
export type Command = { op: 'probe' } | { op: 'snapshots' } | { op: 'stop' };

/** One in-process scrape of the primary, timed from its start (see `probe` in cluster-server.ts). */
export interface Probe {
  totalMs: number;
  firstSnapshotMs: number;
  lastSnapshotMs: number;
  /** Characters of the exposition. */
  exposition: number;
  /** Each worker's snapshot message: its size as JSON, and the time to write and read it. */
  messages: Array<{ bytes: number; stringifyMs: number; parseMs: number }>;
}

export interface App extends Ready {
  /** The primary's pid (or the single process'). */
  pid: number;
  call(command: Command): Promise<unknown>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Every app runs in a process group of its own (its workers with it), so that whatever happens
 * here, the whole group is killed on the way out.
 */
const groups = new Set<number>();
function killGroups(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  groups.clear();
}
process.once('exit', killGroups);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killGroups();
    process.exit(130);
  });
}

/** Starts `cluster-server.js <args>` on CPUs `cpus` (taskset; the workers inherit them). */
export async function startApp(args: string[], cpus: string): Promise<App> {
  const child: ChildProcess = spawn(
    'taskset',
    ['-c', cpus, process.execPath, join(__dirname, 'cluster-server.js'), ...args],
    {
      detached: true,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  // taskset execs node: the pid is the app's own, and the leader of its process group.
  const pid = child.pid as number;
  groups.add(pid);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  void exited.then((code) => {
    for (const { reject } of pending.values())
      reject(new Error(`${args.join(' ')} exited (${code})`));
    pending.clear();
  });
  let onReady: (ready: Ready) => void = () => undefined;
  child.on(
    'message',
    (message: { ready: Ready } | { id: number; value?: unknown; error?: string }) => {
      if ('ready' in message) {
        onReady(message.ready);
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.value);
    },
  );
  const kill = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    groups.delete(pid);
  };
  let ready: Ready;
  try {
    ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${args.join(' ')} did not start in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      onReady = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${args.join(' ')} exited (${code}) before it was ready`));
      });
    });
  } catch (err) {
    kill();
    throw err;
  }
  let next = 0;
  let stopping: Promise<void> | undefined;
  return {
    ...ready,
    pid,
    call: (command) =>
      new Promise((resolve, reject) => {
        const id = next++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${command.op}: no answer in ${CALL_TIMEOUT_MS} ms`));
        }, CALL_TIMEOUT_MS);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, ...command }, (err: Error | null) => {
          if (err === null) return;
          pending.get(id)?.reject(err);
          pending.delete(id);
        });
      }),
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const timer = setTimeout(kill, STOP_TIMEOUT_MS);
          child.send({ id: next++, op: 'stop' }, () => undefined);
          await exited;
          clearTimeout(timer);
        }
        // Whatever of the group is left (a worker that outlived its primary).
        kill();
      })()),
  };
}

/** The value below which `q` of the values are (nearest rank). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}
