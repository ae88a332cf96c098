/*
 * The primary's rounds of gathering (gatherInterval): merged once when they end, served to the
 * scrapes within the interval, asked again past it, spaced out when they take long.
 */
import { EventEmitter } from 'node:events';
import type { Cluster, Worker } from 'node:cluster';
import { Floors } from '../../../src/cluster/floors';
import { Gatherer } from '../../../src/cluster/gatherer';
import { mergeCollected, type Contribution, type Merged } from '../../../src/cluster/merge';
import { MESSAGE_KEY, SNAPSHOT_FORMAT } from '../../../src/cluster/messages';
import { Rounds, type Round } from '../../../src/cluster/rounds';
import type { Snapshot, SnapshotMetric } from '../../../src/cluster/snapshot';
import { createResource } from '../../../src/export/resource';
import { writeExposition } from '../../../src/export/writer';
import { PRIMARY_WORKER } from '../../../src/labels';
import {
  counter,
  exponential,
  nativeCollection,
  parts,
  USERS,
} from '../../helpers/cluster-snapshots';

/** The latency histogram of `count` requests, all but one in the first bucket. */
function latency(count: number, sum: number, exemplarAt?: number): SnapshotMetric {
  const ids = exemplarAt?.toString(16);
  const exemplar = ids && {
    traceId: ids.padStart(32, '0'),
    spanId: ids.padStart(16, '0'),
    value: 0.007,
    timestamp: exemplarAt as number,
  };
  const value = { count, sum, counts: [count - 1, 1, 0] };
  return {
    ...counter(0),
    name: 'app_request_latency_seconds',
    kind: 'histogram',
    bounds: [0.005, 0.01],
    points: [{ attributes: USERS, value, ...(exemplar && { exemplars: [null, exemplar, null] }) }],
  };
}

/** A process's series under every merge rule: totals, a sum, per process and once. */
const processSnapshot = (n: number, exemplarAt?: number): Snapshot => ({
  scopes: [
    {
      name: 'express-otel-metrics',
      metrics: [
        counter(10 * n),
        latency(10 * n, 0.25 * n, exemplarAt),
        ...(
          [
            ['process_cpu_seconds', 'counter', 0.5 * n, {}],
            ['process_resident_memory_bytes', 'gauge', 1000 * n, {}],
            ['process_start_time_seconds', 'gauge', 1_700_000_000 + n, {}],
            ['nodejs_version_info', 'gauge', 1, { version: 'v24.0.0' }],
          ] as const
        ).map(([name, kind, value, attributes]) => ({
          name,
          description: name,
          unit: '',
          kind,
          points: [{ attributes, value }],
        })),
      ],
    },
  ],
});

