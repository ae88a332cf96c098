import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Naming } from '../catalogue.js';
import type { TranslationStrategy } from '../options/types.js';
import type { EscapingScheme, ExpositionFormat } from './accept.js';
import type {
  Collected,
  CollectedMetric,
  CollectedScope,
  Exemplar,
  ExponentialHistogramValue,
  HistogramValue,
  Point,
} from './collected.js';
import {
  escapeName,
  isLegacyLabelName,
  isLegacyMetricName,
  metadataName,
  quoteName,
} from './escaping.js';
import { collectFamilies, TARGET_INFO, type Family } from './families.js';
import {
  canonicalBound,
  EOF,
  exemplarText,
  openMetricsFamily,
  openMetricsMetadata,
} from './openmetrics-format.js';
import { bucketBound, escapeHelp, labelName, labelValue, sampleValue } from './text-format.js';
import { TextSink, type Body } from './text-sink.js';

/** What the writer adds to the collected data. */
export interface WriterOptions {
  /** Write `target_info` with the resource's attributes. */
  targetInfo: boolean;
  /** Label every sample with `otel_scope_name` (and `_schema_url`, `_version` when set). */
  scopeInfo: boolean;
  /**
   * How metric names become family names: `'prometheus'` as OpenTelemetry JS' Prometheus exporter
   * writes them (the stock serializer's text); `'semconv'` as Prometheus' OTLP receiver
   * translates them, unit and type suffixes included (`prometheus-name.ts`).
   * @default 'prometheus'
   */
  naming?: Naming;
  /**
   * With `naming: 'semconv'`, whether names keep their dots (`'NoUTF8EscapingWithSuffixes'`).
   * @default 'UnderscoreEscapingWithSuffixes'
   */
  translationStrategy?: TranslationStrategy;
  /**
   * How names outside the legacy character set are written (escaping.ts): quoted, with
   * `'allow-utf-8'`, in OpenMetrics only (the 0.0.4 format predates such names, so it gets
   * `'underscores'` then), or escaped by the scheme.
   * @default 'underscores'
   */
  escaping?: EscapingScheme;
  /**
   * Labels written on every sample, after the point's own (`worker="1"` with option
   * `workerIndex`), as `name="value"` pairs joined by commas, already escaped.
   * @default ''
   */
  constantLabels?: string;
  /**
   * `'text'`, Prometheus' text format 0.0.4, or `'openmetrics'`, OpenMetrics 1.0.0 (the text
   * format that carries the points' exemplars). `'protobuf'` is protobuf-writer.ts' to write;
   * given here, it writes the 0.0.4 text.
   * @default 'text'
   */
  format?: ExpositionFormat;
  /**
   * The finest schema Prometheus' protobuf format writes a native histogram in, from -4 to 8
   * (native-histogram.ts `nativeSchema`); the text formats write no native buckets.
   * @default 8
   */
  nativeHistogramMaxScale?: number;
  /**
   * Told when a metric cannot be written as recorded (dropped, or written without samples);
   * `key` names the problem, so a caller can report each one once.
   */
  warn?: (key: string, message: string) => void;
}

export type Warn = (key: string, message: string) => void;

const NO_METRICS = '# no registered metrics';

/**
 * Points written between two looks at the clock. A histogram point is 17 lines with the default
 * buckets, so 64 of them are about 90 KB of text, well under a millisecond.
 */
export const POINTS_PER_CHECK = 64;

/**
 * The writer's work, as a generator that pauses every {@link POINTS_PER_CHECK} points; whoever
 * drives it decides whether to give the event loop a turn there.
 */
export type Work = Generator<void, void, void>;

/** Label prefixes (`name="`) by attribute key, built once per exposition. */
interface LabelPrefixes {
  readonly cache: Map<string, string>;
  /** The label name of an attribute key, as this exposition writes it. */
  readonly nameOf: (key: string) => string;
}

/**
 * A sample's name, and how its labels attach to it: `name{…} ` or, for a name only the UTF-8
 * syntax can carry, `{"name",…} ` (escaping.ts).
 */
