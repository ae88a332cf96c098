import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  AggregationType,
  MeterProvider,
  type ResourceMetrics,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import type { Naming } from '../../../src/catalogue';
import { COLLECTORS } from '../../../src/collectors/index';
import { kindOf, NATIVE_SUFFIX } from '../../../src/export/collected';
import { canonicalBound } from '../../../src/export/openmetrics-format';
import { prometheusName, prometheusType } from '../../../src/export/prometheus-name';
import { metricName } from '../../../src/export/text-format';
import { writeExposition, writeExpositionInSlices } from '../../../src/export/writer';
import { INSTRUMENTS, METER_NAME, SEMCONV_METRICS } from '../../../src/names';
import { LABELS, SEMCONV_ATTRIBUTES } from '../../../src/labels';
import { resolveOptions } from '../../../src/options/resolve';
import { hasProc } from '../../../src/platform/proc';
import { viewsFor } from '../../../src/views';
import {
  expositionLines,
  parseExposition,
  samplesOf,
  typeOf,
  valueOf,
} from '../../helpers/exposition';
import { checkOpenMetrics } from '../../helpers/openmetrics';
import { checkMetrics, findPromtool } from '../../helpers/promtool';

const SETTINGS = [
  { targetInfo: false, scopeInfo: false },
  { targetInfo: true, scopeInfo: true },
  { targetInfo: true, scopeInfo: false },
  { targetInfo: false, scopeInfo: true },
];

/** The stock serializer, configured as exposition.ts configured it before our writer. */
function stock(data: ResourceMetrics, options: { targetInfo: boolean; scopeInfo: boolean }) {
  return new PrometheusSerializer(
    '',
    false,
    undefined,
    !options.targetInfo,
    !options.scopeInfo,
  ).serialize(data);
}

/**
 * The stock serializer's text with each family named and typed as the `semconv` naming writes it
 * (`prometheus-name.ts`): what our writer must write in that naming, every other byte the same.
 */
function stockTranslated(
  data: ResourceMetrics,
  options: { targetInfo: boolean; scopeInfo: boolean },
): string {
  const families = new Map<string, { name: string; type: string; histogram: boolean }>();
  for (const { metrics } of data.scopeMetrics) {
    for (const metric of metrics) {
      const kind = kindOf(metric);
      const stockName = metricName(metric.descriptor.name) as string;
      const name = prometheusName(metric.descriptor.name, metric.descriptor.unit, kind) as string;
      families.set(
        kind === 'counter' && !stockName.endsWith('_total') ? `${stockName}_total` : stockName,
        {
          name,
          type: prometheusType(name, kind),
          histogram: kind === 'histogram',
        },
      );
    }
  }
  const lines = stock(data, options).split('\n');
  return lines
    .map((line) => {
      const meta = /^# (HELP|UNIT|TYPE) (\S+) (.*)$/.exec(line);
      if (meta !== null) {
        const [, what, old, rest] = meta as unknown as [string, string, string, string];
        const family = families.get(old);
        if (family === undefined) return line;
        return `# ${what} ${family.name} ${what === 'TYPE' ? family.type : rest}`;
      }
      const sample = /^([a-zA-Z0-9_:]+)(.*)$/.exec(line);
      if (sample === null) return line;
      const [, old, rest] = sample as unknown as [string, string, string];
      const family = families.get(old);
      if (family !== undefined) return `${family.name}${rest}`;
      const part = /^(.*)(_bucket|_count|_sum)$/.exec(old);
      const histogram = part === null ? undefined : families.get(part[1] as string);
      return histogram?.histogram === true ? `${histogram.name}${part![2]}${rest}` : line;
    })
    .join('\n');
}

/** A provider read by a Prometheus reader, with the package's Views, as `registerMetrics` builds it. */
async function collect(
  record: (provider: MeterProvider) => (() => void) | void,
  views: ViewOptions[] = [],
  naming: Naming = 'prometheus',
): Promise<ResourceMetrics> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [reader],
    views: [...viewsFor(resolveOptions({ naming })), ...views],
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

