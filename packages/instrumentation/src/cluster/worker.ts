import type { Collected } from '../export/collected.js';
import type { Reporter } from '../report.js';
import {
  isCollectRequest,
  MESSAGE_KEY,
  SNAPSHOT_FORMAT,
  type CollectRequest,
  type WorkerMessage,
} from './messages.js';
import { takeSnapshot } from './snapshot.js';

export interface WorkerLink {
  /** Sends a last snapshot, so that what was counted since the last scrape is not lost. */
  sendFinal(): Promise<void>;
  /** Stops answering the primary. */
  stop(): void;
}

/**
 * Whether a registration of this process answers the primary. Two would each answer every
 * request, and the primary would take either's series for the whole worker's.
 */
let linked = false;

/** Whether this process already answers the primary (checked before a second registration). */
export function isLinked(): boolean {
  return linked;
}

/**
 * A worker's half of cluster mode: answers the primary's requests with snapshots of `collect()`.
 * Snapshots are taken one at a time, in the order asked, so that a later one never holds less.
 */
export function linkToPrimary(collect: () => Promise<Collected>, report: Reporter): WorkerLink {
  linked = true;
  let taken = 0;
  let queue: Promise<void> = Promise.resolve();

  function send(message: WorkerMessage): Promise<void> {
    return new Promise((resolve) => {
      if (typeof process.send !== 'function' || !process.connected) {
        resolve();
        return;
      }
      try {
        // With a callback, a closed channel is an error passed to it, not an 'error' event
        // that would end the process.
        process.send(message, undefined, {}, (err: Error | null) => {
          if (err)
            report.error('cluster:send', 'sending metrics to the cluster primary failed', err);
          resolve();
        });
      } catch (err) {
        report.error('cluster:send', 'sending metrics to the cluster primary failed', err);
        resolve();
      }
    });
  }

  function snapshot(gatherer: string | undefined, seq: number | undefined, final: boolean) {
    const next = queue.then(async () => {
      const n = ++taken;
      try {
        const resourceMetrics = await collect();
        await send({
          [MESSAGE_KEY]: 'snapshot',
          format: SNAPSHOT_FORMAT,
          gatherer,
          seq,
          n,
          final,
          snapshot: takeSnapshot(resourceMetrics),
        });
      } catch (err) {
        report.error('cluster:collect', 'collecting metrics for the cluster primary failed', err);
      }
    });
    queue = next;
    return next;
  }

  // Requests that arrive while a snapshot waits its turn share the next one: a worker whose event
  // loop was stuck finds a request per scrape queued, and one answer does for all of them.
  let asked: CollectRequest | undefined;
  const onMessage = (message: unknown): void => {
    if (!isCollectRequest(message)) return;
    const waiting = asked !== undefined;
    asked = message;
    if (waiting) return;
    void queue.then(() => {
      const request = asked;
      asked = undefined;
      if (request !== undefined) return snapshot(request.gatherer, request.seq, false);
      return undefined;
    });
  };
  process.on('message', onMessage);
  void send({ [MESSAGE_KEY]: 'hello' });

  return {
    sendFinal: () => snapshot(undefined, undefined, true),
    stop: () => {
      process.off('message', onMessage);
      linked = false;
    },
  };
}