interface SampleName {
  /** The sample with no labels, up to its value: `name ` or `{"name"} `. */
  readonly bare: string;
  /** The sample up to its first label: `name{` or `{"name",`. */
  readonly open: string;
}

function sampleName(name: string): SampleName {
  if (isLegacyMetricName(name)) return { bare: `${name} `, open: `${name}{` };
  const quoted = quoteName(name);
  return { bare: `{${quoted}} `, open: `{${quoted},` };
}

/** `name` and its labels, up to the value. */
function series(name: SampleName, labels: string): string {
  return labels === '' ? name.bare : `${name.open}${labels}} `;
}

/** The `le="…"} ` pieces of one bucket layout, kept while the next point shares the layout. */
interface BucketLabels {
  boundaries: readonly number[];
  buckets: number;
  pieces: string[];
}

/** How a format writes a bucket's bound: `bucketBound` (0.0.4) or `canonicalBound`. */
type BoundText = (bound: number | undefined) => string;

/**
 * HELP, UNIT and TYPE. `# UNIT` belongs to OpenMetrics; 0.0.4 parsers (Prometheus, promtool) read
 * it as a comment, and the stock serializer writes it, so it stays.
 */
function metadata(family: Family): string {
  const name = metadataName(family.name);
  const help = `# HELP ${name} ${escapeHelp(family.help === '' ? 'description missing' : family.help)}\n`;
  const unit = family.unit === '' ? '' : `# UNIT ${name} ${escapeHelp(family.unit)}\n`;
  return `${help}${unit}# TYPE ${name} ${family.type}\n`;
}

/** `k="v",…` for the attributes, in their own order. */
function attributeLabels(attributes: Attributes, prefixes: LabelPrefixes): string {
  let out = '';
  for (const key of Object.keys(attributes)) {
    let prefix = prefixes.cache.get(key);
    if (prefix === undefined) {
      prefix = `${prefixes.nameOf(key)}="`;
      prefixes.cache.set(key, prefix);
    }
    const value = labelValue(attributes[key]);
    out += out === '' ? `${prefix}${value}"` : `,${prefix}${value}"`;
  }
  return out;
}

/** The scope's labels, written after the point's own, as the stock exporter orders them. */
function scopeLabels(scope: CollectedScope['scope']): string {
  let out = `otel_scope_name="${labelValue(scope.name)}"`;
  if (scope.schemaUrl) out += `,otel_scope_schema_url="${labelValue(scope.schemaUrl)}"`;
  if (scope.version) out += `,otel_scope_version="${labelValue(scope.version)}"`;
  return out;
}

function joinLabels(a: string, b: string): string {
  if (a === '') return b;
  return b === '' ? a : `${a},${b}`;
}

/**
 * The exemplar text of a point's exemplar, or '' when there is none or it cannot be written: its
 * labels too long, or (`bound`, for a bucket) its value outside the bucket, which OpenMetrics
 * forbids (section "Histogram": "the value of the exemplar MUST be within this range").
 */
function exemplarOf(
  exemplar: Exemplar | undefined,
  name: string,
  bound: number | undefined,
  warn: Warn,
): string {
  if (exemplar === undefined) return '';
  if (bound !== undefined && !(exemplar.value <= bound)) {
    warn(
      `exemplar-bucket:${name}`,
      `metric "${name}" has an exemplar outside its bucket; left out`,
    );
    return '';
  }
  const text = exemplarText(exemplar);
  if (text === undefined) {
    warn(
      `exemplar-length:${name}`,
      `metric "${name}" has an exemplar whose labels are too long; left out`,
    );
    return '';
  }
  return text;
}

/**
 * The samples of counters, gauges and (0.0.4) untyped families; with `exemplars` (OpenMetrics'
 * counters), a point's exemplar at index 0 follows its `_total` sample.
 */
