/**
 * The writer's OpenMetrics 1.0 text, exactly, for small hand-made collections; the same for the
 * SDK's data and the package's series is checked in writer.test.ts.
 */
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { Collected, CollectedMetric, Exemplar } from '../../../src/export/collected';
import { writeExposition, writeExpositionInSlices } from '../../../src/export/writer';
import { checkOpenMetrics } from '../../helpers/openmetrics';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
/** 2026-01-01T00:00:00.123Z */
const WHEN = 1767225600123;

function exemplar(value: number, spanId = '00f067aa0ba902b7'): Exemplar {
  return { traceId: TRACE, spanId, value, timestamp: WHEN };
}

function collection(metrics: CollectedMetric[]): Collected {
  return {
    resource: { attributes: { 'service.name': 'shop', 'service.version': '1.2' } },
    scopeMetrics: [{ scope: { name: 'express-otel-metrics', version: '0.1.0' }, metrics }],
  };
}

const COUNTER: CollectedMetric = {
  descriptor: { name: 'app_request_count', description: 'Application request count.', unit: '' },
  dataPointType: DataPointType.SUM,
  isMonotonic: true,
  dataPoints: [
    {
      attributes: { method: 'GET', endpoint: '/users/:id', http_status: '200' },
      value: 7,
      exemplars: [exemplar(1)],
    },
    { attributes: { method: 'POST', endpoint: '/users', http_status: '201' }, value: 2 },
  ],
};

const GAUGE: CollectedMetric = {
  descriptor: {
    name: 'process_resident_memory_bytes',
    description: 'Resident memory size in bytes.',
    unit: 'By',
  },
  dataPointType: DataPointType.GAUGE,
  dataPoints: [{ attributes: {}, value: 52428800 }],
};

const HISTOGRAM: CollectedMetric = {
  descriptor: {
    name: 'app_request_latency_seconds',
    description: 'Application request latency.',
    unit: 's',
  },
  dataPointType: DataPointType.HISTOGRAM,
  dataPoints: [
    {
      attributes: { method: 'GET', endpoint: '/users/:id' },
      value: { count: 7, sum: 21.25, buckets: { boundaries: [0.1, 1, 10], counts: [3, 2, 1, 1] } },
      // The 1 s bucket has none; the last is the overflow (+Inf) bucket's.
      exemplars: [exemplar(0.05, '1111111111111111'), undefined, exemplar(7.5), exemplar(12.5)],
    },
    {
      attributes: { method: 'GET', endpoint: '/' },
      value: { count: 1, sum: 0.02, buckets: { boundaries: [0.1, 1, 10], counts: [1, 0, 0, 0] } },
    },
  ],
};

/** An UpDownCounter (a gauge here) in a unit its name does not end in; its exemplar is not written. */
const UPDOWN: CollectedMetric = {
  descriptor: { name: 'room_temperature', description: 'Say "warm"\nor \\cold\\.', unit: 'Cel' },
  dataPointType: DataPointType.SUM,
  isMonotonic: false,
  dataPoints: [{ attributes: { room: 'a' }, value: 21.5, exemplars: [exemplar(21.5)] }],
};

/**
 * No buckets in the text formats: a histogram of its +Inf bucket, count and sum (none when there
 * is no sum, as for NO_SUM).
 */
const EXPONENTIAL: CollectedMetric = {
  descriptor: { name: 'spread', description: '', unit: '' },
  dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
  dataPoints: [
    {
      attributes: { shard: 'a' },
      value: {
        count: 4,
        sum: 5.5,
        scale: 1,
        zeroCount: 1,
        positive: { offset: 0, bucketCounts: [2, 1] },
        negative: { offset: 0, bucketCounts: [] },
      },
    },
    {
      attributes: { shard: 'b' },
      value: {
        count: 0,
        scale: 0,
        zeroCount: 0,
        positive: { offset: 0, bucketCounts: [] },
        negative: { offset: 0, bucketCounts: [] },
      },
    },
  ],
};

/** An instrument that may record negatives has no sum, and in OpenMetrics no _count either. */
const NO_SUM: CollectedMetric = {
  descriptor: { name: 'swing_meters', description: 'No sum.', unit: 'm' },
  dataPointType: DataPointType.HISTOGRAM,
  dataPoints: [
    {
      attributes: {},
      value: { count: 3, buckets: { boundaries: [-1, 0, 1], counts: [1, 0, 1, 1] } },
    },
  ],
};

