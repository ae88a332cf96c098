import { EventEmitter } from 'node:events';
import type { Cluster, Worker } from 'node:cluster';
import { Gatherer } from '../src/cluster/gatherer';
import { MESSAGE_KEY } from '../src/cluster/messages';

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
