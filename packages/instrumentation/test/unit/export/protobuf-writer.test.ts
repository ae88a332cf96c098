/**
 * Prometheus' protobuf exposition, decoded by protobufjs against prometheus/client_model's
 * metrics.proto (test/fixtures/prometheus), and compared family by family and sample for sample
 * with the text writer's exposition of the same collection; native histograms against spans and
 * deltas computed by hand.
 */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  AggregationType,
  DataPointType,
  MeterProvider,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import type { Naming } from '../../../src/catalogue';
import { COLLECTORS } from '../../../src/collectors/index';
import {
  NATIVE_SUFFIX,
  type Collected,
  type CollectedMetric,
  type Exemplar,
  type ExponentialHistogramValue,
} from '../../../src/export/collected';
import {
  parseConstantLabels,
  writeProtobuf,
  writeProtobufInSlices,
} from '../../../src/export/protobuf-writer';
import { bucketBound, escapeHelp, labelValue, sampleValue } from '../../../src/export/text-format';
import { writeExposition, type WriterOptions } from '../../../src/export/writer';
import { LABELS } from '../../../src/labels';
import { INSTRUMENTS, METER_NAME } from '../../../src/names';
import { resolveOptions } from '../../../src/options/resolve';
import { viewsFor } from '../../../src/views';
import { checkOpenMetrics } from '../../helpers/openmetrics';
import {
  decodeFamilies as decode,
  type DecodedExemplar,
  type DecodedFamily,
  type DecodedHistogram,
  type Label,
} from '../../helpers/prometheus-protobuf';

function labelText(labels: Label[] | undefined, le?: string): string {
  const pairs = (labels ?? []).map((l) => `${l.name}="${labelValue(l.value)}"`);
  if (le !== undefined) pairs.push(`le="${le}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/**
 * The decoded families as the lines of the 0.0.4 text: HELP, TYPE and samples, a histogram's as
 * Prometheus reads it from this format (`_count`, `_sum` when present, the buckets, and a `+Inf`
 * bucket of the count when none is written: model/textparse/protobufparse.go `getMagicLabel`).
 */
function asTextLines(families: DecodedFamily[]): string[] {
  const lines: string[] = [];
  for (const family of families) {
    const { name } = family;
    lines.push(`# HELP ${name} ${escapeHelp(family.help ?? '')}`);
    lines.push(`# TYPE ${name} ${(family.type ?? 'COUNTER').toLowerCase()}`);
    for (const metric of family.metric ?? []) {
      const labels = labelText(metric.label);
      const number = metric.counter ?? metric.gauge ?? metric.untyped;
      if (number !== undefined) {
        lines.push(`${name}${labels} ${sampleValue(number.value ?? 0)}`);
        continue;
      }
      const histogram = metric.histogram as DecodedHistogram;
      lines.push(`${name}_count${labels} ${histogram.sampleCount ?? 0}`);
      if (histogram.sampleSum !== undefined) {
        lines.push(`${name}_sum${labels} ${sampleValue(histogram.sampleSum)}`);
      }
      const buckets = histogram.bucket ?? [];
      for (const bucket of buckets) {
        lines.push(
          `${name}_bucket${labelText(metric.label, bucketBound(bucket.upperBound))} ${bucket.cumulativeCount ?? 0}`,
        );
      }
      if (buckets.at(-1)?.upperBound !== Infinity) {
        lines.push(
          `${name}_bucket${labelText(metric.label, '+Inf')} ${histogram.sampleCount ?? 0}`,
        );
      }
    }
  }
  return lines;
}

/** The text's lines without its UNIT lines (the OTel unit, a comment to Prometheus) and its note. */
function textLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('# UNIT ') && l !== '# no registered metrics');
}

/** A sample's key: its name and labels, `le` as a number. */
function sampleKey(name: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels).map(([k, v]): [string, string] =>
    k === 'le' ? [k, String(v === '+Inf' ? Infinity : Number(v))] : [k, v],
  );
  return `${name}${JSON.stringify(entries.sort())}`;
}

interface ExemplarSeen {
  trace_id: string;
  span_id: string;
  value: number;
  ms: number;
}

/** The exemplars of the OpenMetrics text, by sample. */
function openMetricsExemplars(text: string): Map<string, ExemplarSeen> {
  const found = new Map<string, ExemplarSeen>();
  for (const sample of checkOpenMetrics(text).samples) {
    if (sample.exemplar === undefined) continue;
    found.set(sampleKey(sample.name, sample.labels), {
      trace_id: sample.exemplar.labels.trace_id as string,
      span_id: sample.exemplar.labels.span_id as string,
      value: Number(sample.exemplar.value),
      ms: Math.round(Number(sample.exemplar.timestamp) * 1000),
    });
  }
  return found;
}