const AWKWARD_VALUES = [
  'plain',
  'say "hi"',
  'back\\slash',
  'new\nline',
  'all "three"\\\n',
  'ünïcödé 😀 日本',
  '',
  '} 1\nfake_metric 2',
];

/** Counters, histograms with many label sets, gauges, awkward names and values. */
function recordVaried(provider: MeterProvider): void {
  const meter = provider.getMeter(METER_NAME);
  const latency = meter.createHistogram(INSTRUMENTS.requestLatency, {
    description: 'Application request latency.',
    unit: 's',
  });
  const count = meter.createCounter(INSTRUMENTS.requestCount, {
    description: 'Application request count.',
  });
  for (const [e, endpoint] of ['/', '/users/:id', ...AWKWARD_VALUES].entries()) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const labels = { [LABELS.method]: method, [LABELS.endpoint]: endpoint };
      for (let k = 0; k <= e; k++) {
        latency.record((k * 0.37 + e * 0.011) % 12, labels);
        count.add(1, { ...labels, [LABELS.httpStatus]: k % 2 === 0 ? '200' : '503' });
      }
    }
  }
  latency.record(0, { [LABELS.method]: 'GET', [LABELS.endpoint]: '/zero' });

  const other = provider.getMeter('other.scope "x"', '2.0.0', { schemaUrl: 'https://x.test/s' });
  const odd = other.createCounter('my.metric-name', {
    description: 'A name with dots\\dashes and a\nnewline "quoted"',
    unit: 'By',
  });
  odd.add(0, { 'http.route': '/a', 'weird-key': 'v' });
  odd.add(1e21, { 'http.route': '/big' });
  odd.add(0.1 + 0.2, { 'http.route': '/float' });
  odd.add(Infinity, { 'http.route': '/inf' });
  for (const value of AWKWARD_VALUES) odd.add(3, { 'http.route': value });
  odd.add(2, { number: 42, flag: true, list: ['a', 'b"c'] });
  meter.createCounter('already_total', { description: 'Ends in _total.' }).add(7);
  meter.createCounter('9lives', { description: 'Starts with a digit.' }).add(9);
  // The same family from two scopes: one HELP and TYPE, the series of both.
  meter.createCounter('shared.events', { description: 'First words.' }).add(1, { from: 'a' });
  other.createCounter('shared.events', { description: 'Other words.' }).add(2, { from: 'b' });

  const gauge = meter.createGauge('temperature_celsius', { description: 'A gauge.' });
  gauge.record(-273.15, { where: 'space' });
  gauge.record(NaN, { where: 'unknown' });
  gauge.record(-Infinity, { where: 'below' });
  gauge.record(1.5e-9, { where: 'tiny' });
  gauge.record(123456789012, { where: 'large' });
  meter
    .createObservableGauge('queue_depth', { description: 'An observable gauge.' })
    .addCallback((result) => {
      result.observe(3, { queue: 'a' });
      result.observe(0, { queue: 'b"\\' });
    });
  const balance = meter.createUpDownCounter('balance', { description: 'Goes down too.' });
  balance.add(-5, { account: 'x' });
  balance.add(2, { account: 'y' });
  // An UpDownCounter aggregated as a histogram has no sum.
  const swing = meter.createUpDownCounter('swing', { description: 'No _sum.', unit: 'm' });
  swing.add(-3);
  swing.add(2.5);
  swing.add(40);
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

