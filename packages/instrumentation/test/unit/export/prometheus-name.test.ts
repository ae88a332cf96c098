import { ENTRIES, seriesOf, type InstrumentKind, type SeriesDef } from '../../../src/catalogue';
import { escapeName } from '../../../src/export/escaping';
import {
  prometheusName,
  prometheusType,
  prometheusUnit,
  utf8PrometheusName,
} from '../../../src/export/prometheus-name';
import { checkMetrics, findPromtool } from '../../helpers/promtool';

/** Every series the package records in `naming: 'semconv'`, from the catalogue. */
const SEMCONV_SERIES: SeriesDef[] = ENTRIES.flatMap((entry) => {
  const series = seriesOf(entry, 'semconv');
  return series === undefined ? [] : [series];
});

/**
 * What the endpoint writes for each of them in that naming, by the OTel name OTLP carries: the
 * name Prometheus' OTLP receiver gives the same metric, and the `# TYPE` line. Written out here,
 * not computed, so that a change of rule or of a series shows as a change of this table.
 */
const EXPECTED: Record<string, [name: string, type: string]> = {
  'http.server.request.duration': ['http_server_request_duration_seconds', 'histogram'],
  'http.server.active_requests': ['http_server_active_requests', 'gauge'],
  'http.server.request.body.size': ['http_server_request_body_size_bytes', 'histogram'],
  'http.server.response.body.size': ['http_server_response_body_size_bytes', 'histogram'],
  app_version_info: ['app_version_info', 'gauge'],
  app_scrapes_rejected: ['app_scrapes_rejected_total', 'counter'],
  app_cluster_workers: ['app_cluster_workers', 'gauge'],
  app_cluster_workers_unresponsive: ['app_cluster_workers_unresponsive', 'gauge'],
  'process.cpu.time': ['process_cpu_time_seconds_total', 'counter'],
  'process.memory.usage': ['process_memory_usage_bytes', 'gauge'],
  'process.memory.virtual': ['process_memory_virtual_bytes', 'gauge'],
  'process.uptime': ['process_uptime_seconds', 'gauge'],
  // The translator's name, `_count` and all; untyped, the one TYPE promtool accepts it with.
  'process.unix.file_descriptor.count': ['process_unix_file_descriptor_count', 'untyped'],
  process_max_fds: ['process_max_fds', 'gauge'],
  nodejs_version_info: ['nodejs_version_info', 'gauge'],
  'v8js.gc.duration': ['v8js_gc_duration_seconds', 'histogram'],
  'nodejs.eventloop.delay.min': ['nodejs_eventloop_delay_min_seconds', 'gauge'],
  'nodejs.eventloop.delay.max': ['nodejs_eventloop_delay_max_seconds', 'gauge'],
  'nodejs.eventloop.delay.mean': ['nodejs_eventloop_delay_mean_seconds', 'gauge'],
  'nodejs.eventloop.delay.stddev': ['nodejs_eventloop_delay_stddev_seconds', 'gauge'],
  'nodejs.eventloop.delay.p50': ['nodejs_eventloop_delay_p50_seconds', 'gauge'],
  'nodejs.eventloop.delay.p90': ['nodejs_eventloop_delay_p90_seconds', 'gauge'],
  'nodejs.eventloop.delay.p99': ['nodejs_eventloop_delay_p99_seconds', 'gauge'],
  'nodejs.eventloop.utilization': ['nodejs_eventloop_utilization_ratio', 'gauge'],
  nodejs_external_memory_bytes: ['nodejs_external_memory_bytes', 'gauge'],
  'v8js.memory.heap.space.size': ['v8js_memory_heap_space_size_bytes', 'gauge'],
  'v8js.memory.heap.used': ['v8js_memory_heap_used_bytes', 'gauge'],
  'v8js.memory.heap.space.available_size': ['v8js_memory_heap_space_available_size_bytes', 'gauge'],
  'v8js.resource.active': ['v8js_resource_active', 'gauge'],
};

