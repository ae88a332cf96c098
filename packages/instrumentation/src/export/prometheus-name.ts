/**
 * The Prometheus name of an OpenTelemetry metric as Prometheus itself translates it when OTLP is
 * pushed into it, so that `naming: 'semconv'` scraped from the package's endpoint and pushed to
 * Prometheus' OTLP receiver land under one name (`http.server.request.duration` in `s` ->
 * `http_server_request_duration_seconds`), and a dashboard works either way.
 *
 * The rules are those of the receiver's default `translation_strategy`,
 * `UnderscoreEscapingWithSuffixes` (prometheus/docs docs/guides/opentelemetry.md, "UTF-8"; the
 * strategies in prometheus/otlptranslator strategy.go), read from prometheus/otlptranslator
 * v1.0.0, which Prometheus calls from
 * prometheus/prometheus storage/remote/otlptranslator/prometheusremotewrite/metrics_to_prw.go:
 *
 * 1. The kind (`TranslatorMetricFromOtelMetric` there): a monotonic sum is a counter, a sum that
 *    can go down a non-monotonic counter, a gauge a gauge; only counters and gauges get a suffix
 *    of their kind (rules 5 and 6).
 * 2. The name is cut into words at every character outside `[a-zA-Z0-9:]`, underscores included,
 *    and empty words are dropped (metric_namer.go `normalizeName`): `heap.space.available_size`
 *    is the words `heap space available size`, and `a__b` comes out `a_b`.
 * 3. The unit splits at its first `/` into a main unit and a "per" unit, each trimmed; a part
 *    with `{` or `}` in it (a UCUM annotation, `{file_descriptor}`) is dropped; the main unit is
 *    mapped (`s` -> `seconds`, `ms` -> `milliseconds`, `By` -> `bytes`, `KiBy` -> `kibibytes`,
 *    `1` -> nothing, `%` -> `percent`, ...), the per unit too (`s` -> `second`, `m` -> `minute`,
 *    ...) and prefixed `per_`; a unit the maps lack is kept as it is (unit_namer.go
 *    `buildUnitSuffixes`, metric_namer.go `unitMap`, `perUnitMap`). Each is then cleaned: every
 *    character outside `[a-zA-Z0-9:]` becomes `_`, runs of `_` become one, a leading `_` goes
 *    (unit_namer.go `cleanUpUnit`).
 * 4. The main unit is appended as a word unless a word of the name already is it
 *    (`start_time_seconds` in `s` stays as it is); the per unit likewise, without its trailing
 *    `_` (and not at all when only `per_` is left); with a per unit, the main unit loses a
 *    trailing `_` (metric_namer.go `addUnitTokens`). `By/s` gives `_bytes_per_second`, `1/s`
 *    `_per_second`.
 * 5. A counter loses every word `total` and gains `total` at the end: `_total`.
 * 6. A gauge (not a non-monotonic counter) in unit `1` loses every word `ratio` and gains `ratio`
 *    at the end: `_ratio`.
 * 7. The words are joined by `_`; a name that starts with a digit gains a leading `_`; an empty
 *    name is an error there, a metric not written here (metric_namer.go
 *    `buildCompliantMetricName`).
 *
 * Nothing is done about a gauge whose name comes out with a suffix Prometheus reserves for another
 * type (`process.unix.file_descriptor.count` -> `process_unix_file_descriptor_count`):
 * {@link prometheusType} deals with that. The `# UNIT` line of the text format keeps the OTel unit,
 * as the metadata Prometheus stored for an OTLP metric did until 3.7 (`Unit: metric.Unit()` in
 * metrics_to_prw.go); OpenMetrics writes {@link prometheusUnit}, which it stores since.
 */

import type { InstrumentKind } from '../catalogue.js';

/** Main units (metric_namer.go `unitMap`). A Map: a unit is user input, `constructor` included. */
const UNITS = new Map<string, string>([
  ['d', 'days'],
  ['h', 'hours'],
  ['min', 'minutes'],
  ['s', 'seconds'],
  ['ms', 'milliseconds'],
  ['us', 'microseconds'],
  ['ns', 'nanoseconds'],
  ['By', 'bytes'],
  ['KiBy', 'kibibytes'],
  ['MiBy', 'mebibytes'],
  ['GiBy', 'gibibytes'],
  ['TiBy', 'tibibytes'],
  ['KBy', 'kilobytes'],
  ['MBy', 'megabytes'],
  ['GBy', 'gigabytes'],
  ['TBy', 'terabytes'],
  ['m', 'meters'],
  ['V', 'volts'],
  ['A', 'amperes'],
  ['J', 'joules'],
  ['W', 'watts'],
  ['g', 'grams'],
  ['Cel', 'celsius'],
  ['Hz', 'hertz'],
  ['1', ''],
  ['%', 'percent'],
]);

