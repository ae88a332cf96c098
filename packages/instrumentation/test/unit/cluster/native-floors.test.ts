/*
 * A native histogram across a worker's death: what the worker counted stays in the merge, and
 * what the primary served never goes down, nor back to a finer scale.
 */
import { EventEmitter } from 'node:events';
import type { Cluster, Worker } from 'node:cluster';
import { Floors } from '../../../src/cluster/floors';
import { Gatherer } from '../../../src/cluster/gatherer';
import { MESSAGE_KEY, SNAPSHOT_FORMAT } from '../../../src/cluster/messages';
import type { Contribution } from '../../../src/cluster/merge';
import type { ExponentialHistogramValue } from '../../../src/export/collected';
import {
  exponential,
  merge,
  nativeCollection,
  nativePoint,
  overTheWire,
  parts,
  USERS,
} from '../../helpers/cluster-snapshots';

const EMPTY = { offset: 0, bucketCounts: [] };

/** A worker's latency histogram, as the primary reads it. */
const worker = (id: string, value: ExponentialHistogramValue, fresh = true) =>
  parts([[id, overTheWire(nativeCollection([[USERS, value]])), fresh]]);

/** What the primary serves of the merge of `contributions`, through `floors`. */
function served(floors: Floors, contributions: Contribution[]): ExponentialHistogramValue {
  const merged = merge(contributions);
  floors.apply(merged);
  return nativePoint(merged);
}

/** A fake worker of node:cluster, as the primary's gatherer sees it. */
function fakeWorker(id: number) {
  let alive = true;
  const w = Object.assign(new EventEmitter(), {
    id,
    isConnected: () => alive,
    isDead: () => !alive,
    send: () => true,
  });
  return {
    worker: w,
    die: () => {
      alive = false;
    },
  };
}