function* writeNumbers(
  sink: TextSink,
  name: string,
  points: ReadonlyArray<Point<number>>,
  extra: string,
  prefixes: LabelPrefixes,
  exemplars: Warn | undefined,
): Work {
  const sample = sampleName(name);
  let written = 0;
  for (const point of points) {
    if (++written % POINTS_PER_CHECK === 0) yield;
    const labels = joinLabels(attributeLabels(point.attributes, prefixes), extra);
    const line = `${series(sample, labels)}${sampleValue(point.value)}`;
    const exemplar = point.exemplars?.[0];
    sink.add(
      exemplars === undefined || exemplar === undefined
        ? `${line}\n`
        : `${line}${exemplarOf(exemplar, name, undefined, exemplars)}\n`,
    );
  }
}

/**
 * The `le` pieces of a histogram's buckets, one per count. After an explicit `Infinity` bound the
 * implicit overflow bucket is left out, so that `+Inf` is not written twice.
 */
function bucketLabels(
  histogram: HistogramValue,
  cached: BucketLabels | undefined,
  boundText: BoundText,
): BucketLabels {
  const { boundaries, counts } = histogram.buckets;
  if (cached?.boundaries === boundaries && cached.buckets === counts.length) return cached;
  const pieces: string[] = [];
  let infinite = false;
  for (let i = 0; i < counts.length; i++) {
    const bound = boundaries[i];
    if (bound === undefined && infinite) break;
    if (bound === Infinity) infinite = true;
    pieces.push(`le="${boundText(bound)}"} `);
  }
  return { boundaries, buckets: counts.length, pieces };
}

function* writeHistograms(
  sink: TextSink,
  name: string,
  points: ReadonlyArray<Point<HistogramValue>>,
  extra: string,
  prefixes: LabelPrefixes,
): Work {
  const count = sampleName(`${name}_count`);
  const sum = sampleName(`${name}_sum`);
  const bucket = sampleName(`${name}_bucket`).open;
  let les: BucketLabels | undefined;
  let written = 0;
  for (const point of points) {
    if (++written % POINTS_PER_CHECK === 0) yield;
    const labels = joinLabels(attributeLabels(point.attributes, prefixes), extra);
    const histogram = point.value;
    sink.add(`${series(count, labels)}${sampleValue(histogram.count)}\n`);
    // Histograms of instruments that may go down have no sum.
    if (histogram.sum !== undefined && histogram.sum !== null) {
      sink.add(`${series(sum, labels)}${sampleValue(histogram.sum)}\n`);
    }
    les = bucketLabels(histogram, les, bucketBound);
    const open = labels === '' ? bucket : `${bucket}${labels},`;
    const { counts } = histogram.buckets;
    let cumulative = 0;
    for (let i = 0; i < les.pieces.length; i++) {
      cumulative += counts[i] as number;
      sink.add(`${open}${les.pieces[i] as string}${sampleValue(cumulative)}\n`);
    }
  }
}

/**
 * Histograms in OpenMetrics (section "Histogram"): the buckets first, with canonical `le` values
 * and each bucket's exemplar, then `_count` and `_sum`, the order of the specification's example.
 * A point without a sum (an instrument that may record negatives) has no `_count` either: "If
 * and only if a Sum Value is present in a MetricPoint, then the MetricPoint's +Inf Bucket value
 * MUST also appear in a Sample with a MetricName with the suffix "_count"".
 *
 * No `_created` sample is written, though the specification says a histogram (and a counter)
 * SHOULD have one. The data written here has no start time: a cluster's merge adds up series of
 * several workers, each started at its own time. And a Prometheus without created-timestamp
 * support stores each `_created` as one more series, one per counter and histogram series:
 * Prometheus 2.42's OpenMetrics parser has no notion of it (model/textparse/openmetricsparse.go),
 * which came in 2.50 behind `--enable-feature=created-timestamp-zero-ingestion`. client_golang
 * writes none either unless asked (`EnableOpenMetricsTextCreatedSamples`, off by default).
 */
