import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Collected } from '../../../src/export/collected';
import { counter, merge, parts } from '../../helpers/cluster-snapshots';
import {
  fromWire,
  takeSnapshot,
  type Snapshot,
  type SnapshotMetric,
} from '../../../src/cluster/snapshot';
import { writeExposition } from '../../../src/export/writer';
import { checkMetrics, findPromtool } from '../../helpers/promtool';

const requests = (count: number, le005: number): SnapshotMetric => ({
  name: 'app_request_latency_seconds',
  description: 'Request latency',
  unit: 's',
  kind: 'histogram',
  bounds: [0.005, 0.01],
  points: [
    {
      attributes: { method: 'GET', endpoint: '/users/:id' },
      value: { count, sum: count * 0.004, counts: [le005, count - le005, 0] },
    },
  ],
});

const gauge = (name: string, value: number, attributes = {}): SnapshotMetric => ({
  name,
  description: name,
  unit: '',
  kind: 'gauge',
  points: [{ attributes, value }],
});

const snapshot = (...metrics: SnapshotMetric[]): Snapshot => ({
  scopes: [{ name: 'express-otel-metrics', metrics }],
});

function text(of: Array<[string, Snapshot | Collected, boolean]>): string {
  return writeExposition(merge(parts(of)), { targetInfo: false, scopeInfo: false });
}

function samples(exposition: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    const value = line.slice(at + 1);
    out[line.slice(0, at)] =
      value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value);
  }
  return out;
}

