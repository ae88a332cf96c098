/*
 * Exemplars across the cluster: a worker's snapshot carries them over JSON, and the primary's
 * merge keeps the latest of each bucket over the workers, those of stale and exited ones included.
 */
import { EventEmitter } from 'node:events';
import type { Cluster, Worker } from 'node:cluster';
import { Gatherer } from '../../../src/cluster/gatherer';
import { MESSAGE_KEY, SNAPSHOT_FORMAT } from '../../../src/cluster/messages';
import {
  readSnapshot,
  takeSnapshot,
  type Snapshot,
  type SnapshotExemplar,
  type SnapshotMetric,
} from '../../../src/cluster/snapshot';
import type { Merged } from '../../../src/cluster/merge';
import type { Collected, Exemplar } from '../../../src/export/collected';
import { merge, parts } from '../../helpers/cluster-snapshots';

const ids = (n: number) => ({
  traceId: n.toString(16).padStart(32, '0'),
  spanId: n.toString(16).padStart(16, '0'),
});

const exemplar = (n: number, value: number, timestamp: number): SnapshotExemplar => ({
  ...ids(n),
  value,
  timestamp,
});

const USERS = { method: 'GET', endpoint: '/users/:id' };

/** A worker's latency histogram of two buckets (and +Inf), with exemplars by bucket. */
const latency = (exemplars: Array<SnapshotExemplar | null> | undefined): SnapshotMetric => ({
  name: 'app_request_latency_seconds',
  description: 'Request latency',
  unit: 's',
  kind: 'histogram',
  bounds: [0.005, 0.01],
  points: [
    {
      attributes: USERS,
      value: { count: 3, sum: 0.02, counts: [1, 1, 1] },
      ...(exemplars && { exemplars }),
    },
  ],
});

const count = (exemplars: Array<SnapshotExemplar | null> | undefined): SnapshotMetric => ({
  name: 'app_request_count',
  description: 'Requests',
  unit: '',
  kind: 'counter',
  points: [
    {
      attributes: { ...USERS, http_status: '200' },
      value: 3,
      ...(exemplars && { exemplars }),
    },
  ],
});

const snapshot = (...metrics: SnapshotMetric[]): Snapshot => ({
  scopes: [{ name: 'express-otel-metrics', metrics }],
});

/** The exemplars of the one point of metric `name`. */
function exemplarsOf(
  data: Collected | Merged,
  name: string,
): Array<Exemplar | undefined> | undefined {
  for (const { metrics } of data.scopeMetrics) {
    for (const metric of metrics) {
      if (metric.descriptor.name !== name) continue;
      const [point] = metric.dataPoints as Array<{ exemplars?: Array<Exemplar | undefined> }>;
      return point?.exemplars;
    }
  }
  throw new Error(`no metric ${name}`);
}

/** The snapshot as it arrives at the primary: through JSON, as the IPC channel carries it. */
const overTheWire = (s: Snapshot): Snapshot => JSON.parse(JSON.stringify(s)) as Snapshot;

describe("a worker's snapshot", () => {
  it('carries the exemplars of the decorated points, empty slots included', () => {
    const sent = snapshot(latency([exemplar(1, 0.004, 1000), null, exemplar(2, 3, 1001)]));
    const read = readSnapshot(overTheWire(takeSnapshot(readSnapshot(sent))));
    expect(exemplarsOf(read, 'app_request_latency_seconds')).toEqual([
      { ...ids(1), value: 0.004, timestamp: 1000 },
      undefined,
      { ...ids(2), value: 3, timestamp: 1001 },
    ]);
  });

  it('has no exemplars field for a point without any, and reads one without as having none', () => {
    const taken = takeSnapshot(readSnapshot(snapshot(latency(undefined), count([null]))));
    for (const metric of taken.scopes[0]?.metrics ?? []) {
      expect(metric.points[0]).not.toHaveProperty('exemplars');
    }
    // A worker of the version before exemplars sends format 1 without the field.
    const read = readSnapshot(snapshot(latency(undefined)));
    expect(exemplarsOf(read, 'app_request_latency_seconds')).toBeUndefined();
  });
});