function* writeOpenMetricsHistograms(
  sink: TextSink,
  name: string,
  points: ReadonlyArray<Point<HistogramValue>>,
  extra: string,
  prefixes: LabelPrefixes,
  warn: Warn,
): Work {
  const count = sampleName(`${name}_count`);
  const sum = sampleName(`${name}_sum`);
  const bucket = sampleName(`${name}_bucket`).open;
  let les: BucketLabels | undefined;
  let written = 0;
  for (const point of points) {
    if (++written % POINTS_PER_CHECK === 0) yield;
    const labels = joinLabels(attributeLabels(point.attributes, prefixes), extra);
    const histogram = point.value;
    les = bucketLabels(histogram, les, canonicalBound);
    const open = labels === '' ? bucket : `${bucket}${labels},`;
    const { boundaries, counts } = histogram.buckets;
    const { exemplars } = point;
    let cumulative = 0;
    for (let i = 0; i < les.pieces.length; i++) {
      cumulative += counts[i] as number;
      const exemplar = exemplars?.[i];
      // One template per line, as in the text format, when there is no exemplar to add.
      sink.add(
        exemplar === undefined
          ? `${open}${les.pieces[i] as string}${sampleValue(cumulative)}\n`
          : `${open}${les.pieces[i] as string}${sampleValue(cumulative)}${exemplarOf(exemplar, name, boundaries[i] ?? Infinity, warn)}\n`,
      );
    }
    if (histogram.sum !== undefined && histogram.sum !== null) {
      sink.add(`${series(count, labels)}${sampleValue(histogram.count)}\n`);
      sink.add(`${series(sum, labels)}${sampleValue(histogram.sum)}\n`);
    }
  }
}

/**
 * The samples of an exponential histogram in the text formats, which have no native buckets: as
 * client_golang's text encoder writes a histogram without classic buckets (prometheus/common
 * expfmt/text_create.go adds the `+Inf` bucket a histogram lacks), the `+Inf` bucket (the count),
 * `_count` and `_sum`, so that `rate(_sum) / rate(_count)` and `promtool check metrics` work on a
 * scrape of either format, and the series are those a Prometheus that ignores native histograms
 * makes of the protobuf format's message. In the order of each format's classic histograms: count,
 * sum, bucket in 0.0.4 (the stock serializer's), bucket, count, sum in OpenMetrics, where a point
 * without a sum has no `_count` either (see writeOpenMetricsHistograms).
 */
function* writeNativeCounts(
  sink: TextSink,
  name: string,
  points: ReadonlyArray<Point<ExponentialHistogramValue>>,
  extra: string,
  prefixes: LabelPrefixes,
  openMetrics: boolean,
): Work {
  const count = sampleName(`${name}_count`);
  const sum = sampleName(`${name}_sum`);
  const bucket = sampleName(`${name}_bucket`).open;
  const inf = 'le="+Inf"} ';
  let written = 0;
  for (const point of points) {
    if (++written % POINTS_PER_CHECK === 0) yield;
    const labels = joinLabels(attributeLabels(point.attributes, prefixes), extra);
    const histogram = point.value;
    const total = sampleValue(histogram.count);
    const infLine = `${labels === '' ? bucket : `${bucket}${labels},`}${inf}${total}\n`;
    const hasSum = histogram.sum !== undefined && histogram.sum !== null;
    if (openMetrics) sink.add(infLine);
    if (hasSum || !openMetrics) sink.add(`${series(count, labels)}${total}\n`);
    if (hasSum) sink.add(`${series(sum, labels)}${sampleValue(histogram.sum as number)}\n`);
    if (!openMetrics) sink.add(infLine);
  }
}