/** Units after a `/` (metric_namer.go `perUnitMap`). */
const PER_UNITS = new Map<string, string>([
  ['s', 'second'],
  ['m', 'minute'],
  ['h', 'hour'],
  ['d', 'day'],
  ['w', 'week'],
  ['mo', 'month'],
  ['y', 'year'],
]);

/** `[a-zA-Z0-9:]`, the characters kept (metric_namer.go `isValidCompliantMetricChar`). */
function isKept(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x3a
  );
}

/** The words of a name: the runs of kept characters (Go's `strings.FieldsFunc`). */
function words(name: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= name.length; i++) {
    if (i < name.length && isKept(name.charCodeAt(i))) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push(name.slice(start, i));
      start = -1;
    }
  }
  return out;
}

/**
 * Go's `strings.TrimSpace`: Unicode's White_Space, which differs from JavaScript's `trim()` in
 * U+0085 (space to Go) and U+FEFF (space to JavaScript).
 */
const SPACE = String.raw`[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`;
const EDGE_SPACES = new RegExp(`^${SPACE}+|${SPACE}+$`, 'g');

/** A unit word: other characters to `_`, runs of `_` to one, no leading `_` (`cleanUpUnit`). */
function cleanUnit(unit: string): string {
  let out = '';
  for (let i = 0; i < unit.length; i++) {
    const code = unit.charCodeAt(i);
    const char = isKept(code) ? unit[i] : '_';
    if (char === '_' && out.endsWith('_')) continue;
    out += char;
  }
  return out.startsWith('_') ? out.slice(1) : out;
}

/** The main and per unit words of a unit, before cleaning (unit_namer.go `buildUnitSuffixes`). */
function unitSuffixes(unit: string): [main: string, per: string] {
  const slash = unit.indexOf('/');
  const mainPart = (slash < 0 ? unit : unit.slice(0, slash)).replace(EDGE_SPACES, '');
  const main = mainPart === '' || /[{}]/.test(mainPart) ? '' : (UNITS.get(mainPart) ?? mainPart);
  if (slash < 0) return [main, ''];
  const perPart = unit.slice(slash + 1).replace(EDGE_SPACES, '');
  const per = perPart === '' || /[{}]/.test(perPart) ? '' : (PER_UNITS.get(perPart) ?? perPart);
  return [main, per === '' ? '' : `per_${per}`];
}

/**
 * The Prometheus unit of an OpenTelemetry unit, as the OTLP receiver stores it in a metric's
 * metadata since Prometheus 3.7 (otlptranslator unit_namer.go `UnitNamer.Build`, called for the
 * metadata's `Unit` in metrics_to_prw.go): the words rule 3 above appends to a name, joined by `_`,
 * without an edge `_` (`s` -> `seconds`, `By/s` -> `bytes_per_second`, `1` and `{request}` ->
 * ''). OpenMetrics writes it as the `# UNIT` of a family whose name ends in it.
 */
export function prometheusUnit(unit: string): string {
  const [mainRaw, perRaw] = unitSuffixes(unit);
  const main = cleanUnit(mainRaw);
  const per = cleanUnit(perRaw);
  let joined = main !== '' && per !== '' ? `${main}_${per}` : main !== '' ? main : per;
  if (joined.startsWith('_')) joined = joined.slice(1);
  if (joined.endsWith('_')) joined = joined.slice(0, -1);
  return joined;
}

/** `list` without any `word`, then `word` at its end. */
function last(list: string[], word: string): string[] {
  return [...list.filter((w) => w !== word), word];
}

/**
 * The name Prometheus' OTLP receiver gives a metric of this name, unit (UCUM, as OpenTelemetry
 * writes it) and kind (undefined for an exponential histogram, which takes no suffix), under its
 * default translation; undefined when nothing usable is left, which the receiver refuses too.
 * Pure and cheap, but not free: the writer calls it once per family, never per sample.
 */
