/*
 * Exponential histograms in a worker's snapshot: compact, JSON-safe, in a field of their own that
 * a primary of an older version passes over, and read by this one without trusting their shape.
 */
import { EventEmitter } from 'node:events';
import type { Cluster, Worker } from 'node:cluster';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { Gatherer } from '../../../src/cluster/gatherer';
import { MESSAGE_KEY, SNAPSHOT_FORMAT } from '../../../src/cluster/messages';
import {
  readSnapshot,
  takeSnapshot,
  type Snapshot,
  type SnapshotMetric,
} from '../../../src/cluster/snapshot';
import type { Collected, CollectedMetric } from '../../../src/export/collected';
import {
  counter,
  exponential,
  merge,
  NATIVE_LATENCY,
  nativeCollection,
  nativePoint,
  overTheWire,
  parts,
  USERS,
} from '../../helpers/cluster-snapshots';

const requests = (count: number): CollectedMetric => ({
  descriptor: { name: 'app_request_count', description: 'Requests', unit: '' },
  dataPointType: DataPointType.SUM,
  isMonotonic: true,
  dataPoints: [{ attributes: { ...USERS, http_status: '200' }, value: count }],
});

const classicLatency: CollectedMetric = {
  descriptor: { name: 'app_request_latency_seconds', description: 'Request latency', unit: 's' },
  dataPointType: DataPointType.HISTOGRAM,
  dataPoints: [
    {
      attributes: USERS,
      value: { count: 3, sum: 0.3, buckets: { boundaries: [0.1, 1], counts: [1, 2, 0] } },
    },
  ],
};

const nativeMetric = (name: string, scale: number, counts: number[]): CollectedMetric => {
  const [metric] = nativeCollection(
    [[USERS, exponential(scale, { positive: [-40, counts] })]],
    name,
  ).scopeMetrics[0]?.metrics as CollectedMetric[];
  return metric as CollectedMetric;
};

/** A worker with `latencyHistogram: 'both'`, and a scope of another library's. */
const both: Collected = {
  resource: { attributes: {} },
  scopeMetrics: [
    {
      scope: { name: 'express-otel-metrics', version: '1.2.0' },
      metrics: [
        requests(3),
        nativeMetric(NATIVE_LATENCY, 3, [1, 0, 2]),
        classicLatency,
        nativeMetric('other_native', 2, [4]),
      ],
    },
    { scope: { name: 'lib' }, metrics: [nativeMetric('lib_native', 1, [5])] },
  ],
};

describe("exponential histograms in a worker's snapshot", () => {
  it('travel beside the other metrics and come back in their places, their values whole', () => {
    const wired = overTheWire(both);
    expect(wired.scopes.map((s) => s.metrics.map((m) => m.name))).toEqual([
      ['app_request_count', 'app_request_latency_seconds'],
      [],
    ]);
    expect(wired.native?.map(({ scope, at, name }) => [scope, at, name])).toEqual([
      [0, 1, NATIVE_LATENCY],
      [0, 2, 'other_native'],
      [1, 0, 'lib_native'],
    ]);
    expect(readSnapshot(wired)).toEqual(both);
  });

  it('write runs of empty buckets as one number, an empty side not at all, and carry infinities', () => {
    const value = exponential(5, {
      positive: [-3, [3, 0, 0, 0, 0, 2, 0, 1]],
      zeroCount: 2,
      sum: Infinity,
      min: 0,
      max: Infinity,
    });
    const wired = overTheWire(nativeCollection([[USERS, value]]));
    expect(wired.native?.[0]?.points[0]?.value).toEqual({
      count: 8,
      sum: 'Infinity',
      min: 0,
      max: 'Infinity',
      scale: 5,
      zeroCount: 2,
      positive: { offset: -3, counts: [3, -4, 2, 0, 1] },
    });
    expect(nativePoint(readSnapshot(wired))).toEqual(value);
  });

  it('leave the snapshot of a worker without any as it was, for a primary that predates them', () => {
    const classic: Collected = {
      resource: { attributes: {} },
      scopeMetrics: [{ scope: { name: 'express-otel-metrics' }, metrics: [requests(1)] }],
    };
    expect(Object.keys(takeSnapshot(classic))).toEqual(['scopes']);
    // With them, `scopes` is what a worker recording only the classic metrics sends, which is
    // all an older primary reads.
    const classicOnly: Collected = {
      ...both,
      scopeMetrics: both.scopeMetrics.map(({ scope, metrics }) => ({
        scope,
        metrics: metrics.filter((m) => m.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM),
      })),
    };
    expect(overTheWire(both).scopes).toEqual(overTheWire(classicOnly).scopes);
    expect(overTheWire(both).scopes[0]?.metrics.map((m) => [m.kind, m.points[0]?.value])).toEqual([
      ['counter', 3],
      ['histogram', { count: 3, sum: 0.3, counts: [1, 2, 0] }],
    ]);
  });

  it('from a worker of the version before them: its classic series merge, it has no native ones', () => {
    const old: Snapshot = {
      scopes: [{ name: 'express-otel-metrics', version: '1.2.0', metrics: [counter(4)] }],
    };
    const merged = merge(
      parts([
        ['0', old, true],
        ['1', overTheWire(both), true],
      ]),
    );
    const [scope] = merged.scopeMetrics;
    const count = scope?.metrics.find((m) => m.descriptor.name === 'app_request_count');
    expect(count?.dataPoints.map((p) => p.value)).toEqual([7]);
    expect(nativePoint(merged).positive).toEqual({ offset: -40, bucketCounts: [1, 0, 2] });
  });
});