function* writeSamples(
  sink: TextSink,
  name: string,
  metric: CollectedMetric,
  extra: string,
  prefixes: LabelPrefixes,
  warn: Warn,
  openMetrics: boolean,
): Work {
  switch (metric.dataPointType) {
    case DataPointType.SUM: {
      // Only a counter's samples carry exemplars (OpenMetrics, section "Counter"); the 0.0.4
      // format has no place for them.
      const exemplars = openMetrics && metric.isMonotonic ? warn : undefined;
      return yield* writeNumbers(sink, name, metric.dataPoints, extra, prefixes, exemplars);
    }
    case DataPointType.GAUGE:
      return yield* writeNumbers(sink, name, metric.dataPoints, extra, prefixes, undefined);
    case DataPointType.HISTOGRAM:
      return openMetrics
        ? yield* writeOpenMetricsHistograms(sink, name, metric.dataPoints, extra, prefixes, warn)
        : yield* writeHistograms(sink, name, metric.dataPoints, extra, prefixes);
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return yield* writeNativeCounts(sink, name, metric.dataPoints, extra, prefixes, openMetrics);
    default:
      // A type of data point this writer does not know yet: the family keeps its HELP and TYPE.
      warn(`points:${name}`, `metric "${name}" has data points the text format cannot hold`);
  }
}

function targetInfo(resourceMetrics: Collected, prefixes: LabelPrefixes): string {
  const labels = attributeLabels(resourceMetrics.resource.attributes, prefixes);
  return labels === '' ? `${TARGET_INFO} 1\n` : `${TARGET_INFO}{${labels}} 1\n`;
}

/**
 * The metadata of a family, or undefined when it cannot be written: a name another family has
 * taken already. In OpenMetrics that happens to a gauge `x` beside a counter `x_total`, which the
 * 0.0.4 format allows but OpenMetrics, where both families are named `x`, does not (section
 * "MetricFamily": names MUST be unique); in either format, to two names that one escaping makes
 * the same (`a.b` and `a_b` under `underscores`). The first keeps it.
 */
function familyHead(
  family: Family,
  resource: boolean,
  openMetrics: boolean,
  taken: Set<string>,
  warn: Warn,
): string | undefined {
  const described = openMetrics ? openMetricsFamily(family, resource) : undefined;
  const name = described?.name ?? family.name;
  if (taken.has(name)) {
    warn(
      `family-name:${family.name}`,
      `metric "${family.name}" has the family name "${name}" of another; left out`,
    );
    return undefined;
  }
  taken.add(name);
  return described === undefined ? metadata(family) : openMetricsMetadata(described, family.help);
}

/**
 * How this exposition writes names outside the legacy character set, which only
 * `translationStrategy: 'NoUTF8EscapingWithSuffixes'` gives (escaping.ts): the family's name
 * escaped as the scraper asked, so that its samples' suffixes follow the escaped name as in
 * client_golang (`_bucket` after `http_dot_server…__seconds`), or kept for the UTF-8 syntax; and
 * label names likewise. The default strategy's names are legacy, and its label names the stock
 * exporter's sanitising (`labelName`), as they have always been.
 */
function namesOf(options: WriterOptions): {
  family: (name: string) => string;
  label: (key: string) => string;
} {
  if (options.translationStrategy !== 'NoUTF8EscapingWithSuffixes') {
    return { family: (name) => name, label: labelName };
  }
  const scheme = options.escaping ?? 'underscores';
  const to =
    scheme !== 'allow-utf-8'
      ? scheme
      : options.format === 'openmetrics'
        ? undefined
        : 'underscores';
  if (to === undefined) {
    return {
      family: (name) => name,
      label: (key) => (isLegacyLabelName(key) ? key : quoteName(key)),
    };
  }
  return {
    family: (name) => (isLegacyMetricName(name) ? name : escapeName(name, to)),
    label: (key) => (isLegacyLabelName(key) ? key : escapeName(key, to, false)),
  };
}