export function prometheusName(
  name: string,
  unit: string,
  kind: InstrumentKind | undefined,
): string | undefined {
  let tokens = words(name);
  const [mainRaw, perRaw] = unitSuffixes(unit);
  let main = cleanUnit(mainRaw);
  let per = cleanUnit(perRaw);
  if (tokens.includes(main)) main = '';
  if (per === 'per_') per = '';
  else {
    if (per.endsWith('_')) per = per.slice(0, -1);
    if (tokens.includes(per)) per = '';
  }
  if (per !== '' && main.endsWith('_')) main = main.slice(0, -1);
  if (main !== '') tokens.push(main);
  if (per !== '') tokens.push(per);
  if (kind === 'counter') tokens = last(tokens, 'total');
  if (kind === 'gauge' && unit === '1') tokens = last(tokens, 'ratio');
  const joined = tokens.join('_');
  // No word is empty or all `_`, so only an empty name can come out unusable.
  if (joined === '') return undefined;
  const first = joined.charCodeAt(0);
  return first >= 0x30 && first <= 0x39 ? `_${joined}` : joined;
}

/** `name` without a trailing `suffix` and the one character before it, if it is longer than both. */
function trimSuffixAndDelimiter(name: string, suffix: string): string {
  return name.endsWith(suffix) && name.length > suffix.length + 1
    ? name.slice(0, -(suffix.length + 1))
    : name;
}

/**
 * The name Prometheus' OTLP receiver gives a metric under its translation strategy
 * `NoUTF8EscapingWithSuffixes`: the OpenTelemetry name kept whole, dots and all, with the unit and
 * type suffixes of {@link prometheusName} appended after an underscore
 * (`http.server.request.duration` in `s` -> `http.server.request.duration_seconds`,
 * `process.cpu.time` counter -> `process.cpu.time_seconds_total`). The rules are otlptranslator's
 * metric_namer.go `buildMetricName`, which differ from rule 2 to 4 above: the name is not cut into
 * words, so a unit is left out only when the name already ends in it, and a suffix of the name
 * equal to `total`, `ratio` or the per unit, after any one character, is taken off before the
 * suffix is appended, so that it is not written twice. The units are mapped but not cleaned.
 * Undefined for an empty name.
 */
export function utf8PrometheusName(
  name: string,
  unit: string,
  kind: InstrumentKind | undefined,
): string | undefined {
  if (name === '') return undefined;
  let base = name;
  const ratio = unit === '1' && kind === 'gauge';
  if (ratio) base = trimSuffixAndDelimiter(base, 'ratio');
  const total = kind === 'counter';
  if (total) base = trimSuffixAndDelimiter(base, 'total');
  const [main, per] = unitSuffixes(unit);
  if (per !== '') base = trimSuffixAndDelimiter(base, per);
  if (main !== '' && !base.endsWith(main)) base += `_${main}`;
  if (per !== '') base += `_${per}`;
  if (total) base += '_total';
  if (ratio) base += '_ratio';
  return base;
}

/** The `# TYPE` of a family in the text format. */
export type TextType = 'counter' | 'gauge' | 'histogram' | 'untyped';

/**
 * Suffixes `promtool check metrics` reserves for other types than a gauge's: `_total` for
 * counters (`lintCounter`), `_count` and `_sum` for histograms and summaries, `_bucket` for
 * histograms (`lintHistogramSummaryReserved`), in prometheus/client_golang
 * prometheus/testutil/promlint/validations/counter_validations.go and histogram_validations.go.
 */
const RESERVED_SUFFIXES = ['_total', '_count', '_sum', '_bucket'];

/**
 * The `# TYPE` of a family written under {@link prometheusName}: its kind's, except for a gauge
 * whose translated name ends in a suffix reserved for another type.
 *
 * The semantic conventions name a count of things `<namespace>.count` on an UpDownCounter
 * (semantic-conventions docs/general/naming.md), which the translation leaves as `_count` for a
 * gauge: `process.unix.file_descriptor.count` -> `process_unix_file_descriptor_count`
 * (otlptranslator metric_namer.go has no rule for it). promtool's lint refuses `_count` on a gauge
 * ("non-histogram and non-summary metrics should not have "_count" suffix", exit 3), and exempts
 * untyped families from that rule and from the `_total` one. Both cannot hold for a gauge; they
 * can for an untyped family. So such a family keeps the translator's name, which dashboards query
 * whether the series was scraped or pushed over OTLP, and is written `untyped`: PromQL reads an
 * untyped series as it reads a gauge, and the one thing lost is the `gauge` of Prometheus' type
 * metadata for that family (it shows `unknown` when scraped). Renaming it instead
 * (`process_unix_file_descriptors`) would pass promtool with the gauge type but give a scraped app
 * another name than one that pushes OTLP, which is what this naming exists to avoid.
 */
export function prometheusType(name: string, kind: InstrumentKind | undefined): TextType {
  switch (kind) {
    case undefined:
      return 'untyped';
    case 'counter':
    case 'histogram':
      return kind;
    default:
      return RESERVED_SUFFIXES.some((suffix) => name.endsWith(suffix)) ? 'untyped' : 'gauge';
  }
}