function seen(exemplar: DecodedExemplar): ExemplarSeen {
  const labels = Object.fromEntries((exemplar.label ?? []).map((l) => [l.name, l.value]));
  expect(Object.keys(labels)).toEqual(['trace_id', 'span_id']);
  return {
    trace_id: labels.trace_id as string,
    span_id: labels.span_id as string,
    value: exemplar.value as number,
    ms: (exemplar.timestamp?.seconds ?? 0) * 1000 + (exemplar.timestamp?.nanos ?? 0) / 1e6,
  };
}

/** The exemplars of the decoded families, by sample, as the OpenMetrics text names them. */
function protobufExemplars(families: DecodedFamily[]): Map<string, ExemplarSeen> {
  const found = new Map<string, ExemplarSeen>();
  for (const family of families) {
    for (const metric of family.metric ?? []) {
      const labels = Object.fromEntries((metric.label ?? []).map((l) => [l.name, l.value]));
      if (metric.counter?.exemplar !== undefined) {
        found.set(sampleKey(family.name, labels), seen(metric.counter.exemplar));
      }
      for (const bucket of metric.histogram?.bucket ?? []) {
        if (bucket.exemplar === undefined) continue;
        const le = bucketBound(bucket.upperBound);
        found.set(sampleKey(`${family.name}_bucket`, { ...labels, le }), seen(bucket.exemplar));
      }
    }
  }
  return found;
}

const SETTINGS: WriterOptions[] = [
  { targetInfo: false, scopeInfo: false },
  { targetInfo: true, scopeInfo: true },
  { targetInfo: true, scopeInfo: false, constantLabels: 'worker="3",note="a \\"b\\"\\\\c\\nd"' },
  { targetInfo: false, scopeInfo: true, constantLabels: 'worker="1"' },
];

/** What a provider with the package's Views (or, with `own`, with `views` alone) collects. */
async function collect(
  record: (provider: MeterProvider) => (() => void) | void,
  views: ViewOptions[] = [],
  naming: Naming | 'own' = 'prometheus',
): Promise<Collected> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [reader],
    views: naming === 'own' ? views : [...viewsFor(resolveOptions({ naming })), ...views],
  });
  const stop = record(provider);
  try {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return resourceMetrics;
  } finally {
    stop?.();
    await provider.shutdown();
  }
}

const AWKWARD = ['plain', 'say "hi"', 'back\\slash', 'new\nline', 'ünïcödé 😀', '', 'x'.repeat(60)];

function recordVaried(provider: MeterProvider): void {
  const meter = provider.getMeter(METER_NAME, '0.1.0');
  const latency = meter.createHistogram(INSTRUMENTS.requestLatency, {
    description: 'Application request latency.',
    unit: 's',
  });
  const count = meter.createCounter(INSTRUMENTS.requestCount, {
    description: 'Application request count.',
  });
  for (const [e, endpoint] of ['/', '/users/:id', ...AWKWARD].entries()) {
    for (const method of ['GET', 'POST']) {
      const labels = { [LABELS.method]: method, [LABELS.endpoint]: endpoint };
      for (let k = 0; k <= e; k++) {
        latency.record((k * 0.37 + e * 0.011) % 12, labels);
        count.add(1, { ...labels, [LABELS.httpStatus]: k % 2 === 0 ? '200' : '503' });
      }
    }
  }
  const other = provider.getMeter('other.scope "x"', '2.0.0', { schemaUrl: 'https://x.test/s' });
  const odd = other.createCounter('my.metric-name', { description: 'Dots\\dashes\nand "q"' });
  odd.add(1e21, { 'http.route': '/big' });
  odd.add(0.1 + 0.2, { 'http.route': '/float' });
  odd.add(Infinity, { 'http.route': '/inf' });
  odd.add(2, { number: 42, flag: true, list: ['a', 'b"c'] });
  other.createCounter('shared.events', { description: 'Other words.' }).add(2, { from: 'b' });
  meter.createCounter('shared.events', { description: 'First words.' }).add(1, { from: 'a' });
  const gauge = meter.createGauge('temperature_celsius', { description: 'A gauge.' });
  gauge.record(-273.15, { where: 'space' });
  gauge.record(NaN, { where: 'unknown' });
  gauge.record(-Infinity, { where: 'below' });
  gauge.record(1.5e-9, { where: 'tiny' });
  meter.createUpDownCounter('balance').add(-5, { account: 'x' });
  const swing = meter.createUpDownCounter('swing', { description: 'No _sum.', unit: 'm' });
  swing.add(-3);
  swing.add(40);
  meter.createGauge('target_info').record(5, { own: 'yes' });
}