/**
 * The Prometheus text exposition (format 0.0.4) of collected metrics: the same names, labels,
 * values and HELP, UNIT and TYPE lines as OpenTelemetry's `PrometheusSerializer` with no prefix,
 * no timestamps and no resource labels, in the same order (in the `semconv` naming, with the
 * family names and types of Prometheus' OTLP translation instead). It is many times faster: a
 * point's label text is made once for all its lines, label names once per exposition, bucket
 * bounds once per histogram, family names once per family, no regex runs per sample, and the text
 * is gathered in a buffer (see TextSink).
 *
 * Or, with `format: 'openmetrics'`, the same families and series in OpenMetrics 1.0.0: the
 * metadata of openmetrics-format.ts, histograms as writeOpenMetricsHistograms writes them, the
 * points' exemplars, and `# EOF` at the end.
 *
 * An exponential histogram, which neither format has buckets for, is a histogram family of its
 * count and sum (writeNativeCounts); the native half of a histogram recorded both ways is left out
 * (families.ts), its classic half carrying the series.
 */
function* writeInto(sink: TextSink, resourceMetrics: Collected, options: WriterOptions): Work {
  const names = namesOf(options);
  const prefixes: LabelPrefixes = { cache: new Map(), nameOf: names.label };
  let empty = true;
  const warn = options.warn ?? (() => undefined);
  const constant = options.constantLabels ?? '';
  const naming = options.naming ?? 'prometheus';
  const strategy = options.translationStrategy ?? 'UnderscoreEscapingWithSuffixes';
  const openMetrics = options.format === 'openmetrics';
  const taken = new Set<string>();
  const families = collectFamilies(resourceMetrics, options.targetInfo, naming, strategy, warn);
  for (const collected of families) {
    const name = names.family(collected.name);
    const family = name === collected.name ? collected : { ...collected, name };
    const resource = family.name === TARGET_INFO && options.targetInfo;
    const head = familyHead(family, resource, openMetrics, taken, warn);
    if (head === undefined) continue;
    sink.add(head);
    if (resource) sink.add(targetInfo(resourceMetrics, prefixes));
    for (const { metric, scope } of family.members) {
      if (resource && openMetrics) {
        // An instrument of the app named target_info joins the resource's family in 0.0.4, as in
        // the stock serializer; an info family's samples are the resource's alone, of value 1.
        warn(
          'openmetrics-target-info',
          'an instrument named target_info is left out of OpenMetrics, where target_info is the resource',
        );
        continue;
      }
      const extra = options.scopeInfo ? joinLabels(constant, scopeLabels(scope)) : constant;
      yield* writeSamples(sink, family.name, metric, extra, prefixes, warn, openMetrics);
      if (!resource || metric.dataPoints.length > 0) empty = false;
    }
  }
  // OpenMetrics allows no comment but its end; with nothing but target_info, the stock
  // serializer says so in a comment, and so does the 0.0.4 writer.
  if (openMetrics) sink.add(EOF);
  else if (empty) sink.add(NO_METRICS);
}

/** Runs the writer's work to its end without a pause. */
export function finish(work: Work): void {
  while (!work.next().done);
}

/**
 * Runs the writer's work in slices of about `sliceMs`, with a turn of the event loop between
 * them.
 */
export async function finishInSlices(work: Work, sliceMs: number): Promise<void> {
  let sliceStart = performance.now();
  while (!work.next().done) {
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}

export function writeExposition(resourceMetrics: Collected, options: WriterOptions): string {
  const sink = new TextSink();
  finish(writeInto(sink, resourceMetrics, options));
  return sink.text();
}

/**
 * The exposition of {@link writeExposition} as the UTF-8 bytes a response sends, in pooled chunks
 * (with no string in between, and no copy into one buffer), held by the caller, written in slices of about `sliceMs` of
 * work with a turn of the event loop between them, so that the app's requests and the
 * endpoint's own timers (the scrape deadline) are not held up while a large exposition is
 * written: at 10,000 histogram series the text is about 15 MB and takes 40-80 ms to write in one
 * piece.
 */
export async function writeExpositionInSlices(
  resourceMetrics: Collected,
  options: WriterOptions,
  sliceMs: number,
): Promise<Body> {
  const sink = new TextSink();
  await finishInSlices(writeInto(sink, resourceMetrics, options), sliceMs);
  return sink.bytes();
}
