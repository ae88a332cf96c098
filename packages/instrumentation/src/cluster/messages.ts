import type { Snapshot } from './snapshot.js';

/**
 * The key that marks the package's messages on the cluster's IPC channel, which the app's own
 * messages share: anything without it is left alone, and the app can ignore ours by it.
 */
export const MESSAGE_KEY = 'expressOtelMetrics' as const;

/**
 * The shape of the snapshots, sent with each one. During a rolling upgrade a primary and its
 * workers may run different versions of the package; a snapshot in a shape the primary does not
 * read is left out (and reported) rather than merged wrongly.
 */
export const SNAPSHOT_FORMAT = 1;

/** Primary to worker: send a snapshot for scrape `seq` of gatherer `gatherer`. */
export interface CollectRequest {
  [MESSAGE_KEY]: 'collect';
  gatherer: string;
  seq: number;
}

/** Worker to primary: it records with `cluster: true` (sent once, at registration). */
export interface Hello {
  [MESSAGE_KEY]: 'hello';
}

/**
 * Worker to primary: its series. `n` grows with every snapshot a worker takes, so that an answer
 * overtaken by a newer one is never taken for current; `final` marks the last, sent when its
 * registration shuts down, after which it answers no more requests.
 */
export interface SnapshotMessage {
  [MESSAGE_KEY]: 'snapshot';
  format: typeof SNAPSHOT_FORMAT;
  gatherer: string | undefined;
  seq: number | undefined;
  n: number;
  final: boolean;
  snapshot: Snapshot;
}

/**
 * A snapshot from a worker of another version: of its fields only those that every format
 * keeps are read, to end the wait for its answer.
 */
export interface ForeignSnapshotMessage {
  [MESSAGE_KEY]: 'snapshot';
  format: unknown;
  gatherer: unknown;
  seq: unknown;
}

export type WorkerMessage = Hello | SnapshotMessage | ForeignSnapshotMessage;

function isOurs(message: unknown): message is Record<typeof MESSAGE_KEY, unknown> {
  return typeof message === 'object' && message !== null && MESSAGE_KEY in message;
}

export function isCollectRequest(message: unknown): message is CollectRequest {
  return (
    isOurs(message) &&
    message[MESSAGE_KEY] === 'collect' &&
    typeof (message as Partial<CollectRequest>).gatherer === 'string' &&
    typeof (message as Partial<CollectRequest>).seq === 'number'
  );
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  if (!isOurs(message)) return false;
  if (message[MESSAGE_KEY] === 'hello') return true;
  if (message[MESSAGE_KEY] !== 'snapshot') return false;
  const m = message as Partial<SnapshotMessage>;
  if (m.format !== SNAPSHOT_FORMAT) return true;
  return (
    typeof m.n === 'number' &&
    typeof m.final === 'boolean' &&
    typeof m.snapshot === 'object' &&
    m.snapshot !== null &&
    Array.isArray(m.snapshot.scopes)
  );
}

export function isReadable(
  message: SnapshotMessage | ForeignSnapshotMessage,
): message is SnapshotMessage {
  return message.format === SNAPSHOT_FORMAT;
}