const VARIED_VIEWS: ViewOptions[] = [
  {
    instrumentName: 'swing',
    aggregation: {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: { boundaries: [-1, 0, 1, 10] },
    },
  },
];

function recordCollectors(naming: Naming) {
  return (provider: MeterProvider): (() => void) => {
    const meter = provider.getMeter(METER_NAME);
    const options = resolveOptions({ appVersion: 'v1', naming });
    const stops = COLLECTORS.map((collector) =>
      collector.start({ meter, meterProvider: provider, options, guard: (fn) => fn }),
    );
    return () => stops.forEach((stop) => stop());
  };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/**
 * The collection with exemplars where the exemplar store puts them: on a counter's point, and on
 * histogram buckets (one outside its bucket, which neither format writes).
 */
function withExemplars(collected: Collected): Collected {
  let made = 0;
  const exemplar = (value: number): Exemplar => ({
    traceId: TRACE,
    spanId: (++made).toString(16).padStart(16, '0'),
    value,
    timestamp: 1767225600123 + made,
  });
  return {
    ...collected,
    scopeMetrics: collected.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map((metric): CollectedMetric => {
        if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic) {
          return {
            ...metric,
            dataPoints: metric.dataPoints.map((p) => ({ ...p, exemplars: [exemplar(1)] })),
          };
        }
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          return {
            ...metric,
            dataPoints: metric.dataPoints.map((p) => {
              const { boundaries, counts } = p.value.buckets;
              const exemplars = new Array<Exemplar | undefined>(counts.length).fill(undefined);
              exemplars[0] = exemplar(boundaries[0] ?? 1);
              exemplars[2] = exemplar(1e9);
              exemplars[counts.length - 1] = exemplar(50);
              return { ...p, exemplars };
            }),
          };
        }
        return metric;
      }),
    })),
  };
}

