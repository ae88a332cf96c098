import { randomUUID } from 'node:crypto';
import type { Cluster, Worker } from 'node:cluster';
import type { Collected } from '../export/collected.js';
import { mergeCollected, type Contribution, type Merged } from './merge.js';
import {
  isReadable,
  isWorkerMessage,
  MESSAGE_KEY,
  SNAPSHOT_FORMAT,
  type CollectRequest,
} from './messages.js';
import { readSnapshot } from './snapshot.js';

interface WorkerState {
  worker: Worker;
  /** The `worker` label: the lowest slot free when the worker first spoke, reused after it. */
  slot: number;
  /** The `n` of the snapshot kept, so that an older one arriving late is ignored. */
  n: number;
  /** Its latest snapshot, read. */
  data: Collected | undefined;
  /** When the snapshot kept arrived (`performance.now()`). */
  receivedAt: number;
  /**
   * It has sent its last snapshot (its registration shut down) and answers no more requests, so
   * no scrape waits for it; it is retired when it exits, unless it registers again first.
   */
  final: boolean;
}

/** What one round of asking the workers found. */
export interface Gathered {
  /** The live workers' latest snapshots, by slot, then what exited workers had counted. */
  contributions: Contribution[];
  /** Live workers that have reported. */
  workers: number;
  /** Of those, the ones that did not answer within the wait. */
  unresponsive: number;
}

/**
 * The primary's half of cluster mode: asks every worker for a snapshot, waits for the answers of
 * the workers known to record (those that have said so) at most `timeout` ms, and keeps what
 * exited workers had counted, so that the cluster's counters never go down.
 */
export class Gatherer {
  private readonly id = randomUUID();
  private readonly states = new Map<number, WorkerState>();
  private readonly slots = new Set<number>();
  /** The totals of the workers that have exited, added up. */
  private retired: Merged | undefined;
  private seq = 0;
  private waiting:
    | {
        seq: number;
        /** The workers this round still waits for. */
        pending: Set<number>;
        /** The workers that answered this round in a format the primary does not read. */
        unreadable: Set<number>;
        done: () => void;
      }
    | undefined;
  private round: Promise<Gathered> | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly timeout: number,
    private readonly warn: (key: string, message: string) => void,
  ) {
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onGone);
    cluster.on('disconnect', this.onGone);
  }

  stop(): void {
    this.cluster.off('message', this.onMessage);
    this.cluster.off('exit', this.onGone);
    this.cluster.off('disconnect', this.onGone);
    this.waiting?.done();
  }

  /** One round of asking; scrapes that arrive during a round share it. */
  gather(): Promise<Gathered> {
    this.round ??= this.ask().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  /** What a worker of another version sends that this primary cannot read, and leaves out. */
  private readonly unreadable = (key: string, message: string): void => {
    this.warn(`snapshot:${key}`, message);
  };

  private stateOf(worker: Worker): WorkerState {
    let state = this.states.get(worker.id);
    if (state === undefined) {
      let slot = 0;
      while (this.slots.has(slot)) slot++;
      this.slots.add(slot);
      state = { worker, slot, n: 0, data: undefined, receivedAt: -Infinity, final: false };
      this.states.set(worker.id, state);
    }
    return state;
  }

  private readonly onMessage = (worker: Worker, message: unknown): void => {
    // No message follows a worker's retirement: it waits for the channel to close.
    if (!isWorkerMessage(message)) return;
    const state = this.stateOf(worker);
    if (message[MESSAGE_KEY] === 'hello') {
      state.final = false;
      return;
    }
    // An answer to this round, readable or not, ends the wait for it: a worker of another
    // version answers in time with nothing to merge, and is counted unresponsive.
    const current = message.gatherer === this.id && message.seq === this.waiting?.seq;
    if (!isReadable(message)) {
      this.warn(
        `format:${String(message.format)}`,
        `a cluster worker sends its metrics in format ${String(message.format)}, and this primary reads format ${SNAPSHOT_FORMAT}: they run different versions of express-otel-metrics; the worker's series are left out until both run the same one`,
      );
      if (current) this.waiting?.unreadable.add(worker.id);
    } else if (message.n > state.n) {
      state.n = message.n;
      state.data = readSnapshot(message.snapshot, this.unreadable);
      state.receivedAt = performance.now();
      state.final = message.final;
    }
    if (current) this.stopWaitingFor(worker.id);
  };

  /**
   * A worker is retired once it has exited and its channel is closed: messages still in the
   * channel when it exits (its last snapshot, sent at shutdown) arrive before the channel closes.
   */
  private readonly onGone = (worker: Worker): void => {
    if (!worker.isDead() || worker.isConnected()) return;
    const state = this.states.get(worker.id);
    if (state === undefined) return;
    this.states.delete(worker.id);
    this.slots.delete(state.slot);
    if (state.data !== undefined) {
      const parts: Contribution[] = [{ worker: '', data: state.data, fresh: false }];
      if (this.retired !== undefined) parts.push({ worker: '', data: this.retired, fresh: false });
      this.retired = mergeCollected(parts, { attributes: {} }, this.warn);
    }
    this.stopWaitingFor(worker.id);
  };

  private stopWaitingFor(id: number): void {
    const waiting = this.waiting;
    if (waiting?.pending.delete(id) && waiting.pending.size === 0) waiting.done();
  }

  private async ask(): Promise<Gathered> {
    const seq = ++this.seq;
    const started = performance.now();
    const request: CollectRequest = { [MESSAGE_KEY]: 'collect', gatherer: this.id, seq };
    const pending = new Set<number>();
    const unreadable = new Set<number>();
    for (const worker of Object.values(this.cluster.workers ?? {})) {
      if (worker === undefined || !worker.isConnected()) continue;
      const state = this.states.get(worker.id);
      if (state?.final === true) continue;
      // Workers not yet known are asked too (one that registered before the primary listened
      // is known from its answer), but not waited for: they may not record at all.
      if (state !== undefined) pending.add(worker.id);
      try {
        // With a callback, a channel that breaks during the write (the worker was just killed)
        // reports to it; without one, the Worker would emit an 'error' that ends the primary.
        worker.send(request, undefined, {}, (err: Error | null) => {
          if (err) this.stopWaitingFor(worker.id);
        });
      } catch {
        // The channel closed under us; the worker is about to be retired.
        pending.delete(worker.id);
      }
    }
    if (pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), this.timeout);
        const done = (): void => {
          clearTimeout(timer);
          if (this.waiting?.seq === seq) this.waiting = undefined;
          resolve();
        };
        this.waiting = { seq, pending, unreadable, done };
      });
    }
    const contributions: Contribution[] = [];
    const live = [...this.states.values()].sort((a, b) => a.slot - b.slot);
    for (const state of live) {
      if (state.data === undefined) continue;
      contributions.push({
        worker: String(state.slot),
        data: state.data,
        fresh: state.receivedAt >= started,
      });
    }
    if (this.retired !== undefined) {
      contributions.push({ worker: '', data: this.retired, fresh: false });
    }
    let unresponsive = 0;
    for (const id of [...pending, ...unreadable]) if (this.states.has(id)) unresponsive++;
    return { contributions, workers: live.length, unresponsive };
  }
}