const EXPECTED = `# TYPE target info
# HELP target Target metadata
target_info{service_name="shop",service_version="1.2"} 1
# TYPE app_request_count counter
# HELP app_request_count Application request count.
app_request_count_total{method="GET",endpoint="/users/:id",http_status="200"} 7 # {trace_id="${TRACE}",span_id="00f067aa0ba902b7"} 1 1767225600.123
app_request_count_total{method="POST",endpoint="/users",http_status="201"} 2
# TYPE process_resident_memory_bytes gauge
# UNIT process_resident_memory_bytes bytes
# HELP process_resident_memory_bytes Resident memory size in bytes.
process_resident_memory_bytes 52428800
# TYPE app_request_latency_seconds histogram
# UNIT app_request_latency_seconds seconds
# HELP app_request_latency_seconds Application request latency.
app_request_latency_seconds_bucket{method="GET",endpoint="/users/:id",le="0.1"} 3 # {trace_id="${TRACE}",span_id="1111111111111111"} 0.05 1767225600.123
app_request_latency_seconds_bucket{method="GET",endpoint="/users/:id",le="1.0"} 5
app_request_latency_seconds_bucket{method="GET",endpoint="/users/:id",le="10.0"} 6 # {trace_id="${TRACE}",span_id="00f067aa0ba902b7"} 7.5 1767225600.123
app_request_latency_seconds_bucket{method="GET",endpoint="/users/:id",le="+Inf"} 7 # {trace_id="${TRACE}",span_id="00f067aa0ba902b7"} 12.5 1767225600.123
app_request_latency_seconds_count{method="GET",endpoint="/users/:id"} 7
app_request_latency_seconds_sum{method="GET",endpoint="/users/:id"} 21.25
app_request_latency_seconds_bucket{method="GET",endpoint="/",le="0.1"} 1
app_request_latency_seconds_bucket{method="GET",endpoint="/",le="1.0"} 1
app_request_latency_seconds_bucket{method="GET",endpoint="/",le="10.0"} 1
app_request_latency_seconds_bucket{method="GET",endpoint="/",le="+Inf"} 1
app_request_latency_seconds_count{method="GET",endpoint="/"} 1
app_request_latency_seconds_sum{method="GET",endpoint="/"} 0.02
# TYPE room_temperature gauge
# HELP room_temperature Say \\"warm\\"\\nor \\\\cold\\\\.
room_temperature{room="a"} 21.5
# TYPE spread histogram
spread_bucket{shard="a",le="+Inf"} 4
spread_count{shard="a"} 4
spread_sum{shard="a"} 5.5
spread_bucket{shard="b",le="+Inf"} 0
# TYPE swing_meters histogram
# UNIT swing_meters meters
# HELP swing_meters No sum.
swing_meters_bucket{le="-1.0"} 1
swing_meters_bucket{le="0.0"} 1
swing_meters_bucket{le="1.0"} 2
swing_meters_bucket{le="+Inf"} 3
# EOF
`;

const ALL = [COUNTER, GAUGE, HISTOGRAM, UPDOWN, EXPONENTIAL, NO_SUM];