describe('writeProtobuf against the text writer', () => {
  let data: Array<[string, Naming, Collected]>;
  beforeAll(async () => {
    data = [
      ['varied', 'prometheus', withExemplars(await collect(recordVaried, VARIED_VIEWS))],
      ['collectors', 'prometheus', await collect(recordCollectors('prometheus'))],
      ['varied', 'semconv', withExemplars(await collect(recordVaried, VARIED_VIEWS, 'semconv'))],
      ['collectors', 'semconv', await collect(recordCollectors('semconv'), [], 'semconv')],
    ];
  });

  it.each(SETTINGS)(
    'writes the families, HELP, types and samples of the 0.0.4 text, in its order, with %o',
    (options) => {
      for (const [name, naming, collected] of data) {
        const text = writeExposition(collected, { ...options, naming });
        const families = decode(writeProtobuf(collected, { ...options, naming }));
        expect([name, naming, asTextLines(families)]).toEqual([name, naming, textLines(text)]);
        expect(textLines(text).length).toBeGreaterThan(20);
      }
    },
  );

  it.each(SETTINGS)("carries the OpenMetrics text's exemplars, with %o", (options) => {
    for (const [name, naming, collected] of data) {
      const warnings: string[] = [];
      const openMetrics = writeExposition(collected, { ...options, naming, format: 'openmetrics' });
      const families = decode(
        writeProtobuf(collected, { ...options, naming, warn: (key) => warnings.push(key) }),
      );
      const expected = openMetricsExemplars(openMetrics);
      expect([name, naming, protobufExemplars(families)]).toEqual([name, naming, expected]);
      if (name === 'varied') {
        expect(expected.size).toBeGreaterThan(50);
        expect(warnings).toContain('exemplar-bucket:app_request_latency_seconds');
      }
    }
  });

  it('writes what a scraper reads: values, labels, exemplars, units', () => {
    const [, , varied] = data[0] as [string, Naming, Collected];
    const families = decode(
      writeProtobuf(varied, { targetInfo: true, scopeInfo: true, constantLabels: 'worker="2"' }),
    );
    const byName = new Map(families.map((f) => [f.name, f]));
    expect(families[0]?.name).toBe('target_info');
    expect(byName.get('target_info')).toMatchObject({ type: 'GAUGE', help: 'Target metadata' });
    const target = byName.get('target_info')?.metric ?? [];
    // The resource's sample, then the app's own instrument of that name, as in the 0.0.4 text.
    expect(target[0]?.gauge).toEqual({ value: 1 });
    expect(target[0]?.label).toContainEqual({ name: 'telemetry_sdk_language', value: 'nodejs' });
    expect(target[1]).toEqual({
      label: [
        { name: 'own', value: 'yes' },
        { name: 'worker', value: '2' },
        { name: 'otel_scope_name', value: METER_NAME },
        { name: 'otel_scope_version', value: '0.1.0' },
      ],
      gauge: { value: 5 },
    });

    const latency = byName.get('app_request_latency_seconds') as DecodedFamily;
    expect(latency).toMatchObject({
      type: 'HISTOGRAM',
      help: 'Application request latency.',
      unit: 'seconds',
    });
    const home = latency.metric?.find(
      (m) => m.label?.[1]?.value === '/' && m.label[0]?.value === 'GET',
    );
    expect(home?.label).toEqual([
      { name: 'method', value: 'GET' },
      { name: 'endpoint', value: '/' },
      { name: 'worker', value: '2' },
      { name: 'otel_scope_name', value: METER_NAME },
      { name: 'otel_scope_version', value: '0.1.0' },
    ]);
    // One observation of 0 s: every bucket counts it; no native fields.
    const histogram = home?.histogram as DecodedHistogram;
    expect(histogram.sampleCount).toBe(1);
    expect(histogram.sampleSum).toBe(0);
    expect(histogram.bucket?.map((b) => [b.upperBound, b.cumulativeCount])).toEqual([
      ...resolveOptions({}).latencyBuckets.map((b) => [b, 1]),
      [Infinity, 1],
    ]);
    expect(histogram.bucket?.[0]?.exemplar).toMatchObject({
      label: [
        { name: 'trace_id', value: TRACE },
        { name: 'span_id', value: expect.stringMatching(/^[0-9a-f]{16}$/) as string },
      ],
      value: 0.005,
      timestamp: { seconds: 1767225600 },
    });
    expect(histogram.schema).toBeUndefined();
    expect(histogram.positiveSpan).toBeUndefined();

    const odd = byName.get('my_metric_name_total') as DecodedFamily;
    expect(odd).toMatchObject({ type: 'COUNTER', help: 'Dots\\dashes\nand "q"' });
    expect(odd.unit).toBeUndefined();
    const values = new Map(odd.metric?.map((m) => [m.label?.[0]?.value, m.counter?.value]));
    expect(values.get('/big')).toBe(1e21);
    expect(values.get('/float')).toBe(0.1 + 0.2);
    expect(values.get('/inf')).toBe(Infinity);
    expect(odd.metric?.find((m) => m.label?.[0]?.name === 'number')?.label).toEqual([
      { name: 'number', value: '42' },
      { name: 'flag', value: 'true' },
      { name: 'list', value: '["a","b\\"c"]' },
      { name: 'worker', value: '2' },
      { name: 'otel_scope_name', value: 'other.scope "x"' },
      { name: 'otel_scope_schema_url', value: 'https://x.test/s' },
      { name: 'otel_scope_version', value: '2.0.0' },
    ]);
    // Label values are written as they are, however long, and in UTF-8.
    const count = byName.get('app_request_count_total') as DecodedFamily;
    const endpoints = new Set(count.metric?.map((m) => m.label?.[1]?.value));
    for (const value of AWKWARD) expect(endpoints.has(value)).toBe(true);
    expect(byName.get('shared_events_total')?.metric?.map((m) => m.counter?.value)).toEqual([1, 2]);
    const temperatures = byName.get('temperature_celsius')?.metric?.map((m) => m.gauge?.value);
    expect(temperatures).toEqual([-273.15, NaN, -Infinity, 1.5e-9]);
    expect(byName.get('balance')).toMatchObject({ type: 'GAUGE' });
    // No sum kept: no sample_sum.
    expect(byName.get('swing')?.metric?.[0]?.histogram?.sampleSum).toBeUndefined();
  });

  it('writes nothing for nothing, and target_info alone when asked', async () => {
    const empty = await collect(() => undefined);
    expect(writeProtobuf(empty, { targetInfo: false, scopeInfo: false }).length).toBe(0);
    const families = decode(writeProtobuf(empty, { targetInfo: true, scopeInfo: false }));
    expect(families.map((f) => [f.name, f.type, f.metric?.length])).toEqual([
      ['target_info', 'GAUGE', 1],
    ]);
  });
});

