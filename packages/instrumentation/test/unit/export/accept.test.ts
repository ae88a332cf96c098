import {
  contentTypeOf,
  negotiateFormat,
  type EscapingScheme,
  type ExpositionFormat,
} from '../../../src/export/accept';

/** What Prometheus 2.x sends (scrape/scrape.go `scrapeAcceptHeader`, v2.42.0). */
const PROMETHEUS_2 =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** With `--enable-feature=native-histograms`: protobuf first. */
const PROMETHEUS_2_PROTOBUF =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** Prometheus 3.4 and later by default (scrape_test.go `TestAcceptHeader`, v3.14.0). */
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
/** The same with `metric_name_escaping_scheme: underscores` (ibid.). */
const PROMETHEUS_3_UNDERSCORES =
  'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
/** Protobuf first, `dots` (ibid.). */
const PROMETHEUS_3_PROTOBUF_DOTS =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=dots;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=dots;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
/**
 * Prometheus 3.0 to 3.3: `acceptHeader` took the validation scheme and, with UTF-8 (the
 * default), added `escaping=allow-utf-8` to every format, twice to text 1.0.0.
 */
const PROMETHEUS_3_0 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2';
/** Prometheus 3 told to scrape the 0.0.4 text format only (`scrape_protocols: [PrometheusText0.0.4]`). */
const PROMETHEUS_3_TEXT_ONLY = 'text/plain;version=0.0.4;q=0.2,*/*;q=0.1';

describe('negotiateFormat', () => {
  it.each<[string, string | undefined, ExpositionFormat, EscapingScheme | undefined]>([
    ['Prometheus 2.42', PROMETHEUS_2, 'openmetrics', undefined],
    ['Prometheus 2.42 with protobuf first', PROMETHEUS_2_PROTOBUF, 'protobuf', undefined],
    ['Prometheus 3.4+', PROMETHEUS_3, 'openmetrics', 'allow-utf-8'],
    ['Prometheus 3.4+ with underscores', PROMETHEUS_3_UNDERSCORES, 'openmetrics', 'underscores'],
    // Its escaping is named on the text formats only: the protobuf answer's names are underscored.
    ['Prometheus 3.4+ protobuf first, dots', PROMETHEUS_3_PROTOBUF_DOTS, 'protobuf', undefined],
    [
      'protobuf without its message type',
      'application/vnd.google.protobuf;encoding=delimited,text/plain;q=0.5',
      'text',
      undefined,
    ],
    [
      'protobuf in another encoding',
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,application/openmetrics-text;q=0.5',
      'openmetrics',
      undefined,
    ],
    [
      'protobuf refused',
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0,*/*;q=0.1',
      'text',
      undefined,
    ],
    [
      'protobuf with quoted parameters and allow-utf-8',
      'application/vnd.google.protobuf;proto="io.prometheus.client.MetricFamily";encoding="delimited";escaping=allow-utf-8',
      'protobuf',
      'allow-utf-8',
    ],
    ['Prometheus 3.0-3.3', PROMETHEUS_3_0, 'openmetrics', 'allow-utf-8'],
    ['Prometheus 3 with the text format only', PROMETHEUS_3_TEXT_ONLY, 'text', undefined],
    ['*/* (curl, fetch)', '*/*', 'text', undefined],
    ['no header', undefined, 'text', undefined],
    ['an empty header', '', 'text', undefined],
    ['garbage', 'garbage', 'text', undefined],
    ['garbage with separators', ';;,,=;q=1,/', 'text', undefined],
    [
      'a browser',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'text',
      undefined,
    ],
    ['a type nobody writes', 'application/json', 'text', undefined],
    ['text/plain', 'text/plain', 'text', undefined],
    ['text/*', 'text/*', 'text', undefined],
    ['application/*', 'application/*', 'openmetrics', undefined],
    [
      'OpenMetrics without a version (1.0.0)',
      'application/openmetrics-text',
      'openmetrics',
      undefined,
    ],
    ['OpenMetrics 0.0.1 only', 'application/openmetrics-text;version=0.0.1', 'text', undefined],
    ['text 1.0.0 only', 'text/plain;version=1.0.0;escaping=allow-utf-8', 'text', undefined],
    [
      'case and spaces',
      ' Application/OpenMetrics-Text ; Version=1.0.0 ; Q=0.9 ',
      'openmetrics',
      undefined,
    ],
    ['a quoted version', 'application/openmetrics-text;version="1.0.0"', 'openmetrics', undefined],
    // q-values, and q=0 as "not acceptable".
    [
      'OpenMetrics refused, text by the wildcard',
      'application/openmetrics-text;version=1.0.0;q=0,*/*;q=0.1',
      'text',
      undefined,
    ],
    ['text refused, OpenMetrics by the wildcard', 'text/plain;q=0,*/*', 'openmetrics', undefined],
    [
      'the specific refusal beats the wildcard',
      'application/*;q=0.5,application/openmetrics-text;version=1.0.0;q=0',
      'text',
      undefined,
    ],
    [
      'both refused: the last resort',
      'text/plain;q=0,application/openmetrics-text;q=0',
      'text',
      undefined,
    ],
    ['everything refused', '*/*;q=0', 'text', undefined],
    [
      'the heavier one',
      'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8',
      'text',
      undefined,
    ],
    [
      'the heavier one, listed last',
      'text/plain;q=0.3,application/openmetrics-text;q=0.31',
      'openmetrics',
      undefined,
    ],
    [
      'a tie goes to the first',
      'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4',
      'openmetrics',
      undefined,
    ],
    [
      'a tie goes to the first, text',
      'text/plain;version=0.0.4,application/openmetrics-text;version=1.0.0',
      'text',
      undefined,
    ],
    [
      'q=1.000 and q=1 tie',
      'text/plain;q=1.000,application/openmetrics-text;q=1',
      'text',
      undefined,
    ],
    [
      'a malformed q is 0',
      'application/openmetrics-text;q=high,text/plain;q=0.1',
      'text',
      undefined,
    ],
    ['q above 1 is malformed', 'application/openmetrics-text;q=2', 'text', undefined],
    // escaping: from the element that chose the format, known schemes only.
    [
      'values',
      'application/openmetrics-text;version=1.0.0;escaping=values',
      'openmetrics',
      'values',
    ],
    [
      'an unknown scheme is ignored',
      'application/openmetrics-text;version=1.0.0;escaping=shout',
      'openmetrics',
      undefined,
    ],
    [
      'a scheme on the text format',
      'text/plain;version=0.0.4;escaping=underscores',
      'text',
      'underscores',
    ],
    [
      'not from an element that lost',
      'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.9,application/openmetrics-text;q=0.5',
      'openmetrics',
      undefined,
    ],
  ])('%s', (_name, accept, format, escaping) => {
    expect(negotiateFormat(accept)).toEqual({ format, escaping });
  });
});

describe('contentTypeOf', () => {
  it('is the type Prometheus expects, with the escaping on 1.0.0 formats and where negotiated', () => {
    expect(contentTypeOf({ format: 'text', escaping: undefined })).toBe(
      'text/plain; version=0.0.4; charset=utf-8',
    );
    expect(contentTypeOf({ format: 'text', escaping: 'allow-utf-8' })).toBe(
      'text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8',
    );
    expect(contentTypeOf({ format: 'openmetrics', escaping: undefined })).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores',
    );
    expect(contentTypeOf(negotiateFormat(PROMETHEUS_3))).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8',
    );
    expect(contentTypeOf(negotiateFormat(PROMETHEUS_2_PROTOBUF))).toBe(
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
    );
  });
});