describe("the primary's merge of exemplars", () => {
  it('keeps the latest of each bucket over the workers', () => {
    const merged = merge(
      parts([
        ['0', snapshot(latency([exemplar(1, 0.004, 1000), null, exemplar(2, 3, 3000)])), true],
        ['1', snapshot(latency([exemplar(3, 0.001, 2000), exemplar(4, 0.008, 500), null])), true],
        ['2', snapshot(latency(undefined)), true],
      ]),
    );
    expect(exemplarsOf(merged, 'app_request_latency_seconds')).toEqual([
      { ...ids(3), value: 0.001, timestamp: 2000 },
      { ...ids(4), value: 0.008, timestamp: 500 },
      { ...ids(2), value: 3, timestamp: 3000 },
    ]);
  });

  it('keeps the latest counter exemplar, and those of a worker that did not answer in time', () => {
    const merged = merge(
      parts([
        ['0', snapshot(count([exemplar(1, 1, 1000)])), true],
        ['1', snapshot(count([exemplar(2, 1, 2000)])), false],
      ]),
    );
    expect(exemplarsOf(merged, 'app_request_count')).toEqual([
      { ...ids(2), value: 1, timestamp: 2000 },
    ]);
  });

  it("keeps an exited worker's in the retired totals, until a newer one takes the slot", () => {
    const exited = snapshot(latency([exemplar(1, 0.004, 1000), exemplar(2, 0.006, 5000), null]));
    // As the gatherer retires a worker: its last snapshot merged into the retired totals.
    const retired = merge(parts([['', exited, false]]));
    const merged = merge(
      parts([
        ['0', snapshot(latency([exemplar(3, 0.002, 2000), null, null])), true],
        ['', retired, false],
      ]),
    );
    expect(exemplarsOf(merged, 'app_request_latency_seconds')).toEqual([
      { ...ids(3), value: 0.002, timestamp: 2000 },
      { ...ids(2), value: 0.006, timestamp: 5000 },
      undefined,
    ]);
  });

  it("does not change a worker's data that it keeps until the next snapshot", () => {
    const kept = readSnapshot(snapshot(latency([exemplar(1, 0.004, 1000), null, null])));
    merge(
      parts([
        ['0', kept, true],
        ['1', snapshot(latency([exemplar(2, 0.003, 2000), null, null])), true],
      ]),
    );
    expect(exemplarsOf(kept, 'app_request_latency_seconds')?.[0]?.spanId).toBe(ids(1).spanId);
  });

  it('keeps the exemplars of a worker that has exited, through the gatherer', async () => {
    const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
    let alive = true;
    const worker = Object.assign(new EventEmitter(), {
      id: 1,
      isConnected: () => alive,
      isDead: () => !alive,
      send: () => true,
    });
    cluster.workers = {};
    const gatherer = new Gatherer(cluster as unknown as Cluster, 100, () => undefined);
    try {
      cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
      cluster.emit('message', worker, {
        [MESSAGE_KEY]: 'snapshot',
        format: SNAPSHOT_FORMAT,
        gatherer: undefined,
        seq: undefined,
        n: 1,
        final: true,
        snapshot: overTheWire(snapshot(latency([null, exemplar(7, 0.006, 1000), null]))),
      });
      alive = false;
      cluster.emit('exit', worker);
      const { contributions, workers } = await gatherer.gather();
      expect(workers).toBe(0);
      expect(contributions).toHaveLength(1);
      const [retired] = contributions;
      expect(retired?.fresh).toBe(false);
      expect(exemplarsOf(retired?.data as Collected, 'app_request_latency_seconds')).toEqual([
        undefined,
        { ...ids(7), value: 0.006, timestamp: 1000 },
        undefined,
      ]);
    } finally {
      gatherer.stop();
    }
  });
});