/** The package's own collectors and request series in `naming`, as an app scrape shows them. */
function recordCollectors(naming: Naming = 'prometheus') {
  return (provider: MeterProvider): (() => void) => {
    const meter = provider.getMeter(METER_NAME);
    const options = resolveOptions({ appVersion: 'v1 "q"', appConfig: 'a\\b\nc', naming });
    const stops = COLLECTORS.map((collector) =>
      collector.start({ meter, meterProvider: provider, options, guard: (fn) => fn }),
    );
    const semconv = naming === 'semconv';
    const latency = semconv
      ? meter.createHistogram(SEMCONV_METRICS.requestDuration, {
          description: 'Duration of HTTP server requests.',
          unit: 's',
        })
      : meter.createHistogram(INSTRUMENTS.requestLatency, {
          description: 'Application request latency.',
          unit: 's',
        });
    for (let i = 0; i < 50; i++) {
      latency.record(
        i / 17,
        semconv
          ? {
              [SEMCONV_ATTRIBUTES.httpRequestMethod]: 'GET',
              [SEMCONV_ATTRIBUTES.httpRoute]: `/r${i % 7}`,
              [SEMCONV_ATTRIBUTES.httpResponseStatusCode]: 200,
            }
          : { [LABELS.method]: 'GET', [LABELS.endpoint]: `/r${i % 7}` },
      );
    }
    return () => stops.forEach((stop) => stop());
  };
}