describe("a round's merge, merged again into a scrape's", () => {
  it('gives the exposition of merging every part at once', () => {
    // The primary's own series, without the app's; the workers' with them, fresh or stale (did
    // not answer), a native histogram in some, and an exited worker's totals.
    const own = parts([[PRIMARY_WORKER, processSnapshot(1), true]]);
    const workers: Contribution[] = [
      ...parts([
        ['0', processSnapshot(2, 5), true],
        ['1', processSnapshot(3, 9), true],
        ['2', processSnapshot(4, 7), false],
        ['3', nativeCollection([[USERS, exponential(3, { positive: [8, [1, 2, 3]] })]]), true],
        ['4', nativeCollection([[USERS, exponential(2, { positive: [3, [4, 1]] })]]), true],
      ]),
    ];
    const retired = mergeCollected(
      parts([['', processSnapshot(5, 3), false]]),
      { attributes: {} },
      () => undefined,
    );
    workers.push({ worker: '', data: retired, fresh: false });
    const resource = createResource();
    const warn = (): undefined => undefined;

    const atOnce = mergeCollected([...own, ...workers], resource, warn);
    const round = mergeCollected(workers, { attributes: {} }, warn);
    const twice = mergeCollected([...own, { merged: round, fresh: true }], resource, warn);

    const write = (merged: Merged): string =>
      writeExposition(merged, { targetInfo: false, scopeInfo: false });
    // The values are sums of binary fractions, exact in any order: a float total the primary
    // shares with the workers (CPU seconds) may otherwise differ in its last digit.
    expect(write(twice)).toBe(write(atOnce));
    expect(twice).toEqual(atOnce);
    expect(write(twice)).toContain('process_start_time_seconds{worker="1"} 1700000003');
    expect(write(twice)).not.toContain('worker="2"');
  });

  it('serves the metrics only the round has as they are, and copies those the primary adds to', () => {
    const workers = parts([
      ['0', processSnapshot(2, 5), true],
      ['1', processSnapshot(3, 9), true],
    ]);
    const warn = (): undefined => undefined;
    const round = mergeCollected(workers, { attributes: {} }, warn);
    const before = structuredClone(round);
    // The primary's own series, as it has them: none of the app's.
    const [scope] = processSnapshot(1).scopes;
    const ownSnapshot: Snapshot = {
      scopes: [{ ...scope!, metrics: scope!.metrics.filter((m) => !m.name.startsWith('app_')) }],
    };
    const own = parts([[PRIMARY_WORKER, ownSnapshot, true]]);
    const floors = new Floors();
    const scrape = (): Merged => {
      const merged = mergeCollected(
        [...own, { merged: round, fresh: true }],
        createResource(),
        warn,
      );
      floors.apply(merged);
      return merged;
    };
    const metricOf = (merged: Merged, name: string) =>
      merged.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    const first = scrape();
    const second = scrape();

    const write = (merged: Merged): string =>
      writeExposition(merged, { targetInfo: false, scopeInfo: false });
    expect(write(second)).toBe(write(first));
    for (const name of ['app_request_count', 'app_request_latency_seconds']) {
      expect(metricOf(second, name)?.dataPoints).toBe(metricOf(round, name)?.dataPoints);
    }
    expect(metricOf(second, 'app_request_count')?.dataPoints.map((p) => p.value)).toEqual([50]);
    // CPU seconds, which the primary has too: 0.5 of its own on a copy of the workers' 2.5.
    expect(metricOf(second, 'process_cpu_seconds')?.dataPoints.map((p) => p.value)).toEqual([3]);
    expect(metricOf(round, 'process_cpu_seconds')?.dataPoints.map((p) => p.value)).toEqual([2.5]);
    // Two scrapes through the floors left the round as it was.
    expect(round).toEqual(before);
  });
});

/** The request count a round's merge holds. */
function countOf(round: Round): number | undefined {
  for (const { metrics } of round.merged.scopeMetrics) {
    for (const metric of metrics) {
      if (metric.descriptor.name === 'app_request_count') {
        return metric.dataPoints.reduce((sum, p) => sum + (p.value as number), 0);
      }
    }
  }
  return undefined;
}

/**
 * A cluster of one worker that counts `recorded` requests and answers each collect request
 * `delay` ms later (on the fake clock).
 */
function oneWorker() {
  const cluster = new EventEmitter() as EventEmitter & { workers: Record<number, Worker> };
  const state = { recorded: 0, delay: 10, asked: 0 };
  let n = 0;
  const worker = Object.assign(new EventEmitter(), {
    id: 1,
    isConnected: () => true,
    isDead: () => false,
    send: (m: { gatherer: string; seq: number }, _h: unknown, _o: unknown, cb?: () => void) => {
      state.asked++;
      cb?.();
      const snapshot = { scopes: [{ name: 'express-otel-metrics', metrics: [counter(0)] }] };
      (snapshot.scopes[0]?.metrics[0]?.points[0] as { value: number }).value = state.recorded;
      setTimeout(() => {
        cluster.emit('message', worker, {
          [MESSAGE_KEY]: 'snapshot',
          format: SNAPSHOT_FORMAT,
          gatherer: m.gatherer,
          seq: m.seq,
          n: ++n,
          final: false,
          snapshot,
        });
      }, state.delay);
      return true;
    },
  });
  cluster.workers = { 1: worker as unknown as Worker };
  const gatherer = new Gatherer(cluster as unknown as Cluster, 2000, () => undefined);
  cluster.emit('message', worker, { [MESSAGE_KEY]: 'hello' });
  return { gatherer, state };
}