describe('the Prometheus names of the semconv naming', () => {
  it("are Prometheus' OTLP translation of every series of the catalogue", () => {
    const written = Object.fromEntries(
      SEMCONV_SERIES.map((series) => {
        const name = prometheusName(series.name, series.unit, series.kind);
        return [
          series.name,
          [name, name === undefined ? undefined : prometheusType(name, series.kind)],
        ];
      }),
    );
    expect(written).toEqual(EXPECTED);
  });

  it('are distinct, so no two series share a family', () => {
    const names = Object.values(EXPECTED).map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('prometheusName: the rules of otlptranslator (UnderscoreEscapingWithSuffixes)', () => {
  it.each<[string, string, InstrumentKind | undefined, string | undefined]>([
    // Words: cut at anything outside [a-zA-Z0-9:], underscores too; empty words dropped.
    ['a__b..c-d', '', 'gauge', 'a_b_c_d'],
    ['ns:requests.in_flight', '', 'gauge', 'ns:requests_in_flight'],
    ['_leading.and.trailing_', '', 'gauge', 'leading_and_trailing'],
    ['ünïcode.näme', '', 'gauge', 'n_code_n_me'],
    // Main units mapped; an unknown one kept, cleaned; a UCUM annotation dropped.
    ['latency', 'ms', 'histogram', 'latency_milliseconds'],
    ['heap', 'MiBy', 'gauge', 'heap_mebibytes'],
    ['temperature', 'Cel', 'gauge', 'temperature_celsius'],
    ['disk.usage', '%', 'gauge', 'disk_usage_percent'],
    ['queue.length', 'items', 'gauge', 'queue_length_items'],
    ['odd', 'my unit!', 'gauge', 'odd_my_unit_'],
    ['x', 'constructor', 'gauge', 'x_constructor'],
    ['connections', '{connection}', 'updown', 'connections'],
    // Per units: `per_` and the per unit's word; unknown ones kept; annotations dropped.
    ['network.io', 'By/s', 'gauge', 'network_io_bytes_per_second'],
    ['requests', '1/s', 'gauge', 'requests_per_second'],
    ['requests', '{request}/s', 'counter', 'requests_per_second_total'],
    ['disk', 'KiBy/min', 'gauge', 'disk_kibibytes_per_min'],
    ['jobs', 'By/{job}', 'gauge', 'jobs_bytes'],
    ['odd', 'my unit!/s', 'gauge', 'odd_my_unit_per_second'],
    // The unit trimmed as Go trims: U+0085 is a space to it, U+FEFF is not.
    ['latency', ' ms ', 'histogram', 'latency_milliseconds'],
    ['latency', '\u0085s', 'gauge', 'latency_seconds'],
    ['latency', '\ufeffs', 'gauge', 'latency_s'],
    // A unit already among the words is not added again, wherever it stands.
    ['process.start_time_seconds', 's', 'gauge', 'process_start_time_seconds'],
    ['seconds.spent', 's', 'counter', 'seconds_spent_total'],
    ['bytes_per_second', 'By/s', 'gauge', 'bytes_per_second_per_second'],
    // `_total` for counters alone, moved to the end.
    ['total.requests', '', 'counter', 'requests_total'],
    ['requests_total', '', 'counter', 'requests_total'],
    ['sessions.total', '', 'updown', 'sessions_total'],
    ['items', '1', 'counter', 'items_total'],
    // `_ratio` for gauges in unit `1` alone: not for an UpDownCounter, nor for `1/s`.
    ['cpu.utilization', '1', 'gauge', 'cpu_utilization_ratio'],
    ['ratio.cpu', '1', 'gauge', 'cpu_ratio'],
    ['cpu.utilization', '1', 'updown', 'cpu_utilization'],
    ['cpu.utilization', '1/s', 'gauge', 'cpu_utilization_per_second'],
    // `_count` of a gauge stays: the translator has no rule for it.
    [
      'process.unix.file_descriptor.count',
      '{file_descriptor}',
      'updown',
      'process_unix_file_descriptor_count',
    ],
    ['system.process.count', '{process}', 'gauge', 'system_process_count'],
    // An exponential histogram takes its unit and no other suffix.
    ['spread', 's', undefined, 'spread_seconds'],
    // A leading digit gains `_`; nothing usable left is no name.
    ['9lives', '', 'counter', '_9lives_total'],
    ['...', 's', 'gauge', 'seconds'],
    ['...', '', 'gauge', undefined],
    ['', '{thing}', 'counter', 'total'],
  ])('%j in %j as %s -> %j', (name, unit, kind, expected) => {
    expect(prometheusName(name, unit, kind)).toBe(expected);
  });
});

describe('utf8PrometheusName: otlptranslator under NoUTF8EscapingWithSuffixes', () => {
  it('keeps the dots of every semconv series, and comes out as the default name under underscores', () => {
    const written = Object.fromEntries(
      SEMCONV_SERIES.map((series) => [
        series.name,
        utf8PrometheusName(series.name, series.unit, series.kind),
      ]),
    );
    expect(written).toEqual({
      'http.server.request.duration': 'http.server.request.duration_seconds',
      'http.server.active_requests': 'http.server.active_requests',
      'http.server.request.body.size': 'http.server.request.body.size_bytes',
      'http.server.response.body.size': 'http.server.response.body.size_bytes',
      app_version_info: 'app_version_info',
      app_scrapes_rejected: 'app_scrapes_rejected_total',
      app_cluster_workers: 'app_cluster_workers',
      app_cluster_workers_unresponsive: 'app_cluster_workers_unresponsive',
      'process.cpu.time': 'process.cpu.time_seconds_total',
      'process.memory.usage': 'process.memory.usage_bytes',
      'process.memory.virtual': 'process.memory.virtual_bytes',
      'process.uptime': 'process.uptime_seconds',
      'process.unix.file_descriptor.count': 'process.unix.file_descriptor.count',
      process_max_fds: 'process_max_fds',
      nodejs_version_info: 'nodejs_version_info',
      'v8js.gc.duration': 'v8js.gc.duration_seconds',
      'nodejs.eventloop.delay.min': 'nodejs.eventloop.delay.min_seconds',
      'nodejs.eventloop.delay.max': 'nodejs.eventloop.delay.max_seconds',
      'nodejs.eventloop.delay.mean': 'nodejs.eventloop.delay.mean_seconds',
      'nodejs.eventloop.delay.stddev': 'nodejs.eventloop.delay.stddev_seconds',
      'nodejs.eventloop.delay.p50': 'nodejs.eventloop.delay.p50_seconds',
      'nodejs.eventloop.delay.p90': 'nodejs.eventloop.delay.p90_seconds',
      'nodejs.eventloop.delay.p99': 'nodejs.eventloop.delay.p99_seconds',
      'nodejs.eventloop.utilization': 'nodejs.eventloop.utilization_ratio',
      nodejs_external_memory_bytes: 'nodejs_external_memory_bytes',
      'v8js.memory.heap.space.size': 'v8js.memory.heap.space.size_bytes',
      'v8js.memory.heap.used': 'v8js.memory.heap.used_bytes',
      'v8js.memory.heap.space.available_size': 'v8js.memory.heap.space.available_size_bytes',
      'v8js.resource.active': 'v8js.resource.active',
    });
    // What a scraper without UTF-8 gets is what the default strategy serves everyone.
    for (const [otelName, [legacy]] of Object.entries(EXPECTED)) {
      expect([otelName, escapeName(written[otelName] as string, 'underscores')]).toEqual([
        otelName,
        legacy,
      ]);
    }
  });

  it.each<[string, string, InstrumentKind | undefined, string | undefined]>([
    // Not cut into words: underscores and other characters stay.
    ['a__b..c-d', '', 'gauge', 'a__b..c-d'],
    // The unit is appended unless the name ends in it, mapped but not cleaned.
    ['network.bytes', 'By', 'counter', 'network.bytes_total'],
    ['foo.dotted', 'madeup', 'counter', 'foo.dotted_madeup_total'],
    ['disk.io', 'By/s', 'counter', 'disk.io_bytes_per_second_total'],
    ['rate.per_second', '1/s', 'gauge', 'rate_per_second'],
    ['queue.depth', '{item}', 'gauge', 'queue.depth'],
    // A trailing `total` or `ratio` after any one character is replaced by the suffix.
    ['requests.total', '', 'counter', 'requests_total'],
    ['cache.hit.ratio', '1', 'gauge', 'cache.hit_ratio'],
    ['cache.hit', '1', 'updown', 'cache.hit'],
    // An exponential histogram (no kind here) takes the unit only.
    ['http.server.request.duration', 's', undefined, 'http.server.request.duration_seconds'],
    ['', 's', 'gauge', undefined],
  ])('%p in %p (%p) is %p', (name, unit, kind, expected) => {
    expect(utf8PrometheusName(name, unit, kind)).toBe(expected);
  });
});

describe('prometheusType', () => {
  it("is the kind's, but untyped for a gauge whose name ends in another type's suffix", () => {
    expect(prometheusType('a_seconds', 'histogram')).toBe('histogram');
    expect(prometheusType('a_total', 'counter')).toBe('counter');
    expect(prometheusType('a_bytes', 'gauge')).toBe('gauge');
    expect(prometheusType('a_bytes', 'updown')).toBe('gauge');
    expect(prometheusType('a_counter', 'updown')).toBe('gauge');
    expect(prometheusType('a_seconds', undefined)).toBe('untyped');
    for (const suffix of ['_count', '_sum', '_bucket', '_total']) {
      expect(prometheusType(`a${suffix}`, 'gauge')).toBe('untyped');
      expect(prometheusType(`a${suffix}`, 'updown')).toBe('untyped');
    }
    // A histogram's own name may end in `_count` (its samples are `_count_count`, ...).
    expect(prometheusType('a_count', 'histogram')).toBe('histogram');
  });

  const promtool = findPromtool();
  (promtool === undefined ? it.skip : it)(
    'is needed: promtool refuses those names as gauges and accepts them untyped',
    () => {
      const family = (name: string, type: string): string =>
        `# HELP ${name} Some help.\n# TYPE ${name} ${type}\n${name} 3\n`;
      const name = EXPECTED['process.unix.file_descriptor.count']![0];
      expect(checkMetrics(promtool!, family(name, 'gauge'))).toEqual({
        status: 3,
        output: `${name} non-histogram and non-summary metrics should not have "_count" suffix`,
      });
      for (const suffix of ['_count', '_sum', '_bucket', '_total']) {
        const gauge = checkMetrics(promtool!, family(`a${suffix}`, 'gauge'));
        expect([suffix, gauge.status]).toEqual([suffix, 3]);
        const untyped = checkMetrics(
          promtool!,
          family(`a${suffix}`, prometheusType(`a${suffix}`, 'gauge')),
        );
        expect([suffix, untyped]).toEqual([suffix, { status: 0, output: '' }]);
      }
    },
  );
});

describe('prometheusUnit', () => {
  it.each([
    ['s', 'seconds'],
    ['ms', 'milliseconds'],
    ['By', 'bytes'],
    ['By/s', 'bytes_per_second'],
    ['1/s', 'per_second'],
    ['1', ''],
    ['{request}', ''],
    ['{packet}/s', 'per_second'],
    ['', ''],
    ['Cel', 'celsius'],
    ['things', 'things'],
    [' s ', 'seconds'],
    ['km/h', 'km_per_hour'],
    ['a-b', 'a_b'],
  ])('%j -> %j (otlptranslator UnitNamer.Build)', (unit, expected) => {
    expect(prometheusUnit(unit)).toBe(expected);
  });
});