describe('a snapshot this primary cannot wholly read', () => {
  const valid = { count: 2, scale: 3, zeroCount: 0, positive: { offset: 4, counts: [2] } };
  const point = (value: unknown, attributes: unknown = USERS) => ({ attributes, value });
  const entry = (name: string, points: unknown[], extra: object = {}) => ({
    scope: 0,
    at: 0,
    name,
    description: '',
    unit: 's',
    points,
    ...extra,
  });

  it('is read without what it cannot read, and says so', () => {
    const snapshot = {
      scopes: [
        {
          name: 'express-otel-metrics',
          metrics: [
            counter(2),
            // A kind of a later version.
            { ...counter(1), name: 'app_request_summary', kind: 'summary' },
          ],
        },
      ],
      native: [
        entry('good', [
          point(valid),
          point({ ...valid, scale: 42 }),
          point({ ...valid, positive: { offset: 0, counts: [-1e12] } }),
          point({ ...valid, sum: 'lots' }),
          point(valid, null),
          'not a point',
        ]),
        entry('placeless', [point(valid)], { at: 'last' }),
        entry('elsewhere', [point(valid)], { scope: 7 }),
        { name: 'no points' },
        'not a metric',
      ],
    } as unknown as Snapshot;
    const told: string[] = [];
    const read = readSnapshot(snapshot, (key) => told.push(key));
    const [scope] = read.scopeMetrics;
    expect(scope?.metrics.map((m) => m.descriptor.name)).toEqual([
      'good',
      'app_request_count',
      'placeless',
    ]);
    expect(nativePoint(read, USERS, 'good')).toEqual({
      count: 2,
      scale: 3,
      zeroCount: 0,
      positive: { offset: 4, bucketCounts: [2] },
      negative: { offset: 0, bucketCounts: [] },
    });
    const good = scope?.metrics[0];
    expect(good?.dataPoints).toHaveLength(1);
    expect([...new Set(told)].sort()).toEqual([
      'kind:summary',
      'native:(unnamed)',
      'native:elsewhere',
      'native:good',
      'native:no points',
    ]);
  });

  it('reads no native histograms from a field it does not know the shape of', () => {
    const snapshot = {
      scopes: [{ name: 'express-otel-metrics', metrics: [counter(2)] }],
      native: { columns: [] },
    } as unknown as Snapshot;
    const told: string[] = [];
    const read = readSnapshot(snapshot, (key) => told.push(key));
    expect(read.scopeMetrics[0]?.metrics.map((m) => m.descriptor.name)).toEqual([
      'app_request_count',
    ]);
    expect(told).toEqual(['native']);
  });

  it('does not stop the primary, which serves the rest and warns', async () => {
    const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
    cluster.workers = {};
    const warnings: Array<[string, string]> = [];
    const gatherer = new Gatherer(cluster as unknown as Cluster, 100, (key, message) =>
      warnings.push([key, message]),
    );
    const worker = Object.assign(new EventEmitter(), {
      id: 1,
      isConnected: () => true,
      isDead: () => false,
      send: () => true,
    });
    try {
      cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
      cluster.emit('message', worker, {
        [MESSAGE_KEY]: 'snapshot',
        format: SNAPSHOT_FORMAT,
        gatherer: undefined,
        seq: undefined,
        n: 1,
        final: false,
        snapshot: {
          scopes: [{ name: 'express-otel-metrics', metrics: [counter(5)] as SnapshotMetric[] }],
          native: [entry(NATIVE_LATENCY, [point({ ...valid, zeroCount: -1 })])],
        },
      });
      const { contributions } = await gatherer.gather();
      const merged = merge(contributions);
      expect(
        merged.scopeMetrics[0]?.metrics.map((m) => [m.descriptor.name, m.dataPoints.length]),
      ).toEqual([['app_request_count', 1]]);
      expect(warnings).toEqual([
        [
          `snapshot:native:${NATIVE_LATENCY}`,
          `a cluster worker sends exponential histogram ${NATIVE_LATENCY} in a form this primary does not read: they run different versions of express-otel-metrics; what cannot be read of it is left out`,
        ],
      ]);
    } finally {
      gatherer.stop();
    }
  });
});
