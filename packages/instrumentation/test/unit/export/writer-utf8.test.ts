/**
 * The writer under `translationStrategy: 'NoUTF8EscapingWithSuffixes'`, exactly: dotted names in
 * the UTF-8 syntax of Prometheus 3's parsers for a scraper that allows them, escaped as each
 * other scraper asks, and the default strategy's bytes for a scraper of the legacy rules.
 */
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { EscapingScheme, ExpositionFormat } from '../../../src/export/accept';
import type { Collected } from '../../../src/export/collected';
import { writeExposition } from '../../../src/export/writer';

const COLLECTED: Collected = {
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
              value: { count: 2, sum: 0.75, buckets: { boundaries: [0.1, 1], counts: [1, 1, 0] } },
            },
          ],
        },
        {
          descriptor: { name: 'process.cpu.time', description: 'CPU time.', unit: 's' },
          dataPointType: DataPointType.SUM,
          isMonotonic: true,
          dataPoints: [{ attributes: { 'cpu.mode': 'user' }, value: 1.5 }],
        },
        {
          descriptor: {
            name: 'process.unix.file_descriptor.count',
            description: 'Open file descriptors.',
            unit: '{file_descriptor}',
          },
          dataPointType: DataPointType.SUM,
          isMonotonic: false,
          dataPoints: [{ attributes: {}, value: 21 }],
        },
      ],
    },
  ],
};

function write(
  format: ExpositionFormat,
  escaping: EscapingScheme | undefined,
  translationStrategy: 'UnderscoreEscapingWithSuffixes' | 'NoUTF8EscapingWithSuffixes',
): string {
  return writeExposition(COLLECTED, {
    targetInfo: true,
    scopeInfo: false,
    naming: 'semconv',
    translationStrategy,
    format,
    escaping,
  });
}

describe('the writer with NoUTF8EscapingWithSuffixes', () => {
  it('writes dotted names in the UTF-8 syntax to an OpenMetrics scraper that allows them', () => {
    expect(write('openmetrics', 'allow-utf-8', 'NoUTF8EscapingWithSuffixes')).toBe(
      [
        '# TYPE target info',
        '# HELP target Target metadata',
        'target_info{"service.name"="shop"} 1',
        '# TYPE "http.server.request.duration_seconds" histogram',
        '# UNIT "http.server.request.duration_seconds" seconds',
        '# HELP "http.server.request.duration_seconds" Duration of HTTP server requests.',
        '{"http.server.request.duration_seconds_bucket","http.request.method"="GET","http.route"="/a",le="0.1"} 1',
        '{"http.server.request.duration_seconds_bucket","http.request.method"="GET","http.route"="/a",le="1.0"} 2',
        '{"http.server.request.duration_seconds_bucket","http.request.method"="GET","http.route"="/a",le="+Inf"} 2',
        '{"http.server.request.duration_seconds_count","http.request.method"="GET","http.route"="/a"} 2',
        '{"http.server.request.duration_seconds_sum","http.request.method"="GET","http.route"="/a"} 0.75',
        '# TYPE "process.cpu.time_seconds" counter',
        '# UNIT "process.cpu.time_seconds" seconds',
        '# HELP "process.cpu.time_seconds" CPU time.',
        '{"process.cpu.time_seconds_total","cpu.mode"="user"} 1.5',
        '# TYPE "process.unix.file_descriptor.count" gauge',
        '# HELP "process.unix.file_descriptor.count" Open file descriptors.',
        '{"process.unix.file_descriptor.count"} 21',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it.each<[ExpositionFormat, EscapingScheme | undefined]>([
    ['openmetrics', 'underscores'],
    ['openmetrics', undefined],
    ['text', 'underscores'],
    ['text', undefined],
    // The 0.0.4 format never carries UTF-8 names.
    ['text', 'allow-utf-8'],
  ])(
    'writes %s with escaping %p byte for byte as the default strategy does',
    (format, escaping) => {
      expect(write(format, escaping, 'NoUTF8EscapingWithSuffixes')).toBe(
        write(format, escaping, 'UnderscoreEscapingWithSuffixes'),
      );
    },
  );

  it('escapes names and label names by dots and by values, legacy names left alone', () => {
    const dots = write('text', 'dots', 'NoUTF8EscapingWithSuffixes');
    expect(dots).toContain(
      'http_dot_server_dot_request_dot_duration__seconds_bucket{http_dot_request_dot_method="GET",http_dot_route="/a",le="0.1"} 1\n',
    );
    expect(dots).toContain(
      '# TYPE process_dot_cpu_dot_time__seconds__total counter\nprocess_dot_cpu_dot_time__seconds__total{cpu_dot_mode="user"} 1.5\n',
    );
    // `…_dot_count` ends in `_count`: untyped in 0.0.4, as the default strategy's name is.
    expect(dots).toContain('# TYPE process_dot_unix_dot_file__descriptor_dot_count untyped\n');
    expect(dots).toContain('target_info{service_dot_name="shop"} 1\n');
    const values = write('openmetrics', 'values', 'NoUTF8EscapingWithSuffixes');
    // The family is the escaped name without `_total`, as client_golang cuts it; the unit is no
    // longer its suffix, so OpenMetrics has no UNIT line for it.
    expect(values).toContain(
      '# TYPE U__process_2e_cpu_2e_time__seconds_ counter\n# HELP U__process_2e_cpu_2e_time__seconds_ CPU time.\n',
    );
    expect(values).toContain('# UNIT U__http_2e_server_2e_request_2e_duration__seconds seconds\n');
    expect(values).toContain(
      'U__process_2e_cpu_2e_time__seconds__total{U__cpu_2e_mode="user"} 1.5\n',
    );
  });
});