describe('merging the processes of a cluster', () => {
  it('adds up counters and histograms bucket by bucket', () => {
    const out = samples(
      text([
        ['0', snapshot(counter(7), requests(7, 5)), true],
        ['1', snapshot(counter(3), requests(3, 1)), true],
      ]),
    );
    const labels = 'method="GET",endpoint="/users/:id"';
    expect(out[`app_request_count_total{${labels},http_status="200"}`]).toBe(10);
    expect(out[`app_request_latency_seconds_count{${labels}}`]).toBe(10);
    expect(out[`app_request_latency_seconds_sum{${labels}}`]).toBeCloseTo(0.04, 10);
    expect(out[`app_request_latency_seconds_bucket{${labels},le="0.005"}`]).toBe(6);
    expect(out[`app_request_latency_seconds_bucket{${labels},le="0.01"}`]).toBe(10);
    expect(out[`app_request_latency_seconds_bucket{${labels},le="+Inf"}`]).toBe(10);
  });

  it('matches series whatever the order of their attributes', () => {
    const reordered: SnapshotMetric = {
      ...counter(5),
      points: [
        { attributes: { http_status: '200', endpoint: '/users/:id', method: 'GET' }, value: 5 },
      ],
    };
    const out = text([
      ['0', snapshot(counter(1)), true],
      ['1', snapshot(reordered), true],
    ]);
    expect(out.match(/^app_request_count_total/gm)).toHaveLength(1);
    expect(out).toContain(
      'app_request_count_total{method="GET",endpoint="/users/:id",http_status="200"} 6\n',
    );
  });

  it('sums memory over the live processes, keeps per-process gauges apart, and info series once', () => {
    const out = samples(
      text([
        [
          'primary',
          snapshot(
            gauge('process_resident_memory_bytes', 100),
            gauge('process_start_time_seconds', 1000),
            gauge('nodejs_version_info', 1, { version: 'v24.21.0' }),
          ),
          true,
        ],
        [
          '0',
          snapshot(
            gauge('process_resident_memory_bytes', 200),
            gauge('process_start_time_seconds', 1001),
            gauge('nodejs_version_info', 1, { version: 'v24.21.0' }),
            gauge('app_version_info', 1, { version: 'v1', config: 'prod' }),
          ),
          true,
        ],
        [
          '1',
          snapshot(
            gauge('process_resident_memory_bytes', 300),
            gauge('process_start_time_seconds', 1002),
            gauge('nodejs_version_info', 1, { version: 'v24.21.0' }),
            gauge('app_version_info', 1, { version: 'v1', config: 'prod' }),
          ),
          true,
        ],
      ]),
    );
    expect(out).toEqual({
      process_resident_memory_bytes: 600,
      'process_start_time_seconds{worker="primary"}': 1000,
      'process_start_time_seconds{worker="0"}': 1001,
      'process_start_time_seconds{worker="1"}': 1002,
      'nodejs_version_info{version="v24.21.0"}': 1,
      'app_version_info{version="v1",config="prod"}': 1,
    });
  });

  it('shows both versions of an app while a deploy rolls, each once', () => {
    const out = samples(
      text([
        ['0', snapshot(gauge('app_version_info', 1, { version: 'v1', config: 'prod' })), true],
        ['1', snapshot(gauge('app_version_info', 1, { version: 'v2', config: 'prod' })), true],
        ['2', snapshot(gauge('app_version_info', 1, { version: 'v2', config: 'prod' })), true],
      ]),
    );
    expect(out).toEqual({
      'app_version_info{version="v1",config="prod"}': 1,
      'app_version_info{version="v2",config="prod"}': 1,
    });
  });

  it('takes only the totals of a stale snapshot', () => {
    const out = samples(
      text([
        ['0', snapshot(counter(4), gauge('process_resident_memory_bytes', 200)), true],
        ['1', snapshot(counter(6), gauge('process_resident_memory_bytes', 300)), false],
      ]),
    );
    expect(
      out['app_request_count_total{method="GET",endpoint="/users/:id",http_status="200"}'],
    ).toBe(10);
    expect(out.process_resident_memory_bytes).toBe(200);
  });

  it('keeps retired totals as a snapshot that merges like a live one', () => {
    const first = merge(parts([['', snapshot(counter(5), requests(5, 5)), false]]));
    const retired = merge(
      parts([
        ['', snapshot(counter(2, '500'), requests(2, 0)), false],
        ['', first, false],
      ]),
    );
    const out = samples(
      text([
        ['0', snapshot(counter(1)), true],
        ['', retired, false],
      ]),
    );
    const labels = 'method="GET",endpoint="/users/:id"';
    expect(out[`app_request_count_total{${labels},http_status="200"}`]).toBe(6);
    expect(out[`app_request_count_total{${labels},http_status="500"}`]).toBe(2);
    expect(out[`app_request_latency_seconds_count{${labels}}`]).toBe(7);
    expect(out[`app_request_latency_seconds_bucket{${labels},le="0.005"}`]).toBe(5);
  });

  it('leaves out, and reports, a part that cannot be added', () => {
    const warnings: string[] = [];
    const otherBuckets: SnapshotMetric = { ...requests(4, 4), bounds: [0.1, 1] };
    const asGauge = gauge('app_request_count', 9);
    const merged = merge(
      parts([
        ['0', snapshot(counter(1), requests(1, 1)), true],
        ['1', snapshot(asGauge, otherBuckets), true],
      ]),
      (_key, message) => {
        warnings.push(message);
      },
    );
    const out = samples(writeExposition(merged, { targetInfo: false, scopeInfo: false }));
    expect(
      out['app_request_count_total{method="GET",endpoint="/users/:id",http_status="200"}'],
    ).toBe(1);
    expect(out['app_request_latency_seconds_count{method="GET",endpoint="/users/:id"}']).toBe(1);
    expect(warnings).toEqual([
      'metric app_request_count is a gauge in one process and a counter in another; only the first is served',
      "histogram app_request_latency_seconds has different buckets in two processes; only the first's are served",
    ]);
  });

  it('carries NaN and infinities through JSON, as the IPC channel does', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('express-otel-metrics');
    const values: Record<string, number> = { nan: NaN, up: Infinity, down: -Infinity };
    for (const [name, value] of Object.entries(values)) {
      meter.createObservableGauge(name).addCallback((result) => result.observe(value));
    }
    const { resourceMetrics } = await reader.collect();
    const wired = JSON.parse(JSON.stringify(takeSnapshot(resourceMetrics))) as Snapshot;
    expect(wired.scopes[0]?.metrics.map((m) => fromWire(m.points[0]?.value as number))).toEqual([
      NaN,
      Infinity,
      -Infinity,
    ]);
    const merged = merge(parts([['0', wired, true]]));
    const out = samples(writeExposition(merged, { targetInfo: false, scopeInfo: false }));
    expect(out).toEqual({
      'nan{worker="0"}': NaN,
      'up{worker="0"}': Infinity,
      'down{worker="0"}': -Infinity,
    });
    await provider.shutdown();
  });

  it('writes what a real SDK collection holds, the same after the round trip through a snapshot', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('express-otel-metrics');
    meter.createCounter('app_request_count').add(3, { method: 'GET' });
    meter
      .createHistogram('latency', { advice: { explicitBucketBoundaries: [1, 2] } })
      .record(1.5, { a: 'b' });
    meter.createUpDownCounter('in_flight').add(-2);
    const { resourceMetrics } = await reader.collect();
    const options = { targetInfo: false, scopeInfo: false };
    const direct = writeExposition(resourceMetrics, options);
    const wired = JSON.parse(JSON.stringify(takeSnapshot(resourceMetrics))) as Snapshot;
    const roundTrip = writeExposition(merge(parts([['0', wired, true]])), options);
    // The up-down counter is per process: the merged one carries the worker label.
    expect(roundTrip).toBe(direct.replace('in_flight -2', 'in_flight{worker="0"} -2'));
    const promtool = findPromtool();
    if (promtool !== undefined)
      expect(checkMetrics(promtool, roundTrip)).toMatchObject({ status: 0 });
    await provider.shutdown();
  });
});