describe('writeExposition against the stock PrometheusSerializer', () => {
  let varied: ResourceMetrics;
  let collectors: ResourceMetrics;
  beforeAll(async () => {
    varied = await collect(recordVaried, VARIED_VIEWS);
    collectors = await collect(recordCollectors());
  });

  describe.each(SETTINGS)('with %o', (options) => {
    it('writes the same samples, HELP, UNIT and TYPE lines for varied data', () => {
      const ours = writeExposition(varied, options);
      expect(expositionLines(ours)).toEqual(expositionLines(stock(varied, options)));
      expect(expositionLines(ours).samples.length).toBeGreaterThan(300);
    });

    it('writes the same samples for the package collectors and request series', () => {
      const ours = writeExposition(collectors, options);
      expect(expositionLines(ours)).toEqual(expositionLines(stock(collectors, options)));
    });

    it('writes them in the same order, byte for byte', () => {
      expect(writeExposition(varied, options)).toBe(stock(varied, options));
      expect(writeExposition(collectors, options)).toBe(stock(collectors, options));
    });
  });

  it('shows a scraper the names, labels and values that were recorded', () => {
    const text = writeExposition(varied, { targetInfo: false, scopeInfo: false });
    expect(valueOf(text, 'my_metric_name_total', { http_route: '/big' })).toBe(1e21);
    // The helper's parser reads numbers only, so the infinities are checked as written.
    expect(text).toMatch(/^my_metric_name_total\{http_route="\/inf"\} \+Inf$/m);
    for (const value of AWKWARD_VALUES) {
      expect(valueOf(text, 'my_metric_name_total', { http_route: value })).toBe(3);
    }
    expect(valueOf(text, 'my_metric_name_total', { number: '42', flag: 'true' })).toBe(2);
    expect(samplesOf(text, 'my_metric_name_total', { number: '42' })[0]?.labels.list).toBe(
      '["a","b\\"c"]',
    );
    expect(valueOf(text, 'already_total')).toBe(7);
    expect(valueOf(text, '_9lives_total')).toBe(9);
    expect(valueOf(text, 'temperature_celsius', { where: 'unknown' })).toBeNaN();
    expect(text).toMatch(/^temperature_celsius\{where="below"\} -Inf$/m);
    expect(valueOf(text, 'balance', { account: 'x' })).toBe(-5);
    expect(samplesOf(text, 'swing_sum')).toEqual([]);
    expect(valueOf(text, 'swing_bucket', { le: '0' })).toBe(1);
    expect(valueOf(text, 'swing_bucket', { le: '+Inf' })).toBe(3);
    expect(text).toContain('# TYPE balance gauge\n');
    expect(text).toContain('# TYPE app_request_latency_seconds histogram\n');
    expect(text).toContain('# UNIT app_request_latency_seconds s\n');
    expect(text).toContain(
      '# HELP my_metric_name_total A name with dots\\\\dashes and a\\nnewline "quoted"\n',
    );
    expect(text.match(/^# TYPE shared_events_total /gm)).toHaveLength(1);
    const buckets = samplesOf(text, 'app_request_latency_seconds_bucket', { endpoint: '/zero' });
    expect(buckets.map((s) => s.labels.le)).toEqual([
      ...resolveOptions({}).latencyBuckets.map(String),
      '+Inf',
    ]);
    expect(buckets.every((s) => s.value === 1)).toBe(true);
  });

  it('adds target_info and the scope labels when asked', () => {
    const text = writeExposition(varied, { targetInfo: true, scopeInfo: true });
    expect(text.startsWith('# HELP target_info Target metadata\n# TYPE target_info gauge\n')).toBe(
      true,
    );
    expect(samplesOf(text, 'target_info')[0]?.labels.telemetry_sdk_language).toBe('nodejs');
    expect(samplesOf(text, 'shared_events_total', { from: 'b' })[0]?.labels).toEqual({
      from: 'b',
      otel_scope_name: 'other.scope "x"',
      otel_scope_schema_url: 'https://x.test/s',
      otel_scope_version: '2.0.0',
    });
    expect(samplesOf(text, 'swing_bucket', { le: '+Inf' })[0]?.labels).toEqual({
      otel_scope_name: METER_NAME,
      le: '+Inf',
    });
  });

  it('matches it on the edges: nothing recorded, a conflict of types', async () => {
    const empty = await collect(() => undefined);
    const record = (provider: MeterProvider): void => {
      const meter = provider.getMeter('edges');
      meter.createGauge('clash_total').record(1);
      meter.createCounter('clash').add(1);
      meter.createHistogram('spread').record(3);
      meter.createGauge('target_info', { unit: 'things' }).record(5, { own: 'yes' });
      meter.createCounter('a__b').add(1);
    };
    const edges = await collect(record);
    for (const options of SETTINGS) {
      expect(writeExposition(empty, options)).toBe(stock(empty, options));
      expect(writeExposition(edges, options)).toBe(stock(edges, options));
    }
    expect(writeExposition(empty, SETTINGS[0] as (typeof SETTINGS)[0])).toBe(
      '# no registered metrics',
    );

    const warnings: string[] = [];
    const text = writeExposition(edges, {
      targetInfo: false,
      scopeInfo: false,
      warn: (key) => warnings.push(key),
    });
    expect(samplesOf(text, 'clash_total')).toEqual([]);
    expect(valueOf(text, 'a_b_total')).toBe(1);
    expect(warnings.sort()).toEqual(['type:clash_total']);

    // An exponential histogram, which the stock serializer writes as an untyped family without
    // samples, is a histogram of its count and sum; the rest is the stock text still.
    const exponential = await collect(record, [
      { instrumentName: 'spread', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
    ]);
    for (const options of SETTINGS) {
      const stockText = stock(exponential, options);
      expect(stockText).toContain('# TYPE spread untyped\n');
      const ours = writeExposition(exponential, options);
      const scope = options.scopeInfo ? '{otel_scope_name="edges"}' : '';
      const inf = options.scopeInfo ? '{otel_scope_name="edges",le="+Inf"}' : '{le="+Inf"}';
      expect(ours).toBe(
        stockText.replace(
          '# TYPE spread untyped\n',
          `# TYPE spread histogram\nspread_count${scope} 1\nspread_sum${scope} 3\nspread_bucket${inf} 1\n`,
        ),
      );
    }
  });
});

describe('writeExposition in the semconv naming', () => {
  let varied: ResourceMetrics;
  let collectors: ResourceMetrics;
  beforeAll(async () => {
    varied = await collect(recordVaried, VARIED_VIEWS, 'semconv');
    collectors = await collect(recordCollectors('semconv'), [], 'semconv');
  });

  it.each(SETTINGS)(
    "writes the stock serializer's text under the families of Prometheus' OTLP translation, with %o",
    (options) => {
      const semconv = { ...options, naming: 'semconv' } as const;
      expect(writeExposition(collectors, semconv)).toBe(stockTranslated(collectors, options));
      expect(writeExposition(varied, semconv)).toBe(stockTranslated(varied, options));
      // The comparison is not empty: the translation renames, where OpenTelemetry JS' does not.
      expect(writeExposition(collectors, semconv)).not.toBe(stock(collectors, options));
    },
  );

  it('writes the names and types a scraper sees', () => {
    const text = writeExposition(collectors, {
      targetInfo: false,
      scopeInfo: false,
      naming: 'semconv',
    });
    const family = 'http_server_request_duration_seconds';
    expect(typeOf(text, family)).toBe('histogram');
    // The UNIT line keeps the OTel unit, as Prometheus' metadata of an OTLP metric does.
    expect(text).toContain(`# UNIT ${family} s\n`);
    expect(valueOf(text, `${family}_count`, { http_route: '/r0' })).toBe(8);
    expect(typeOf(text, 'process_cpu_time_seconds_total')).toBe('counter');
    expect(typeOf(text, 'nodejs_eventloop_utilization_ratio')).toBe('gauge');
    expect(typeOf(text, 'v8js_memory_heap_used_bytes')).toBe('gauge');
    if (hasProc()) expect(typeOf(text, 'process_unix_file_descriptor_count')).toBe('untyped');
    expect(text).not.toMatch(/^# TYPE http_server_request_duration /m);

    const odd = writeExposition(varied, { targetInfo: false, scopeInfo: false, naming: 'semconv' });
    expect(valueOf(odd, 'my_metric_name_bytes_total', { http_route: '/big' })).toBe(1e21);
    expect(valueOf(odd, 'swing_meters_bucket', { le: '+Inf' })).toBe(3);
    expect(valueOf(odd, '_9lives_total')).toBe(9);
    expect(odd.match(/^# TYPE shared_events_total counter$/gm)).toHaveLength(1);
  });

  it('leaves the Prometheus naming as the stock serializer writes it', () => {
    const prometheus = { targetInfo: false, scopeInfo: false, naming: 'prometheus' } as const;
    expect(writeExposition(varied, prometheus)).toBe(stock(varied, prometheus));
  });
});

/**
 * The samples of the text format as OpenMetrics writes them: `le` canonical, and no `_count` of a
 * histogram point without a `_sum`. Each as `name{labels} value`, labels sorted.
 */
function asOpenMetrics(text: string): string[] {
  const samples = parseExposition(text);
  const key = (name: string, labels: Record<string, string>): string =>
    `${name}${JSON.stringify(Object.entries(labels).sort())}`;
  const sums = new Set(
    samples.filter((s) => s.name.endsWith('_sum')).map((s) => key(s.name.slice(0, -4), s.labels)),
  );
  const histograms = new Set(
    samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.name.slice(0, -7)),
  );
  return samples
    .filter((s) => {
      if (!s.name.endsWith('_count')) return true;
      const family = s.name.slice(0, -6);
      return !histograms.has(family) || sums.has(key(family, s.labels));
    })
    .map((s) => {
      const labels = { ...s.labels };
      if (s.name.endsWith('_bucket') && labels.le !== undefined && labels.le !== '+Inf') {
        labels.le = canonicalBound(Number(labels.le));
      }
      return `${key(s.name, labels)} ${s.value}`;
    })
    .sort();
}

describe('writeExposition in OpenMetrics, for the SDK data of the text format tests', () => {
  let data: Array<[string, Naming, ResourceMetrics]>;
  beforeAll(async () => {
    data = [
      ['varied', 'prometheus', await collect(recordVaried, VARIED_VIEWS)],
      ['collectors', 'prometheus', await collect(recordCollectors())],
      ['varied', 'semconv', await collect(recordVaried, VARIED_VIEWS, 'semconv')],
      ['collectors', 'semconv', await collect(recordCollectors('semconv'), [], 'semconv')],
    ];
  });

  it.each(SETTINGS)(
    'is valid OpenMetrics with the series and values of the text format, with %o',
    (options) => {
      for (const [name, naming, collected] of data) {
        const text = writeExposition(collected, { ...options, naming });
        const openMetrics = writeExposition(collected, {
          ...options,
          naming,
          format: 'openmetrics',
        });
        const { families, samples } = checkOpenMetrics(openMetrics);
        expect([name, families.length]).toEqual([
          name,
          expositionLines(text).metadata.filter((l) => l.startsWith('# TYPE')).length,
        ]);
        const written = samples.map(
          (s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${Number(s.value)}`,
        );
        expect([name, naming, written.sort()]).toEqual([name, naming, asOpenMetrics(text)]);
      }
    },
  );

  it('names, types and measures the families as OpenMetrics does', () => {
    const byName = (naming: Naming, which: string) => {
      const found = data.find(([name, n]) => name === which && n === naming);
      const text = writeExposition(found?.[2] as ResourceMetrics, {
        targetInfo: true,
        scopeInfo: false,
        naming,
        format: 'openmetrics',
      });
      return new Map(checkOpenMetrics(text).families.map((f) => [f.name, f]));
    };
    const prometheus = byName('prometheus', 'collectors');
    expect(prometheus.get('target')).toMatchObject({ type: 'info', help: 'Target metadata' });
    expect(prometheus.get('app_request_latency_seconds')).toMatchObject({
      type: 'histogram',
      unit: 'seconds',
    });
    expect(prometheus.get('process_cpu_seconds')).toMatchObject({
      type: 'counter',
      unit: 'seconds',
    });
    if (hasProc()) {
      expect(prometheus.get('process_virtual_memory_bytes')).toMatchObject({
        type: 'gauge',
        unit: 'bytes',
      });
    }
    expect(prometheus.get('app_version_info')).toMatchObject({ type: 'gauge' });
    expect(prometheus.get('app_version_info')?.unit).toBeUndefined();
    const semconv = byName('semconv', 'collectors');
    expect(semconv.get('http_server_request_duration_seconds')).toMatchObject({
      type: 'histogram',
      unit: 'seconds',
    });
    expect(semconv.get('process_cpu_time_seconds')).toMatchObject({
      type: 'counter',
      unit: 'seconds',
    });
    expect(semconv.get('nodejs_eventloop_utilization_ratio')).toMatchObject({ type: 'gauge' });
    expect(semconv.get('nodejs_eventloop_utilization_ratio')?.unit).toBeUndefined();
    // Untyped in the text format for promtool's lint alone; a gauge in OpenMetrics.
    if (hasProc()) {
      expect(semconv.get('process_unix_file_descriptor_count')).toMatchObject({ type: 'gauge' });
    }
    const varied = byName('prometheus', 'varied');
    // `By` on a counter named without it: no UNIT; the unit-less counter family lost `_total`.
    expect(varied.get('my_metric_name')).toMatchObject({ type: 'counter' });
    expect(varied.get('my_metric_name')?.unit).toBeUndefined();
    expect(varied.get('swing')?.unit).toBeUndefined();
  });
});

const promtool = findPromtool();
(promtool === undefined ? describe.skip : describe)('promtool check metrics', () => {
  it.each<[string, Naming, () => Promise<ResourceMetrics>]>([
    ['the package collectors and request series', 'prometheus', () => collect(recordCollectors())],
    ['the varied data', 'prometheus', () => collect(recordVaried, VARIED_VIEWS)],
    [
      'the package collectors and request series',
      'semconv',
      () => collect(recordCollectors('semconv'), [], 'semconv'),
    ],
    ['the varied data', 'semconv', () => collect(recordVaried, VARIED_VIEWS, 'semconv')],
  ])('accepts our exposition of %s in the %s naming, lint-clean', async (_name, naming, data) => {
    const collected = await data();
    for (const options of SETTINGS) {
      const text = writeExposition(collected, { ...options, naming });
      expect(checkMetrics(promtool as string, text)).toEqual({ status: 0, output: '' });
    }
  });
});

(promtool === undefined ? describe.skip : describe)(
  'promtool check metrics, native histograms',
  () => {
    it('accepts them as their count and sum, alone or beside their classic buckets', async () => {
      const collected = await collect(
        (provider) => {
          const meter = provider.getMeter('native');
          const job = meter.createHistogram('job_duration', { unit: 's', description: 'Jobs.' });
          const wait = meter.createHistogram('queue_wait', { unit: 's', description: 'Waits.' });
          for (let i = 0; i < 20; i++) {
            job.record(i / 7, { job: `j${i % 3}` });
            wait.record(i / 3, { queue: `q${i % 2}` });
          }
        },
        [
          {
            instrumentName: 'job_duration',
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries: [0.5, 1] },
            },
          },
          {
            instrumentName: 'job_duration',
            name: `job_duration${NATIVE_SUFFIX}`,
            aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
          },
          {
            instrumentName: 'queue_wait',
            aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
          },
        ],
      );
      for (const options of SETTINGS) {
        const text = writeExposition(collected, options);
        expect(text).not.toContain(NATIVE_SUFFIX);
        expect(typeOf(text, 'queue_wait')).toBe('histogram');
        expect(valueOf(text, 'queue_wait_bucket', { queue: 'q0', le: '+Inf' })).toBe(10);
        expect(valueOf(text, 'job_duration_bucket', { job: 'j0', le: '1' })).toBe(3);
        expect(checkMetrics(promtool as string, text)).toEqual({ status: 0, output: '' });
      }
    });
  },
);

describe('writeExpositionInSlices', () => {
  it('is the UTF-8 encoding of writeExposition, non-ASCII labels included', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    const counter = provider.getMeter('bytes').createCounter('requests');
    counter.add(3, { endpoint: '/ünïcödé/✓', quote: 'say "hi"\n' });
    counter.add(1, { endpoint: '/plain' });
    try {
      const { resourceMetrics } = await reader.collect();
      const options = { targetInfo: false, scopeInfo: false };
      const text = writeExposition(resourceMetrics, options);
      expect(text).toContain('✓');
      const body = await writeExpositionInSlices(resourceMetrics, options, 5);
      expect(Buffer.concat(body.chunks).equals(Buffer.from(text, 'utf8'))).toBe(true);
      body.release();
    } finally {
      await provider.shutdown();
    }
  });

  it('gives the event loop turns while it writes, and writes the same bytes', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [reader] });
    const latency = provider.getMeter('slices').createHistogram('latency');
    for (let i = 0; i < 2000; i++) latency.record(i / 1000, { endpoint: `/route${i}` });
    try {
      const { resourceMetrics } = await reader.collect();
      const options = { targetInfo: false, scopeInfo: false };
      const text = writeExposition(resourceMetrics, options);
      let turns = 0;
      const ticker = setInterval(() => turns++, 0);
      // A slice of 0 ms gives a turn at every check (every 64 points): about 30 here.
      const body = await writeExpositionInSlices(resourceMetrics, options, 0);
      clearInterval(ticker);
      expect(Buffer.concat(body.chunks).equals(Buffer.from(text, 'utf8'))).toBe(true);
      expect(turns).toBeGreaterThan(1);
      // About 2 MB, in chunks of at most a mebibyte, each ending on a whole line.
      expect(body.chunks.length).toBeGreaterThanOrEqual(2);
      for (const chunk of body.chunks) expect(chunk[chunk.length - 1]).toBe(0x0a);
      body.release();
    } finally {
      await provider.shutdown();
    }
  });
});