describe('writeExposition in OpenMetrics', () => {
  it('writes counters, gauges, histograms with exemplars, native histograms, info families, units', () => {
    const warnings: string[] = [];
    const text = writeExposition(collection(ALL), {
      targetInfo: true,
      scopeInfo: false,
      format: 'openmetrics',
      warn: (key) => warnings.push(key),
    });
    expect(text).toBe(EXPECTED);
    expect(checkOpenMetrics(text).families.map((f) => [f.name, f.type])).toEqual([
      ['target', 'info'],
      ['app_request_count', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['app_request_latency_seconds', 'histogram'],
      ['room_temperature', 'gauge'],
      ['spread', 'histogram'],
      ['swing_meters', 'histogram'],
    ]);
    expect(warnings).toEqual([]);
  });

  it('writes no exemplar, no info type and the stock UNIT lines in the text format', () => {
    const text = writeExposition(collection(ALL), { targetInfo: true, scopeInfo: false });
    expect(text).not.toContain(' # ');
    expect(text).not.toContain('# EOF');
    expect(text).toContain('# TYPE target_info gauge\n');
    expect(text).toContain('# UNIT app_request_latency_seconds s\n');
    expect(text).toContain(
      'app_request_latency_seconds_bucket{method="GET",endpoint="/",le="1"} 1\n',
    );
    expect(text).toContain('swing_meters_count 3\n');
    expect(text).toContain('# TYPE app_request_count_total counter\n');
  });

  it("adds the scope and constant labels after the point's own, before le", () => {
    const text = writeExposition(collection([HISTOGRAM]), {
      targetInfo: false,
      scopeInfo: true,
      constantLabels: 'worker="2"',
      format: 'openmetrics',
    });
    expect(text).toContain(
      `app_request_latency_seconds_bucket{method="GET",endpoint="/",worker="2",otel_scope_name="express-otel-metrics",otel_scope_version="0.1.0",le="0.1"} 1\n`,
    );
    expect(text).toContain(
      `app_request_latency_seconds_sum{method="GET",endpoint="/",worker="2",otel_scope_name="express-otel-metrics",otel_scope_version="0.1.0"} 0.02\n`,
    );
    checkOpenMetrics(text);
  });

  it('writes nothing but # EOF when nothing was recorded', () => {
    const options = { targetInfo: false, scopeInfo: false, format: 'openmetrics' } as const;
    expect(writeExposition(collection([]), options)).toBe('# EOF\n');
    expect(writeExposition(collection([]), { ...options, targetInfo: true })).toBe(
      '# TYPE target info\n# HELP target Target metadata\ntarget_info{service_name="shop",service_version="1.2"} 1\n# EOF\n',
    );
  });

  it('leaves out an exemplar outside its bucket or with labels too long, and says so', () => {
    const warnings: string[] = [];
    const histogram: CollectedMetric = {
      ...HISTOGRAM,
      dataPoints: [
        {
          attributes: {},
          value: { count: 2, sum: 3, buckets: { boundaries: [1, 10], counts: [1, 1, 0] } },
          exemplars: [exemplar(2.5), { ...exemplar(3), spanId: 'x'.repeat(100) }],
        },
      ],
    };
    const text = writeExposition(collection([histogram]), {
      targetInfo: false,
      scopeInfo: false,
      format: 'openmetrics',
      warn: (key) => warnings.push(key),
    });
    expect(text).toContain('app_request_latency_seconds_bucket{le="1.0"} 1\n');
    expect(text).toContain('app_request_latency_seconds_bucket{le="10.0"} 2\n');
    expect(text).not.toContain(' # ');
    expect(warnings).toEqual([
      'exemplar-bucket:app_request_latency_seconds',
      'exemplar-length:app_request_latency_seconds',
    ]);
  });

  it('keeps one family per OpenMetrics name, and target_info for the resource', () => {
    const warnings: string[] = [];
    // A gauge `jobs` and a counter `jobs` (samples `jobs_total`) are two families in the text
    // format and one name in OpenMetrics.
    const clash = collection([
      {
        descriptor: { name: 'jobs', description: 'Queued.', unit: '' },
        dataPointType: DataPointType.GAUGE,
        dataPoints: [{ attributes: {}, value: 3 }],
      },
      {
        descriptor: { name: 'jobs', description: 'Done.', unit: '' },
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: [{ attributes: {}, value: 9 }],
      },
      {
        descriptor: { name: 'target_info', description: '', unit: '' },
        dataPointType: DataPointType.GAUGE,
        dataPoints: [{ attributes: { own: 'yes' }, value: 5 }],
      },
    ]);
    const options = {
      targetInfo: true,
      scopeInfo: false,
      warn: (key: string) => warnings.push(key),
    };
    const text = writeExposition(clash, { ...options, format: 'openmetrics' });
    expect(checkOpenMetrics(text).samples.map((s) => `${s.name} ${s.value}`)).toEqual([
      'target_info 1',
      'jobs 3',
    ]);
    expect(warnings.sort()).toEqual(['family-name:jobs_total', 'openmetrics-target-info']);
    // The text format writes all three, as the stock serializer does.
    expect(writeExposition(clash, options)).toContain('jobs_total 9\n');
    expect(writeExposition(clash, options)).toContain('target_info{own="yes"} 5\n');
  });

  it('writes the same bytes in slices', async () => {
    const options = { targetInfo: true, scopeInfo: true, format: 'openmetrics' } as const;
    const body = await writeExpositionInSlices(collection(ALL), options, 0);
    expect(Buffer.concat(body.chunks).toString('utf8')).toBe(
      writeExposition(collection(ALL), options),
    );
    body.release();
  });
});