describe('the rounds of gathering', () => {
  let stops: Array<() => void> = [];
  const started = (gatherer: Gatherer, interval: number): Rounds => {
    const rounds = new Rounds(
      gatherer,
      interval,
      () => undefined,
      () => undefined,
    );
    stops.push(() => {
      rounds.stop();
      gatherer.stop();
    });
    return rounds;
  };
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
  });
  afterEach(() => {
    for (const stop of stops) stop();
    stops = [];
    jest.useRealTimers();
  });

  /** The round `current()` gives once the fake clock has run `ms` more. */
  async function current(rounds: Rounds, ms = 10): Promise<Round> {
    const round = rounds.current();
    await jest.advanceTimersByTimeAsync(ms);
    return round;
  }

  it('with gatherInterval 0, asks the workers at every scrape and never on its own', async () => {
    const { gatherer, state } = oneWorker();
    const rounds = started(gatherer, 0);
    state.recorded = 3;
    expect(countOf(await current(rounds))).toBe(3);
    state.recorded = 5;
    expect(countOf(await current(rounds))).toBe(5);
    expect(state.asked).toBe(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(state.asked).toBe(2);
  });

  it('serves a round for an interval after it ended, gathering on its own meanwhile', async () => {
    const { gatherer, state } = oneWorker();
    const rounds = started(gatherer, 1000);
    state.recorded = 3;
    // The timer has not run yet: the first scrape asks.
    expect(countOf(await current(rounds))).toBe(3);
    expect(state.asked).toBe(1);
    // Within the interval, the round is served as it is, without asking.
    state.recorded = 5;
    await jest.advanceTimersByTimeAsync(900);
    const served = await current(rounds, 0);
    expect(countOf(served)).toBe(3);
    expect(state.asked).toBe(1);
    // The next round started on its own, early enough to be in before that one was an interval
    // old: 1000 - 2 x 10 ms after it ended.
    await jest.advanceTimersByTimeAsync(90);
    expect(state.asked).toBe(2);
    const next = await current(rounds, 0);
    expect(countOf(next)).toBe(5);
    expect(next.endedAt - served.endedAt).toBe(990);
    expect(state.asked).toBe(2);
    // They go on, one an interval less one round, as long as no scrape comes.
    await jest.advanceTimersByTimeAsync(10 * 990);
    expect(state.asked).toBe(12);
  });

  it('asks again at a scrape when the last round is older than the interval', async () => {
    const { gatherer, state } = oneWorker();
    const rounds = started(gatherer, 1000);
    state.recorded = 1;
    await current(rounds);
    // A slow round (busy workers, many series) spaces out the next: 4 times its duration.
    state.delay = 300;
    await jest.advanceTimersByTimeAsync(980 + 300);
    expect(state.asked).toBe(2);
    const slow = await current(rounds, 0);
    state.recorded = 2;
    // Within the interval of its end, it is served.
    await jest.advanceTimersByTimeAsync(1000);
    expect(countOf(await current(rounds, 0))).toBe(1);
    expect(state.asked).toBe(2);
    // Past it, before the timer's next round (1200 ms after it), a scrape asks.
    state.delay = 10;
    await jest.advanceTimersByTimeAsync(1);
    const asked = await current(rounds);
    expect(state.asked).toBe(3);
    expect(countOf(asked)).toBe(2);
    expect(asked.endedAt - slow.endedAt).toBe(1011);
  });

  it('shares a round under way between the scrapes that need one, and stops', async () => {
    const { gatherer, state } = oneWorker();
    const rounds = started(gatherer, 1000);
    state.delay = 100;
    const [a, b] = [rounds.current(), rounds.current()];
    await jest.advanceTimersByTimeAsync(100);
    expect(await a).toBe(await b);
    expect(state.asked).toBe(1);
    rounds.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(state.asked).toBe(1);
  });
});
