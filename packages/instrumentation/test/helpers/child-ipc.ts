import type { ChildProcess } from 'node:child_process';

/** A child's answer to one command. */
export interface Reply {
  id: number;
  value?: unknown;
  error?: string;
}

export interface DrivenChild<R> {
  /** The child's `{ ready: R }` message, or an error if it exits or is slow to send it. */
  ready: Promise<R>;
  /** Sends `{ id, ...command }` and settles with the child's reply to that id. */
  call(command: object): Promise<unknown>;
  /** The exit code, once the child has exited. */
  exited: Promise<number | null>;
}

/**
 * The test's side of a child process driven over IPC: it says `{ ready }` once, then answers
 * each command with a {@link Reply}. A child that exits fails whatever is still waiting.
 */
export function driveChild<R>(child: ChildProcess, startTimeoutMs: number): DrivenChild<R> {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  void exited.then((code) => {
    for (const { reject } of pending.values()) reject(new Error(`the child exited (${code})`));
    pending.clear();
  });
  const ready = new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the child process did not start'));
    }, startTimeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the child process exited (${code}) before it was ready`));
    });
    child.on('message', (message: { ready: R } | Reply) => {
      if ('ready' in message) {
        clearTimeout(timer);
        resolve(message.ready);
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.value);
    });
  });
  let next = 0;
  return {
    ready,
    exited,
    call: (command) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        child.send({ id, ...command });
      }),
  };
}