describe('writeProtobuf names', () => {
  const collected: Collected = {
    resource: { attributes: { 'service.name': 'shop' } },
    scopeMetrics: [
      {
        scope: { name: 'express-otel-metrics' },
        metrics: [
          {
            descriptor: {
              name: 'http.server.request.duration',
              description: 'Duration of HTTP server requests.',
              unit: 's',
            },
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints: [
              {
                attributes: { 'http.request.method': 'GET', 'http.route': '/a' },
                value: {
                  count: 2,
                  sum: 0.75,
                  buckets: { boundaries: [0.1, 1], counts: [1, 1, 0] },
                },
              },
            ],
          },
          {
            descriptor: { name: 'process.cpu.time', description: 'CPU time.', unit: 's' },
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [{ attributes: { 'cpu.mode': 'user' }, value: 1.5 }],
          },
        ],
      },
    ],
  };
  const options = {
    targetInfo: true,
    scopeInfo: false,
    naming: 'semconv',
    translationStrategy: 'NoUTF8EscapingWithSuffixes',
  } as const;

  function names(bytes: Buffer): Array<[string, string[]]> {
    return decode(bytes).map((f) => [
      f.name,
      [...new Set((f.metric ?? []).flatMap((m) => (m.label ?? []).map((l) => l.name)))],
    ]);
  }

  it('keeps the dots of the UTF-8 names for a scraper that allows them, unquoted', () => {
    expect(names(writeProtobuf(collected, { ...options, escaping: 'allow-utf-8' }))).toEqual([
      ['target_info', ['service.name']],
      ['http.server.request.duration_seconds', ['http.request.method', 'http.route']],
      ['process.cpu.time_seconds_total', ['cpu.mode']],
    ]);
  });

  it.each(['underscores', 'dots', 'values'] as const)(
    'escapes them as the text formats do under %s',
    (escaping) => {
      const text = writeExposition(collected, { ...options, escaping });
      const written = names(writeProtobuf(collected, { ...options, escaping }));
      const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
      expect(written.map(([name]) => name)).toEqual(types);
      for (const [, labels] of written) {
        for (const label of labels) expect(text).toContain(`${label}="`);
      }
      if (escaping === 'dots') {
        expect(written[1]).toEqual([
          'http_dot_server_dot_request_dot_duration__seconds',
          ['http_dot_request_dot_method', 'http_dot_route'],
        ]);
      }
    },
  );

  it('keeps the default strategy names whatever the escaping', () => {
    const legacy = { targetInfo: false, scopeInfo: false, naming: 'semconv' } as const;
    expect(names(writeProtobuf(collected, { ...legacy, escaping: 'allow-utf-8' }))).toEqual([
      ['http_server_request_duration_seconds', ['http_request_method', 'http_route']],
      ['process_cpu_time_seconds_total', ['cpu_mode']],
    ]);
  });
});

describe('parseConstantLabels', () => {
  it('reads back the escaped labels of the text format', () => {
    expect(parseConstantLabels('')).toEqual([]);
    expect(parseConstantLabels('worker="3",note="a \\"b\\"\\\\c\\nd"')).toEqual([
      { name: 'worker', value: '3' },
      { name: 'note', value: 'a "b"\\c\nd' },
    ]);
    expect(parseConstantLabels('"a.b"="x,y"')).toEqual([{ name: 'a.b', value: 'x,y' }]);
  });
});

/** A scope of one classic histogram and, with `both`, its native half. */
function latencyCollection(
  classic: Array<{
    attributes: Record<string, string>;
    count: number;
    sum: number;
    counts: number[];
  }>,
  native: Array<{ attributes: Record<string, string>; value: ExponentialHistogramValue }>,
  nativeName = `app_request_latency_seconds${NATIVE_SUFFIX}`,
): Collected {
  const metrics: CollectedMetric[] = [];
  if (classic.length > 0) {
    metrics.push({
      descriptor: { name: 'app_request_latency_seconds', description: 'Latency.', unit: 's' },
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: classic.map(({ attributes, count, sum, counts }) => ({
        attributes,
        value: { count, sum, buckets: { boundaries: [0.1, 1], counts } },
      })),
    });
  }
  metrics.push({
    descriptor: { name: nativeName, description: 'Latency.', unit: 's' },
    dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    dataPoints: native,
  });
  return {
    resource: { attributes: {} },
    scopeMetrics: [{ scope: { name: METER_NAME }, metrics }],
  };
}

function exponential(
  scale: number,
  positive: [number, number[]],
  negative: [number, number[]] = [0, []],
  zeroCount = 0,
): ExponentialHistogramValue {
  const count = zeroCount + [...positive[1], ...negative[1]].reduce((a, b) => a + b, 0);
  return {
    count,
    sum: 1.25,
    scale,
    zeroCount,
    positive: { offset: positive[0], bucketCounts: positive[1] },
    negative: { offset: negative[0], bucketCounts: negative[1] },
  };
}