describe('a native histogram when a worker dies', () => {
  it("keeps the dead worker's counts, at its scale, through the gatherer", async () => {
    const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
    cluster.workers = {};
    const gatherer = new Gatherer(cluster as unknown as Cluster, 100, () => undefined);
    const floors = new Floors();
    let n = 0;
    const send = (w: EventEmitter, value: ExponentialHistogramValue): void => {
      cluster.emit('message', w, {
        [MESSAGE_KEY]: 'snapshot',
        format: SNAPSHOT_FORMAT,
        gatherer: undefined,
        seq: undefined,
        n: ++n,
        final: false,
        snapshot: overTheWire(nativeCollection([[USERS, value]])),
      });
    };
    const one = fakeWorker(1);
    const two = fakeWorker(2);
    try {
      cluster.emit('message', one.worker, { [MESSAGE_KEY]: 'hello' });
      cluster.emit('message', two.worker, { [MESSAGE_KEY]: 'hello' });
      // Worker 1 has seen a wide range (scale 1), worker 2 a narrow one (scale 3).
      send(one.worker, exponential(1, { positive: [0, [4, 4]], zeroCount: 1, sum: 9 }));
      send(two.worker, exponential(3, { positive: [0, [1, 1, 1, 1, 1, 1, 1, 1]], sum: 10 }));
      const before = served(floors, (await gatherer.gather()).contributions);
      expect(before).toEqual({
        count: 17,
        sum: 19,
        scale: 1,
        zeroCount: 1,
        // Worker 2's 0..3 >> 2 are 0 and 4..7 are 1.
        positive: { offset: 0, bucketCounts: [8, 8] },
        negative: EMPTY,
      });

      // SIGKILLed: no last snapshot, only its exit; the one of the last scrape is what it counted.
      one.die();
      cluster.emit('exit', one.worker);
      send(two.worker, exponential(3, { positive: [0, [1, 1, 1, 1, 1, 1, 1, 1, 2]], sum: 12 }));
      const gathered = await gatherer.gather();
      expect(gathered.workers).toBe(1);
      const after = served(floors, gathered.contributions);
      expect(after).toEqual({
        count: 19,
        sum: 21,
        scale: 1,
        zeroCount: 1,
        positive: { offset: 0, bucketCounts: [8, 8, 2] },
        negative: EMPTY,
      });
    } finally {
      gatherer.stop();
    }
  });

  it('is served no lower, and at no finer scale, when the part that lowered it is left out', () => {
    const floors = new Floors();
    const a = exponential(1, { positive: [0, [4, 4]], sum: 8 });
    const b = (counts: number[], sum: number) => exponential(3, { positive: [0, counts], sum });
    expect(
      served(floors, [...worker('0', a), ...worker('1', b([1, 1, 1, 1, 1, 1, 1, 1], 10))]),
    ).toEqual({
      count: 16,
      sum: 18,
      scale: 1,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [8, 8] },
      negative: EMPTY,
    });
    // Worker 0's part is missing from this scrape (say, it answered in a format not read): at
    // scale 3 worker 1 alone would be finer, and lower, than what was served.
    expect(served(floors, worker('1', b([2, 2, 2, 2, 1, 1, 1, 1, 3], 14)))).toEqual({
      count: 19,
      sum: 18,
      scale: 1,
      zeroCount: 0,
      // Worker 1 at scale 1 is [8, 4, 3]; the floor [8, 8] holds the second bucket.
      positive: { offset: 0, bucketCounts: [8, 8, 3] },
      negative: EMPTY,
    });
    // Back, the exact merge again, above the floor everywhere.
    expect(
      served(floors, [...worker('0', a), ...worker('1', b([2, 2, 2, 2, 1, 1, 1, 1, 3], 14))]),
    ).toEqual({
      count: 23,
      sum: 22,
      scale: 1,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [12, 8, 3] },
      negative: EMPTY,
    });
  });

  it('lowers the floor with the workers when their scale falls below it', () => {
    const floors = new Floors();
    expect(
      served(floors, worker('0', exponential(3, { positive: [8, [1, 1]], negative: [-2, [5]] })))
        .scale,
    ).toBe(3);
    // The worker's SDK lowered its scale as its range grew; the floor, at 3, is lowered to 1.
    const now = exponential(1, { positive: [2, [2, 0, 0, 1]], negative: [-1, [5]] });
    expect(served(floors, worker('0', now))).toEqual(now);
    // A new worker, still fine-grained, is brought to the scale served.
    expect(
      served(floors, [
        ...worker('0', now),
        ...worker('1', exponential(4, { positive: [16, [1]] })),
      ]),
    ).toEqual({
      ...now,
      count: now.count + 1,
      positive: { offset: 2, bucketCounts: [3, 0, 0, 1] },
    });
  });

  it('keeps a sum that comes out a last digit lower in another order, and the min and max', () => {
    const floors = new Floors();
    const point = (sum: number) =>
      exponential(2, { positive: [0, [1, 2]], sum, min: 1.05, max: 1.3 });
    const first = served(floors, [
      ...worker('0', point(0.1 + 0.2)),
      ...worker('1', exponential(2, { positive: [1, [1]], sum: 0, min: 1.2, max: 2 })),
    ]);
    expect(first.sum).toBe(0.30000000000000004);
    const again = served(floors, [
      ...worker('0', point(0.3)),
      ...worker('1', exponential(2, { positive: [1, [1]], sum: 0, min: 1.2, max: 1.25 })),
    ]);
    expect(again).toEqual({
      count: 4,
      sum: 0.30000000000000004,
      min: 1.05,
      max: 2,
      scale: 2,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [1, 3] },
      negative: EMPTY,
    });
  });

  it('keeps the floors of two series apart', () => {
    const floors = new Floors();
    const post = { method: 'POST', endpoint: '/users' };
    const both = (users: number, posts: number) =>
      parts([
        [
          '0',
          overTheWire(
            nativeCollection([
              [USERS, exponential(0, { positive: [0, [users]] })],
              [post, exponential(0, { positive: [0, [posts]] })],
            ]),
          ),
          true,
        ],
      ]);
    served(floors, both(5, 1));
    const merged = merge(both(3, 2));
    floors.apply(merged);
    expect(nativePoint(merged).positive.bucketCounts).toEqual([5]);
    expect(nativePoint(merged, post).positive.bucketCounts).toEqual([2]);
  });
});
