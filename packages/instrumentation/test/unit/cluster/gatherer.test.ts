import { EventEmitter } from 'node:events';
import type { Cluster, Worker } from 'node:cluster';
import { Gatherer } from '../../../src/cluster/gatherer';
import { MESSAGE_KEY } from '../../../src/cluster/messages';
import { readSnapshot, type Snapshot } from '../../../src/cluster/snapshot';

/** A worker whose answers to the primary's requests are made by `answer`. */
function answeringWorker(
  cluster: EventEmitter,
  answer: (request: { gatherer: string; seq: number }) => object | undefined,
) {
  const worker = Object.assign(new EventEmitter(), {
    id: 1,
    isConnected: () => true,
    isDead: () => false,
    send: (m: unknown, _h: unknown, _o: unknown, cb?: (err: Error | null) => void) => {
      if (cb) process.nextTick(cb, null);
      const reply = answer(m as { gatherer: string; seq: number });
      if (reply !== undefined) process.nextTick(() => cluster.emit('message', worker, reply));
      return true;
    },
  });
  return worker;
}

/**
 * A worker as node:cluster's primary sees it, whose channel broke under a write: as Node does, the
 * error goes to the send callback when there is one, else it is emitted as 'error' on the worker,
 * which, with no listener, ends the process.
 */
class BrokenWorker extends EventEmitter {
  constructor(readonly id: number) {
    super();
  }
  isConnected(): boolean {
    return true;
  }
  isDead(): boolean {
    return false;
  }
  send(
    _message: unknown,
    _handle?: unknown,
    _options?: unknown,
    callback?: (err: Error | null) => void,
  ): boolean {
    const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    if (callback) process.nextTick(callback, err);
    else process.nextTick(() => this.emit('error', err));
    return false;
  }
}

describe('the primary asking a worker whose channel breaks', () => {
  it('neither throws nor waits out the timeout, and does not count it as unresponsive', async () => {
    const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
    const worker = new BrokenWorker(1);
    cluster.workers = { 1: worker as unknown as Worker };
    const gatherer = new Gatherer(cluster as unknown as Cluster, 5000, () => undefined);
    try {
      // It said it records, so the primary waits for its answers.
      cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
      const started = performance.now();
      const gathered = await gatherer.gather();
      expect(performance.now() - started).toBeLessThan(1000);
      expect(gathered).toEqual({ contributions: [], workers: 1, unresponsive: 0 });
    } finally {
      gatherer.stop();
    }
  });
});

describe('the primary and a worker of another version', () => {
  it('leaves out a snapshot in a format it does not read, and says why', async () => {
    const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
    // This worker's channel works; it answers by the test's hand below.
    const worker = answeringWorker(cluster, () => undefined);
    cluster.workers = { 1: worker as unknown as Worker };
    const warnings: string[] = [];
    const gatherer = new Gatherer(cluster as unknown as Cluster, 200, (_key, message) =>
      warnings.push(message),
    );
    const snapshot = {
      scopes: [
        {
          name: 'express-otel-metrics',
          metrics: [
            { name: 'app_request_count', description: '', unit: '', kind: 'counter', points: [] },
          ],
        },
      ],
    };
    try {
      cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
      cluster.emit('message', worker, {
        [MESSAGE_KEY]: 'snapshot',
        format: 2,
        gatherer: undefined,
        seq: undefined,
        n: 1,
        final: false,
        snapshot,
      });
      expect(await gatherer.gather()).toEqual({ contributions: [], workers: 1, unresponsive: 1 });
      expect(warnings).toEqual([
        "a cluster worker sends its metrics in format 2, and this primary reads format 1: they run different versions of express-otel-metrics; the worker's series are left out until both run the same one",
      ]);
      // The same snapshot in this version's format is taken.
      cluster.emit('message', worker, {
        [MESSAGE_KEY]: 'snapshot',
        format: 1,
        gatherer: undefined,
        seq: undefined,
        n: 2,
        final: false,
        snapshot,
      });
      const gathered = await gatherer.gather();
      expect(gathered.contributions).toEqual([
        { worker: '0', data: readSnapshot(snapshot as Snapshot), fresh: false },
      ]);
    } finally {
      gatherer.stop();
    }
  });
});

const oneCounter = {
  scopes: [
    {
      name: 'express-otel-metrics',
      metrics: [
        {
          name: 'app_request_count',
          description: '',
          unit: '',
          kind: 'counter',
          points: [{ attributes: { method: 'GET' }, value: 3 }],
        },
      ],
    },
  ],
};

describe('the primary does not wait out workerTimeout', () => {
  it('for a worker that answers in a format it does not read (a rolling upgrade)', async () => {
    const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
    const worker = answeringWorker(cluster, ({ gatherer, seq }) => ({
      [MESSAGE_KEY]: 'snapshot',
      format: 2,
      gatherer,
      seq,
      n: seq,
      snapshot: { columns: [] },
    }));
    cluster.workers = { 1: worker as unknown as Worker };
    const gatherer = new Gatherer(cluster as unknown as Cluster, 5000, () => undefined);
    try {
      cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
      const started = performance.now();
      const gathered = await gatherer.gather();
      expect(performance.now() - started).toBeLessThan(1000);
      // It answered, but with nothing the primary can serve.
      expect(gathered).toEqual({ contributions: [], workers: 1, unresponsive: 1 });
    } finally {
      gatherer.stop();
    }
  });

  it('for a worker that has sent its last snapshot and is on its way out', async () => {
    const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
    // Its registration is shut down: it no longer answers, though its process lives on a while.
    const worker = answeringWorker(cluster, () => undefined);
    cluster.workers = { 1: worker as unknown as Worker };
    const gatherer = new Gatherer(cluster as unknown as Cluster, 2000, () => undefined);
    try {
      cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
      cluster.emit('message', worker, {
        [MESSAGE_KEY]: 'snapshot',
        format: 1,
        gatherer: undefined,
        seq: undefined,
        n: 1,
        final: true,
        snapshot: oneCounter,
      });
      const started = performance.now();
      const gathered = await gatherer.gather();
      expect(performance.now() - started).toBeLessThan(1000);
      // Its counts are served until it exits, then kept as retired ones.
      expect(gathered).toEqual({
        contributions: [{ worker: '0', data: readSnapshot(oneCounter as Snapshot), fresh: false }],
        workers: 1,
        unresponsive: 0,
      });
      // Registered again (a hot reload), it is waited for again.
      cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
      const again = await gatherer.gather();
      expect(again.unresponsive).toBe(1);
    } finally {
      gatherer.stop();
    }
  });
});