const PLAIN = { targetInfo: false, scopeInfo: false };

/** The latency histogram's name as the package's View gives it. */
const LATENCY = 'app_request_latency_seconds';

describe('native histograms', () => {
  it("writes a 'native' histogram's count, sum and native buckets, without classic ones", () => {
    const collected = latencyCollection(
      [],
      [
        // Scale 3: OTel 5..12 are Prometheus 6..13; two empty buckets in a span, three not.
        { attributes: { endpoint: '/a' }, value: exponential(3, [5, [1, 0, 0, 2, 0, 0, 0, 3]]) },
        // Scale 10, to 8: OTel -5 -> -1, -4..-1 -> 0, 0..2 -> 1; zeros; negatives at scale 8.
        {
          attributes: { endpoint: '/b' },
          value: exponential(10, [-5, [1, 1, 1, 1, 1, 1, 1, 1]], [-9, [2]], 3),
        },
        // Nothing observed yet: the no-op span that marks a native histogram.
        { attributes: { endpoint: '/c' }, value: exponential(0, [0, []]) },
        // Zeros only: the zero bucket marks it.
        { attributes: { endpoint: '/d' }, value: exponential(0, [0, []], [0, []], 2) },
      ],
      'app_request_latency_seconds',
    );
    const warnings: string[] = [];
    const families = decode(writeProtobuf(collected, { ...PLAIN, warn: (k) => warnings.push(k) }));
    expect(warnings).toEqual([]);
    expect(families.map((f) => [f.name, f.type, f.unit])).toEqual([
      ['app_request_latency_seconds', 'HISTOGRAM', 'seconds'],
    ]);
    const histograms = families[0]?.metric?.map((m) => m.histogram);
    expect(histograms).toEqual([
      {
        sampleCount: 6,
        sampleSum: 1.25,
        schema: 3,
        zeroThreshold: 0,
        zeroCount: 0,
        positiveSpan: [
          { offset: 6, length: 4 },
          { offset: 3, length: 1 },
        ],
        positiveDelta: [1, -1, 0, 2, 1],
      },
      {
        sampleCount: 13,
        sampleSum: 1.25,
        schema: 8,
        zeroThreshold: 0,
        zeroCount: 3,
        // OTel -9 at scale 10 -> -3 -> Prometheus -2.
        negativeSpan: [{ offset: -2, length: 1 }],
        negativeDelta: [2],
        positiveSpan: [{ offset: -1, length: 3 }],
        positiveDelta: [1, 3, -1],
      },
      {
        sampleCount: 0,
        sampleSum: 1.25,
        schema: 0,
        zeroThreshold: 0,
        zeroCount: 0,
        positiveSpan: [{ offset: 0, length: 0 }],
      },
      { sampleCount: 2, sampleSum: 1.25, schema: 0, zeroThreshold: 0, zeroCount: 2 },
    ]);
    // The text formats write the count and sum alone, as a histogram of its +Inf bucket, which is
    // what a Prometheus that ignores native histograms reads of these messages.
    expect(asTextLines(families)).toEqual(textLines(writeExposition(collected, PLAIN)));
  });

  it('writes the native buckets of a real MeterProvider at schema 8', async () => {
    const collected = await collect(
      (provider) => {
        const latency = provider.getMeter(METER_NAME).createHistogram(LATENCY);
        for (const value of [1, 2, 2, 4, 0]) latency.record(value, { endpoint: '/x' });
        latency.record(1, { endpoint: '/one' });
      },
      [
        {
          instrumentName: LATENCY,
          aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
        },
      ],
      'own',
    );
    const families = decode(writeProtobuf(collected, PLAIN));
    const family = families.find((f) => f.name === 'app_request_latency_seconds');
    // From 1 to 4 in at most 160 buckets: the SDK's scale 6. 1, 2 and 4 close Prometheus'
    // buckets 0, 64 and 128 (2^(k/64)), 63 empty ones between them: three spans.
    expect(family?.metric?.[0]).toEqual({
      label: [{ name: 'endpoint', value: '/x' }],
      histogram: {
        sampleCount: 5,
        sampleSum: 9,
        schema: 6,
        zeroThreshold: 0,
        zeroCount: 1,
        positiveSpan: [
          { offset: 0, length: 1 },
          { offset: 63, length: 1 },
          { offset: 63, length: 1 },
        ],
        positiveDelta: [1, 1, -1],
      },
    });
    // One observation keeps the SDK's scale 20, written at schema 8: 1 closes bucket 0.
    expect(family?.metric?.[1]?.histogram).toMatchObject({
      schema: 8,
      positiveSpan: [{ offset: 0, length: 1 }],
      positiveDelta: [1],
    });
    // A lower maximum schema merges them further: schema 0 has 1, 2, 4 in 0, 1, 2.
    const coarse = decode(writeProtobuf(collected, { ...PLAIN, nativeHistogramMaxScale: 0 }));
    expect(
      coarse.find((f) => f.name === 'app_request_latency_seconds')?.metric?.[0]?.histogram,
    ).toMatchObject({
      schema: 0,
      positiveSpan: [{ offset: 0, length: 3 }],
      positiveDelta: [1, 1, -1],
    });
  });

  it("writes 'both' as one histogram: the classic buckets and the native ones of the same series", async () => {
    const views: ViewOptions[] = [
      {
        instrumentName: LATENCY,
        name: `${LATENCY}${NATIVE_SUFFIX}`,
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
      },
      {
        instrumentName: LATENCY,
        aggregation: {
          type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
          options: { boundaries: [0.1, 1] },
        },
      },
    ];
    const collected = await collect(
      (provider) => {
        const latency = provider.getMeter(METER_NAME).createHistogram(LATENCY, {
          unit: 's',
        });
        for (const value of [0.5, 0.5, 2]) latency.record(value, { method: 'GET', endpoint: '/a' });
        latency.record(0.05, { method: 'POST', endpoint: '/b' });
      },
      views,
      'own',
    );
    const names = collected.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
    expect(names.sort()).toEqual([LATENCY, `${LATENCY}${NATIVE_SUFFIX}`]);
    const options = { targetInfo: false, scopeInfo: true };
    const families = decode(writeProtobuf(collected, options));
    expect(families.map((f) => f.name)).toEqual(['app_request_latency_seconds']);
    const [a, b] = families[0]?.metric ?? [];
    expect(a?.label?.map((l) => l.value)).toEqual(['GET', '/a', METER_NAME]);
    // From 0.5 to 2 in at most 160 buckets: scale 6, where 0.5 = 2^-1 closes Prometheus' bucket
    // -64 and 2 closes 64.
    expect(a?.histogram).toEqual({
      sampleCount: 3,
      sampleSum: 3,
      bucket: [
        { cumulativeCount: 0, upperBound: 0.1 },
        { cumulativeCount: 2, upperBound: 1 },
        { cumulativeCount: 3, upperBound: Infinity },
      ],
      schema: 6,
      zeroThreshold: 0,
      zeroCount: 0,
      positiveSpan: [
        { offset: -64, length: 1 },
        { offset: 127, length: 1 },
      ],
      positiveDelta: [2, -1],
    });
    // 0.05 alone: scale 20, written at schema 8, where it is in (2^(-1107/256), 2^(-1106/256)].
    expect(b?.histogram).toMatchObject({
      sampleCount: 1,
      bucket: [
        { cumulativeCount: 1, upperBound: 0.1 },
        { cumulativeCount: 1, upperBound: 1 },
        { cumulativeCount: 1, upperBound: Infinity },
      ],
      schema: 8,
      positiveSpan: [{ offset: -1106, length: 1 }],
      positiveDelta: [1],
    });
    expect(2 ** (-1107 / 256)).toBeLessThan(0.05);
    expect(2 ** (-1106 / 256)).toBeGreaterThanOrEqual(0.05);
    // The text formats: the classic family alone, the native half left out.
    const text = writeExposition(collected, options);
    expect(text).not.toContain(NATIVE_SUFFIX);
    expect(asTextLines(families)).toEqual(textLines(text));
    const openMetrics = writeExposition(collected, { ...options, format: 'openmetrics' });
    expect(openMetrics).not.toContain(NATIVE_SUFFIX);
    expect(checkOpenMetrics(openMetrics).families.map((f) => [f.name, f.type])).toEqual([
      ['app_request_latency_seconds', 'histogram'],
    ]);
  });

  it('pairs the native points by attributes, whatever their order', () => {
    const collected = latencyCollection(
      [
        { attributes: { endpoint: '/a' }, count: 1, sum: 1.25, counts: [0, 1, 0] },
        { attributes: { endpoint: '/b' }, count: 2, sum: 1.25, counts: [2, 0, 0] },
        { attributes: { endpoint: '/c' }, count: 1, sum: 1.25, counts: [1, 0, 0] },
      ],
      [
        { attributes: { endpoint: '/b' }, value: exponential(0, [-5, [2]]) },
        { attributes: { endpoint: '/a' }, value: exponential(0, [0, [1]]) },
      ],
    );
    const families = decode(writeProtobuf(collected, PLAIN));
    expect(families.map((f) => f.name)).toEqual(['app_request_latency_seconds']);
    const spans = families[0]?.metric?.map((m) => [
      m.label?.[0]?.value,
      m.histogram?.positiveSpan,
      m.histogram?.positiveDelta,
    ]);
    expect(spans).toEqual([
      ['/a', [{ offset: 1, length: 1 }], [1]],
      ['/b', [{ offset: -4, length: 1 }], [2]],
      // No native point of these attributes: classic buckets only.
      ['/c', undefined, undefined],
    ]);
  });

  it('writes the classic buckets alone, and says so, when the two halves disagree on the count', () => {
    const collected = latencyCollection(
      [{ attributes: {}, count: 3, sum: Infinity, counts: [1, 1, 1] }],
      [{ attributes: {}, value: exponential(0, [-3, [1, 0, 0, 1]]) }],
    );
    const warnings: string[] = [];
    const families = decode(writeProtobuf(collected, { ...PLAIN, warn: (k) => warnings.push(k) }));
    expect(families[0]?.metric?.[0]?.histogram).toEqual({
      sampleCount: 3,
      sampleSum: Infinity,
      bucket: [
        { cumulativeCount: 1, upperBound: 0.1 },
        { cumulativeCount: 2, upperBound: 1 },
        { cumulativeCount: 3, upperBound: Infinity },
      ],
    });
    expect(warnings).toEqual(['native-count:app_request_latency_seconds']);
  });

  it('writes a scale below -4 as count and sum, and says so', () => {
    const collected = latencyCollection(
      [],
      [{ attributes: {}, value: exponential(-5, [0, [2, 1]]) }],
      'app_request_latency_seconds',
    );
    const warnings: string[] = [];
    const families = decode(writeProtobuf(collected, { ...PLAIN, warn: (k) => warnings.push(k) }));
    expect(families[0]?.metric?.[0]?.histogram).toEqual({
      sampleCount: 3,
      sampleSum: 1.25,
      bucket: [{ cumulativeCount: 3, upperBound: Infinity }],
    });
    expect(warnings).toEqual(['native-schema:app_request_latency_seconds']);
    expect(asTextLines(families)).toEqual(textLines(writeExposition(collected, PLAIN)));
  });

  it('names a native histogram in the semconv naming as the classic one', () => {
    const collected: Collected = {
      resource: { attributes: {} },
      scopeMetrics: [
        {
          scope: { name: METER_NAME },
          metrics: [
            {
              descriptor: { name: 'http.server.request.duration', description: 'D.', unit: 's' },
              dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
              dataPoints: [{ attributes: { 'http.route': '/a' }, value: exponential(1, [0, [1]]) }],
            },
          ],
        },
      ],
    };
    const options = { ...PLAIN, naming: 'semconv' } as const;
    const families = decode(writeProtobuf(collected, options));
    expect(families.map((f) => [f.name, f.type, f.unit])).toEqual([
      ['http_server_request_duration_seconds', 'HISTOGRAM', 'seconds'],
    ]);
    expect(families[0]?.metric?.[0]?.histogram).toMatchObject({
      schema: 1,
      positiveSpan: [{ offset: 1, length: 1 }],
    });
    expect(writeExposition(collected, options)).toBe(
      '# HELP http_server_request_duration_seconds D.\n# UNIT http_server_request_duration_seconds s\n# TYPE http_server_request_duration_seconds histogram\nhttp_server_request_duration_seconds_count{http_route="/a"} 1\nhttp_server_request_duration_seconds_sum{http_route="/a"} 1.25\nhttp_server_request_duration_seconds_bucket{http_route="/a",le="+Inf"} 1\n',
    );
  });
});

describe('writeProtobufInSlices', () => {
  it('gives the event loop turns while it writes, and writes the same bytes', async () => {
    const collected = await collect((provider) => {
      const latency = provider.getMeter('slices').createHistogram('latency');
      const count = provider.getMeter('slices').createCounter('count');
      for (let i = 0; i < 2000; i++) {
        latency.record(i / 1000, { endpoint: `/route${i}` });
        count.add(i, { endpoint: `/route${i}` });
      }
    });
    const options = { targetInfo: true, scopeInfo: true };
    const bytes = writeProtobuf(collected, options);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const sliced = await writeProtobufInSlices(collected, options, 0);
    clearInterval(ticker);
    expect(sliced.equals(bytes)).toBe(true);
    expect(turns).toBeGreaterThan(1);
    const families = decode(bytes);
    expect(families.map((f) => [f.name, f.metric?.length])).toEqual([
      ['target_info', 1],
      ['latency', 2000],
      ['count_total', 2000],
    ]);
  });
});
