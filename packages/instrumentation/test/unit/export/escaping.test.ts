/**
 * Prometheus' escaping schemes for names outside the legacy character set, against the examples
 * of its "UTF-8 metric and label name escaping schemes" and hand-applied rules of client_golang's
 * `EscapeName`.
 */
import { escapeName, quoteName } from '../../../src/export/escaping';

describe('escapeName', () => {
  it.each([
    // The specification's own examples.
    ['underscores', 'metric.name/with/slashes', 'metric_name_with_slashes'],
    ['dots', 'metric.name.with.dots', 'metric_dot_name_dot_with_dot_dots'],
    ['values', 'metric.name', 'U__metric_2e_name'],
    // The semantic conventions' names under each.
    ['underscores', 'http.server.request.duration_seconds', 'http_server_request_duration_seconds'],
    [
      'dots',
      'http.server.request.duration_seconds',
      'http_dot_server_dot_request_dot_duration__seconds',
    ],
    [
      'values',
      'http.server.request.duration_seconds',
      'U__http_2e_server_2e_request_2e_duration__seconds',
    ],
    // Other characters: `dots` makes them `__`, `values` their code point, lone surrogates FFFD.
    ['underscores', '2xx.count', '_xx_count'],
    ['dots', 'a-b', 'a__b'],
    ['values', 'caf\u00e9', 'U__caf_e9_'],
    ['values', 'a\u{1f600}', 'U__a_1f600_'],
    ['values', 'a\ud800', 'U__a_FFFD_'],
    ['underscores', 'a\ud800b', 'a_b'],
  ] as const)('%s: %s -> %s', (scheme, name, escaped) => {
    expect(escapeName(name, scheme)).toBe(escaped);
  });

  it.each(['underscores', 'dots', 'values'] as const)(
    'leaves a legacy name as it is under %s, underscores and colons included',
    (scheme) => {
      expect(escapeName('app_request_count_total', scheme)).toBe('app_request_count_total');
      expect(escapeName('job:rate5m', scheme)).toBe('job:rate5m');
    },
  );

  it('escapes a colon in a label name, where the legacy rules do not allow one', () => {
    expect(escapeName('a:b', 'underscores', false)).toBe('a_b');
    expect(escapeName('a:b', 'values', false)).toBe('U__a_3a_b');
    expect(escapeName('a_b', 'dots', false)).toBe('a_b');
  });
});

describe('quoteName', () => {
  it('escapes backslash, newline and double quote, and replaces lone surrogates', () => {
    expect(quoteName('http.route')).toBe('"http.route"');
    expect(quoteName('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(quoteName('x\udc00')).toBe('"x\ufffd"');
  });
});
