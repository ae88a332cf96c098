import { createServer } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { diag, type DiagLogger } from '@opentelemetry/api';
import type { MetricsHandle } from '../../src/index';
import { labelValues, samplesOf, valueOf } from '../helpers/exposition';
import { has, read, standalone } from '../helpers/metrics';
import { sleep, until } from '../helpers/wait';

// A function that forces a full (major) collection, without starting jest with --expose-gc.
setFlagsFromString('--expose-gc');
const forceGc = runInNewContext('gc') as () => void;

function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // keep the loop busy
  }
}

const majorCount = async (m: MetricsHandle): Promise<number> =>
  samplesOf(await m.scrape(), 'nodejs_gc_duration_seconds_count', { kind: 'major' })[0]?.value ?? 0;

describe('runtime series', () => {
  let metrics: MetricsHandle;
  beforeEach(() => {
    metrics = standalone();
  });
  afterEach(() => metrics.shutdown());

  it('nodejs_version_info carries the running version', async () => {
    const [major, minor, patch] = process.versions.node.split('.');
    expect(
      await read(metrics, 'nodejs_version_info', {
        version: process.version,
        major,
        minor,
        patch,
      } as Record<string, string>),
    ).toBe(1);
  });

  it('counts a forced major GC in nodejs_gc_duration_seconds_count{kind="major"}', async () => {
    const before = await majorCount(metrics);
    forceGc();
    const after = await until(
      () => majorCount(metrics),
      (n) => n > before,
    );
    expect(after).toBeGreaterThanOrEqual(before + 1);
    const text = await metrics.scrape();
    const buckets = samplesOf(text, 'nodejs_gc_duration_seconds_bucket', { kind: 'major' });
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.001',
      '0.01',
      '0.1',
      '1',
      '2',
      '5',
      '+Inf',
    ]);
    expect(buckets[buckets.length - 1]?.value).toBe(after);
    expect(valueOf(text, 'nodejs_gc_duration_seconds_sum', { kind: 'major' })).toBeGreaterThan(0);
    for (const kind of labelValues(text, 'nodejs_gc_duration_seconds_count', 'kind')) {
      expect(['major', 'minor', 'incremental', 'weakcb']).toContain(kind);
    }
  });

  it('two registrations in one process each count every GC once', async () => {
    const other = standalone();
    try {
      const [a0, b0] = [await majorCount(metrics), await majorCount(other)];
      forceGc();
      forceGc();
      await until(
        async () => (await majorCount(metrics)) - a0 + ((await majorCount(other)) - b0),
        (n) => n >= 4,
      );
      await sleep(50);
      const [a1, b1] = [await majorCount(metrics), await majorCount(other)];
      expect(a1 - a0).toBeGreaterThanOrEqual(2);
      expect(a1 - a0).toBe(b1 - b0);
    } finally {
      await other.shutdown();
    }
  });

  it('the event-loop lag p99 rises when the loop is blocked for 100 ms', async () => {
    await sleep(50);
    await metrics.scrape(); // starts a new interval
    await sleep(50);
    const idle = await read(metrics, 'nodejs_eventloop_lag_p99_seconds');
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(idle).toBeLessThan(0.05);
    block(100);
    await sleep(30);
    const text = await metrics.scrape();
    const p99 = valueOf(text, 'nodejs_eventloop_lag_p99_seconds');
    expect(p99).toBeGreaterThan(0.08);
    expect(p99).toBeLessThan(1);
    expect(valueOf(text, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(p99);
    expect(valueOf(text, 'nodejs_eventloop_lag_min_seconds')).toBeLessThanOrEqual(
      valueOf(text, 'nodejs_eventloop_lag_p50_seconds'),
    );
    for (const stat of ['mean', 'stddev', 'p90']) {
      expect(valueOf(text, `nodejs_eventloop_lag_${stat}_seconds`)).toBeGreaterThan(0);
    }
  });

  it('nodejs_eventloop_utilization_ratio reflects a busy interval', async () => {
    await metrics.scrape();
    block(200);
    await sleep(20);
    const busy = await read(metrics, 'nodejs_eventloop_utilization_ratio');
    expect(busy).toBeGreaterThan(0.5);
    expect(busy).toBeLessThanOrEqual(1);
    await sleep(200);
    expect(await read(metrics, 'nodejs_eventloop_utilization_ratio')).toBeLessThan(0.5);
  });

  it('reports the V8 heap, heap spaces and external memory', async () => {
    const text = await metrics.scrape();
    const total = valueOf(text, 'nodejs_heap_size_total_bytes');
    const used = valueOf(text, 'nodejs_heap_size_used_bytes');
    expect(used).toBeGreaterThan(1e6);
    expect(used).toBeLessThanOrEqual(total);
    expect(valueOf(text, 'nodejs_external_memory_bytes')).toBeGreaterThan(0);
    const spaces = labelValues(text, 'nodejs_heap_space_size_used_bytes', 'space');
    expect(spaces).toEqual(expect.arrayContaining(['old', 'new', 'code', 'large_object']));
    for (const space of spaces) expect(space).not.toMatch(/_space$/);
    const oldUsed = valueOf(text, 'nodejs_heap_space_size_used_bytes', { space: 'old' });
    expect(oldUsed).toBeLessThanOrEqual(
      valueOf(text, 'nodejs_heap_space_size_total_bytes', { space: 'old' }),
    );
    expect(samplesOf(text, 'nodejs_heap_space_size_available_bytes')).toHaveLength(spaces.length);
  });

  it('counts active resources by type', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const servers = (await metrics.scrape()).match(
        /^nodejs_active_resources\{type="TCPServerWrap"\} (\d+)$/m,
      );
      const expected = process.getActiveResourcesInfo().filter((t) => t === 'TCPServerWrap').length;
      expect(Number(servers?.[1])).toBe(expected);
      expect(expected).toBeGreaterThanOrEqual(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('collector switches and failures', () => {
  it('switches each group off on its own', async () => {
    const groups: Array<[string, string]> = [
      ['process', 'process_cpu_seconds_total'],
      ['runtime', 'nodejs_heap_size_used_bytes'],
      ['gc', 'nodejs_gc_duration_seconds_count'],
      ['eventLoop', 'nodejs_eventloop_utilization_ratio'],
    ];
    forceGc();
    await sleep(20);
    for (const [off, gone] of groups) {
      const m = standalone({ collectors: { [off]: false } });
      forceGc();
      await sleep(20);
      try {
        expect(await has(m, gone)).toBe(false);
        for (const [other, present] of groups) {
          if (other !== off) expect(await has(m, present)).toBe(true);
        }
        expect(await has(m, 'app_version_info')).toBe(true);
      } finally {
        await m.shutdown();
      }
    }
  });

  it('rejects a misspelt group instead of ignoring it', () => {
    expect(() => standalone({ collectors: { eventloop: false } as never })).toThrow(
      /option `collectors` has no group "eventloop"; the groups are process, runtime, gc, eventLoop/,
    );
    expect(() => standalone({ collectors: { gc: 'no' } as never })).toThrow(
      /`collectors.gc` must be a boolean/,
    );
  });

  it('reports a failing collector once, by name, and still exports the others', async () => {
    const errors: unknown[][] = [];
    const logger: DiagLogger = {
      error: (...args: unknown[]) => errors.push(args),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    };
    diag.setLogger(logger);
    const cpu = jest.spyOn(process, 'cpuUsage').mockImplementation(() => {
      throw new Error('cpuUsage is broken');
    });
    const m = standalone();
    try {
      for (let i = 0; i < 3; i++) {
        const text = await m.scrape();
        expect(samplesOf(text, 'process_cpu_seconds_total')).toHaveLength(0);
        expect(
          samplesOf(text, 'process_open_fds').length +
            samplesOf(text, 'nodejs_heap_size_used_bytes').length,
        ).toBeGreaterThan(0);
        expect(valueOf(text, 'app_version_info', { version: 'unknown' })).toBe(1);
      }
      const ours = errors.filter((e) => String(e[0]).includes('process-cpu'));
      expect(ours).toHaveLength(1);
      expect(String(ours[0]?.[0])).toBe('express-otel-metrics: the process-cpu collector failed');
      expect(String(ours[0]?.[1])).toContain('cpuUsage is broken');
    } finally {
      cpu.mockRestore();
      diag.disable();
      await m.shutdown();
    }
  });
});
