/**
 * Prometheus' protobuf exposition: `io.prometheus.client.MetricFamily` messages, each after its
 * length as a varint (the `encoding=delimited` of accept.ts `PROTOBUF_CONTENT_TYPE`), the one
 * format that carries native histograms. Field numbers and types are those of
 * prometheus/client_model io/prometheus/client/metrics.proto (vendored as
 * test/fixtures/prometheus/metrics.proto, against which the tests decode this output); the
 * encoding is protobuf's own (protobuf.dev, "Encoding"): a tag is `field << 3 | wire type`, varints 7 bits a byte, least significant first,
 * `sint` values zigzagged, `double` 8 bytes little-endian, strings and messages after their length.
 *
 * The families, names, labels (and their order), HELP and types are those of the 0.0.4 text
 * writer (writer.ts, families.ts), so a Prometheus that negotiates this format stores the series
 * of the text format, with native histograms where the collection has exponential ones.
 *
 * Written by hand rather than by a generated encoder, for speed: the bytes go straight into one
 * growing buffer; a message's length is written before it in a byte or two left for it (moved when
 * that guess is wrong), each label name is encoded once per exposition, the scope and constant
 * labels once per member of a family.
 */

import type { Attributes } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type {
  Collected,
  CollectedScope,
  Exemplar,
  ExponentialHistogramValue,
  HistogramValue,
  Point,
} from './collected.js';
import { escapeName, isLegacyLabelName, isLegacyMetricName } from './escaping.js';
import {
  collectFamilies,
  TARGET_INFO,
  type ExponentialMetric,
  type Family,
  type Member,
} from './families.js';
import { nativeHistogram, type BucketSpan, type NativeHistogram } from './native-histogram.js';
import { exemplarLabelsFit, openMetricsFamily } from './openmetrics-format.js';
import { labelName } from './text-format.js';
import {
  finish,
  finishInSlices,
  POINTS_PER_CHECK,
  type Warn,
  type Work,
  type WriterOptions,
} from './writer.js';

/** metrics.proto `MetricType`. */
const COUNTER = 0;
const GAUGE = 1;
const UNTYPED = 3;
const HISTOGRAM = 4;

// Tags, `field << 3 | wire type` (0 varint, 1 fixed 64 bits, 2 length-delimited).
/** MetricFamily: name = 1, help = 2, type = 3, metric = 4, unit = 5. */
const FAMILY_NAME = 0x0a;
const FAMILY_HELP = 0x12;
const FAMILY_TYPE = 0x18;
const FAMILY_METRIC = 0x22;
const FAMILY_UNIT = 0x2a;
/** Metric: label = 1, gauge = 2, counter = 3, untyped = 5, histogram = 7. */
const METRIC_LABEL = 0x0a;
const METRIC_GAUGE = 0x12;
const METRIC_COUNTER = 0x1a;
const METRIC_UNTYPED = 0x2a;
const METRIC_HISTOGRAM = 0x3a;
/** LabelPair: name = 1, value = 2. */
const PAIR_NAME = 0x0a;
const PAIR_VALUE = 0x12;
/** Gauge, Counter, Untyped: value = 1 (double); Counter: exemplar = 2. */
const VALUE = 0x09;
const COUNTER_EXEMPLAR = 0x12;
/**
 * Histogram: sample_count = 1, sample_sum = 2, bucket = 3, schema = 5 (sint32), zero_threshold =
 * 6, zero_count = 7, negative_span = 9, negative_delta = 10 (sint64), positive_span = 12,
 * positive_delta = 13 (sint64).
 */
const SAMPLE_COUNT = 0x08;
const SAMPLE_SUM = 0x11;
const BUCKET = 0x1a;
const SCHEMA = 0x28;
const ZERO_THRESHOLD = 0x31;
const ZERO_COUNT = 0x38;
const NEGATIVE_SPAN = 0x4a;
const NEGATIVE_DELTA = 0x50;
const POSITIVE_SPAN = 0x62;
const POSITIVE_DELTA = 0x68;
/** Bucket: cumulative_count = 1, upper_bound = 2, exemplar = 3. */
const CUMULATIVE_COUNT = 0x08;
const UPPER_BOUND = 0x11;
const BUCKET_EXEMPLAR = 0x1a;
/** BucketSpan: offset = 1 (sint32), length = 2. */
const SPAN_OFFSET = 0x08;
const SPAN_LENGTH = 0x10;
/** Exemplar: label = 1, value = 2, timestamp = 3; Timestamp: seconds = 1, nanos = 2. */
const EXEMPLAR_LABEL = 0x0a;
const EXEMPLAR_VALUE = 0x11;
const EXEMPLAR_TIMESTAMP = 0x1a;
const SECONDS = 0x08;
const NANOS = 0x10;

/** Bytes the first buffer holds; it doubles as needed. */
const INITIAL_BYTES = 64 * 1024;

/** The bytes the varint of a non-negative integer takes. */
function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let size = 4;
  for (let rest = Math.floor(value / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/**
 * Writes the varint of a non-negative integer up to 2^53 (uint64 values beyond do not occur here)
 * at `pos`, which has room for it; returns the position after it.
 */
function putVarint(buffer: Buffer, pos: number, value: number): number {
  let at = pos;
  let rest = value;
  while (rest >= 0x80) {
    // The low 7 bits survive the 32-bit conversion of `&` whatever the size of `rest`.
    buffer[at++] = (rest & 0x7f) | 0x80;
    rest = rest >= 0x80000000 ? Math.floor(rest / 0x80) : rest >>> 7;
  }
  buffer[at++] = rest;
  return at;
}

/** A double's bytes, read through a typed array of the machine's byte order. */
const DOUBLE = new Float64Array(1);
const DOUBLE_BYTES = new Uint8Array(DOUBLE.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Writes a `double` (8 bytes, little-endian) at `pos`, which has room for it; returns the position
 * after it. Buffer's `writeDoubleLE` does the same behind checks of its arguments that cost more
 * than the copy, at one call per sample.
 */
function putDouble(buffer: Buffer, pos: number, value: number): number {
  DOUBLE[0] = value;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) buffer[pos + i] = DOUBLE_BYTES[i] as number;
  } else {
    for (let i = 0; i < 8; i++) buffer[pos + i] = DOUBLE_BYTES[7 - i] as number;
  }
  return pos + 8;
}

/** A `sint32` or `sint64` value zigzagged, so that small negative numbers stay short. */
function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/**
 * The protobuf bytes of an exposition, in one buffer that grows as it fills. Every write makes
 * room for itself first.
 */
class ProtoSink {
  private buffer: Buffer;
  private pos = 0;

  /** `bytes`: what the buffer holds at first, an exposition's or a few labels'. */
  constructor(bytes = INITIAL_BYTES) {
    this.buffer = Buffer.allocUnsafe(bytes);
  }

  private room(bytes: number): void {
    if (this.pos + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.pos + bytes));
      this.buffer.copy(grown, 0, 0, this.pos);
      this.buffer = grown;
    }
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.pos++] = value;
  }

  varint(value: number): void {
    this.room(10);
    this.pos = putVarint(this.buffer, this.pos, value);
  }

  /** A signed int64 varint (two's complement, 10 bytes for a negative number). */
  int64(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    let rest = BigInt.asUintN(64, BigInt(value));
    this.room(10);
    while (rest >= 0x80n) {
      this.buffer[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buffer[this.pos++] = Number(rest);
  }

  sint(value: number): void {
    this.varint(zigzag(value));
  }

  /**
   * A classic histogram's `Bucket` field without an exemplar, in one go: the commonest message of
   * an exposition.
   */
  bucket(cumulative: number, bound: number): void {
    this.room(21);
    const buffer = this.buffer;
    let pos = this.pos;
    buffer[pos++] = BUCKET;
    buffer[pos++] = 10 + varintSize(cumulative);
    buffer[pos++] = CUMULATIVE_COUNT;
    pos = putVarint(buffer, pos, cumulative);
    buffer[pos++] = UPPER_BOUND;
    this.pos = putDouble(buffer, pos, bound);
  }

  /** `BucketSpan` fields after `tag`, each's length computed rather than patched. */
  spans(tag: number, spans: readonly BucketSpan[]): void {
    this.room(spans.length * 18);
    const buffer = this.buffer;
    let pos = this.pos;
    for (const span of spans) {
      const offset = zigzag(span.offset);
      buffer[pos++] = tag;
      buffer[pos++] = 2 + varintSize(offset) + varintSize(span.length);
      buffer[pos++] = SPAN_OFFSET;
      pos = putVarint(buffer, pos, offset);
      buffer[pos++] = SPAN_LENGTH;
      pos = putVarint(buffer, pos, span.length);
    }
    this.pos = pos;
  }

  /**
   * Repeated `sint64` fields after `tag`, unpacked: proto2's encoding of a repeated field not
   * marked packed, as client_golang writes them (parsers read either).
   */
  sints(tag: number, values: readonly number[]): void {
    this.room(values.length * 11);
    const buffer = this.buffer;
    let pos = this.pos;
    for (const value of values) {
      buffer[pos++] = tag;
      pos = putVarint(buffer, pos, zigzag(value));
    }
    this.pos = pos;
  }

  double(value: number): void {
    this.room(8);
    this.pos = putDouble(this.buffer, this.pos, value);
  }

  /** A string's UTF-8 bytes after their length. */
  string(text: string): void {
    const length = text.length;
    // At most 3 bytes per UTF-16 code unit: up to 42 of them take less than 128 bytes, whose
    // length is one byte; ASCII text is copied code by code, which beats a native call that short.
    if (length <= 42) {
      this.room(1 + length * 3);
      const buffer = this.buffer;
      const start = this.pos;
      let pos = start + 1;
      for (let i = 0; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) {
          pos = start + 1 + buffer.write(text, start + 1, 'utf8');
          break;
        }
        buffer[pos++] = code;
      }
      buffer[start] = pos - start - 1;
      this.pos = pos;
      return;
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    this.varint(bytes);
    this.room(bytes);
    this.pos += this.buffer.write(text, this.pos, 'utf8');
  }

  /** Bytes encoded beforehand. */
  raw(bytes: Uint8Array): void {
    const length = bytes.length;
    this.room(length);
    if (length <= 16) {
      const buffer = this.buffer;
      let pos = this.pos;
      for (let i = 0; i < length; i++) buffer[pos++] = bytes[i] as number;
      this.pos = pos;
    } else {
      this.buffer.set(bytes, this.pos);
      this.pos += length;
    }
  }

  /**
   * Starts a length-delimited body (a message, or the exposition's next MetricFamily), leaving
   * `guess` bytes for its length; returns where, for {@link end}.
   */
  begin(guess: number): number {
    this.room(guess);
    const start = this.pos;
    this.pos += guess;
    return start;
  }

  /** Writes the length of the body begun at `start`, moving the body if it needs more or fewer bytes than guessed. */
  end(start: number, guess: number): void {
    const length = this.pos - start - guess;
    const size = varintSize(length);
    if (size !== guess) {
      if (size > guess) this.room(size - guess);
      this.buffer.copyWithin(start + size, start + guess, this.pos);
      this.pos += size - guess;
    }
    putVarint(this.buffer, start, length);
  }

  /** Everything written, without the spare room of a buffer that grew by doubling (as TextSink). */
  bytes(): Buffer {
    if (this.buffer.length - this.pos > this.pos / 4 && this.pos > INITIAL_BYTES) {
      const exact = Buffer.allocUnsafeSlow(this.pos);
      this.buffer.copy(exact, 0, 0, this.pos);
      return exact;
    }
    return this.buffer.subarray(0, this.pos);
  }
}

/** One label, to be encoded as a `LabelPair` field of a Metric. */
interface Label {
  readonly name: string;
  readonly value: string;
}

/** The `Metric.label` fields of `labels`, encoded once to be copied into every metric of a member. */
function encodeLabels(labels: readonly Label[]): Buffer {
  const sink = new ProtoSink(256);
  for (const { name, value } of labels) {
    sink.byte(METRIC_LABEL);
    const pair = sink.begin(1);
    sink.byte(PAIR_NAME);
    sink.string(name);
    sink.byte(PAIR_VALUE);
    sink.string(value);
    sink.end(pair, 1);
  }
  return Buffer.from(sink.bytes());
}

/**
 * The labels of option `constantLabels`, which come as the text format writes them
 * (`name="value",…`, the value escaped): read back into names and values.
 */
export function parseConstantLabels(text: string): Label[] {
  const labels: Label[] = [];
  let i = 0;
  const quoted = (): string => {
    // At an opening quote: the escaped string up to its closing quote.
    let out = '';
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text[i] === '\\' && i + 1 < text.length) {
        i++;
        out += text[i] === 'n' ? '\n' : text[i];
      } else {
        out += text[i];
      }
    }
    i++;
    return out;
  };
  while (i < text.length) {
    let name: string;
    if (text[i] === '"') {
      name = quoted();
    } else {
      const equals = text.indexOf('=', i);
      if (equals < 0) break;
      name = text.slice(i, equals);
      i = equals;
    }
    // At `=`, then the value's opening quote.
    i++;
    if (text[i] !== '"') break;
    labels.push({ name, value: quoted() });
    if (text[i] === ',') i++;
  }
  return labels;
}

/**
 * How names are written: as the text writers write them (writer.ts `namesOf`), except that the
 * UTF-8 names a scraper allows need no quotes here, protobuf carrying every name as a plain string
 * (escaping_schemes.md: with `allow-utf-8`, "no escaping"). The default translation's names are
 * legacy, and its label names the stock exporter's sanitising (`labelName`).
 */
function namesOf(options: WriterOptions): {
  family: (name: string) => string;
  label: (key: string) => string;
} {
  if (options.translationStrategy !== 'NoUTF8EscapingWithSuffixes') {
    return { family: (name) => name, label: labelName };
  }
  const scheme = options.escaping ?? 'underscores';
  if (scheme === 'allow-utf-8') return { family: (name) => name, label: (key) => key };
  return {
    family: (name) => (isLegacyMetricName(name) ? name : escapeName(name, scheme)),
    label: (key) => (isLegacyLabelName(key) ? key : escapeName(key, scheme, false)),
  };
}

/** The label value of an attribute value, unescaped: as text-format.ts `labelValue` reads it. */
function attributeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return String(JSON.stringify(value));
}

/** What one exposition keeps while it writes. */
interface Context {
  readonly sink: ProtoSink;
  readonly warn: Warn;
  /** The encoded `LabelPair` name field (tag, length, name) of each attribute key. */
  readonly labelNames: Map<string, Buffer>;
  readonly labelName: (key: string) => string;
  readonly maxSchema: number | undefined;
  /** Points written since the last pause. */
  written: number;
}

/** The point's own labels, as `Metric.label` fields, in the attributes' order. */
function writeAttributes(context: Context, attributes: Attributes): void {
  const { sink, labelNames } = context;
  for (const key of Object.keys(attributes)) {
    let name = labelNames.get(key);
    if (name === undefined) {
      const encoder = new ProtoSink(64);
      encoder.byte(PAIR_NAME);
      encoder.string(context.labelName(key));
      name = Buffer.from(encoder.bytes());
      labelNames.set(key, name);
    }
    sink.byte(METRIC_LABEL);
    const pair = sink.begin(1);
    sink.raw(name);
    sink.byte(PAIR_VALUE);
    sink.string(attributeValue(attributes[key]));
    sink.end(pair, 1);
  }
}

/** An `Exemplar` message after `tag`, with the two labels of a trace (as OpenMetrics'). */
function writeExemplar(sink: ProtoSink, tag: number, exemplar: Exemplar): void {
  sink.byte(tag);
  const start = sink.begin(1);
  sink.byte(EXEMPLAR_LABEL);
  let pair = sink.begin(1);
  sink.byte(PAIR_NAME);
  sink.string('trace_id');
  sink.byte(PAIR_VALUE);
  sink.string(exemplar.traceId);
  sink.end(pair, 1);
  sink.byte(EXEMPLAR_LABEL);
  pair = sink.begin(1);
  sink.byte(PAIR_NAME);
  sink.string('span_id');
  sink.byte(PAIR_VALUE);
  sink.string(exemplar.spanId);
  sink.end(pair, 1);
  sink.byte(EXEMPLAR_VALUE);
  sink.double(exemplar.value);
  // google.protobuf.Timestamp; left out when not a number, as OpenMetrics' text leaves it out.
  if (Number.isFinite(exemplar.timestamp)) {
    const seconds = Math.floor(exemplar.timestamp / 1000);
    const nanos = Math.min(999_999_999, Math.round((exemplar.timestamp - seconds * 1000) * 1e6));
    sink.byte(EXEMPLAR_TIMESTAMP);
    const timestamp = sink.begin(1);
    sink.byte(SECONDS);
    sink.int64(seconds);
    if (nanos > 0) {
      sink.byte(NANOS);
      sink.varint(nanos);
    }
    sink.end(timestamp, 1);
  }
  sink.end(start, 1);
}

/**
 * Whether an exemplar can be written, as the OpenMetrics writer decides (writer.ts `exemplarOf`):
 * labels within their limit, and for a bucket (`bound`) a value within it.
 */
function writable(
  exemplar: Exemplar,
  name: string,
  bound: number | undefined,
  warn: Warn,
): boolean {
  if (bound !== undefined && !(exemplar.value <= bound)) {
    warn(
      `exemplar-bucket:${name}`,
      `metric "${name}" has an exemplar outside its bucket; left out`,
    );
    return false;
  }
  if (!exemplarLabelsFit(exemplar)) {
    warn(
      `exemplar-length:${name}`,
      `metric "${name}" has an exemplar whose labels are too long; left out`,
    );
    return false;
  }
  return true;
}

/**
 * Counters, gauges and untyped metrics: one `Metric` each, its value in the field of the family's
 * type; a counter's exemplar (index 0) in its `Counter`.
 */
function* writeNumbers(
  context: Context,
  name: string,
  type: number,
  points: ReadonlyArray<Point<number>>,
  extra: Buffer,
): Work {
  const { sink, warn } = context;
  const field = type === COUNTER ? METRIC_COUNTER : type === GAUGE ? METRIC_GAUGE : METRIC_UNTYPED;
  for (const point of points) {
    if (++context.written % POINTS_PER_CHECK === 0) yield;
    sink.byte(FAMILY_METRIC);
    const metric = sink.begin(1);
    writeAttributes(context, point.attributes);
    sink.raw(extra);
    sink.byte(field);
    const exemplar = type === COUNTER ? point.exemplars?.[0] : undefined;
    if (exemplar === undefined || !writable(exemplar, name, undefined, warn)) {
      sink.byte(9);
      sink.byte(VALUE);
      sink.double(point.value);
    } else {
      const value = sink.begin(1);
      sink.byte(VALUE);
      sink.double(point.value);
      writeExemplar(sink, COUNTER_EXEMPLAR, exemplar);
      sink.end(value, 1);
    }
    sink.end(metric, 1);
  }
}

/** The native fields of a `Histogram` (metrics.proto, "Everything below here is for native histograms"). */
function writeNative(sink: ProtoSink, native: NativeHistogram): void {
  sink.byte(SCHEMA);
  sink.sint(native.schema);
  sink.byte(ZERO_THRESHOLD);
  sink.double(native.zeroThreshold);
  sink.byte(ZERO_COUNT);
  sink.varint(native.zeroCount);
  sink.spans(NEGATIVE_SPAN, native.negative.spans);
  sink.sints(NEGATIVE_DELTA, native.negative.deltas);
  sink.spans(POSITIVE_SPAN, native.positive.spans);
  sink.sints(POSITIVE_DELTA, native.positive.deltas);
  if (
    native.zeroThreshold === 0 &&
    native.zeroCount === 0 &&
    native.positive.spans.length === 0 &&
    native.negative.spans.length === 0
  ) {
    // "Use a no-op span (offset 0, length 0) for a native histogram without any observations yet
    // and with a zero_threshold of 0. Otherwise, it would be indistinguishable from a classic
    // histogram." (metrics.proto, field positive_span.)
    sink.byte(POSITIVE_SPAN);
    sink.byte(4);
    sink.byte(SPAN_OFFSET);
    sink.byte(0);
    sink.byte(SPAN_LENGTH);
    sink.byte(0);
  }
}

/**
 * The native histogram of an exponential point, or undefined with a warning when it has none
 * (a scale below Prometheus' lowest schema, native-histogram.ts `nativeSchema`).
 */
function nativeOf(
  context: Context,
  name: string,
  value: ExponentialHistogramValue,
): NativeHistogram | undefined {
  const native = nativeHistogram(value, context.maxSchema);
  if (native === undefined) {
    context.warn(
      `native-schema:${name}`,
      `metric "${name}" has a native histogram of scale ${value.scale}, below Prometheus' lowest schema (-4); written without its native buckets`,
    );
  }
  return native;
}

/** The bounds of one classic bucket layout as the text writer writes them, kept while points share it. */
interface Layout {
  readonly boundaries: readonly number[];
  readonly buckets: number;
  /** The upper bound of each bucket written; after an explicit `Infinity` the overflow bucket is not. */
  readonly bounds: number[];
}

function layoutOf(histogram: HistogramValue, cached: Layout | undefined): Layout {
  const { boundaries, counts } = histogram.buckets;
  if (cached?.boundaries === boundaries && cached.buckets === counts.length) return cached;
  const bounds: number[] = [];
  let infinite = false;
  for (let i = 0; i < counts.length; i++) {
    const bound = boundaries[i];
    if (bound === undefined && infinite) break;
    if (bound === Infinity) infinite = true;
    bounds.push(bound ?? Infinity);
  }
  return { boundaries, buckets: counts.length, bounds };
}

/** A `Bucket` of a classic histogram, with its exemplar if it has one that can be written. */
function writeBucket(
  context: Context,
  name: string,
  cumulative: number,
  bound: number,
  exemplar: Exemplar | undefined,
): void {
  const { sink } = context;
  if (exemplar === undefined || !writable(exemplar, name, bound, context.warn)) {
    sink.bucket(cumulative, bound);
    return;
  }
  sink.byte(BUCKET);
  const start = sink.begin(1);
  sink.byte(CUMULATIVE_COUNT);
  sink.varint(cumulative);
  sink.byte(UPPER_BOUND);
  sink.double(bound);
  writeExemplar(sink, BUCKET_EXEMPLAR, exemplar);
  sink.end(start, 1);
}

/**
 * The native point of each classic point of a histogram recorded both ways: the one of the same
 * attributes. The two Views of one instrument list their series alike, so the point at the same
 * position is tried first; a map by attributes is built only if that fails.
 */
class NativePoints {
  private byKey: Map<string, Point<ExponentialHistogramValue>> | undefined;

  constructor(private readonly points: ReadonlyArray<Point<ExponentialHistogramValue>>) {}

  find(attributes: Attributes, at: number): Point<ExponentialHistogramValue> | undefined {
    const candidate = this.points[at];
    if (candidate !== undefined && sameAttributes(candidate.attributes, attributes)) {
      return candidate;
    }
    if (this.byKey === undefined) {
      this.byKey = new Map();
      for (const point of this.points) this.byKey.set(attributesKey(point.attributes), point);
    }
    return this.byKey.get(attributesKey(attributes));
  }
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!(key in b) || attributeValue(a[key]) !== attributeValue(b[key])) return false;
  }
  return true;
}

function attributesKey(attributes: Attributes): string {
  return JSON.stringify(
    Object.keys(attributes)
      .sort()
      .map((key) => [key, attributeValue(attributes[key])]),
  );
}

/** Where a Metric message and its Histogram begin, for {@link closeHistogram}. */
interface OpenHistogram {
  readonly metric: number;
  readonly body: number;
}

/**
 * Opens a Metric with the point's labels and its Histogram with the count and, where kept, the
 * sum: what classic and native histograms share.
 */
function openHistogram(
  context: Context,
  point: Point<{ readonly count: number; readonly sum?: number }>,
  extra: Buffer,
): OpenHistogram {
  const { sink } = context;
  sink.byte(FAMILY_METRIC);
  const metric = sink.begin(2);
  writeAttributes(context, point.attributes);
  sink.raw(extra);
  sink.byte(METRIC_HISTOGRAM);
  const body = sink.begin(2);
  sink.byte(SAMPLE_COUNT);
  sink.varint(point.value.count);
  const { sum } = point.value;
  if (sum !== undefined && sum !== null) {
    sink.byte(SAMPLE_SUM);
    sink.double(sum);
  }
  return { metric, body };
}

function closeHistogram(sink: ProtoSink, opened: OpenHistogram): void {
  sink.end(opened.body, 2);
  sink.end(opened.metric, 2);
}

/**
 * Classic histograms: `sample_count`, `sample_sum` (when the point has a sum) and the cumulative
 * buckets, `+Inf` included, each with its exemplar; with `native` (a histogram recorded both
 * ways), the native buckets of the point of the same attributes in the same message, which is how
 * Prometheus' clients expose a histogram with both kinds of buckets (client_golang
 * prometheus/histogram.go `Write`). Prometheus reads them as one histogram, classic and native,
 * and keeps what its configuration asks for (`always_scrape_classic_histograms`).
 */
function* writeHistograms(
  context: Context,
  name: string,
  points: ReadonlyArray<Point<HistogramValue>>,
  extra: Buffer,
  native: ExponentialMetric | undefined,
): Work {
  const { sink } = context;
  const natives = native === undefined ? undefined : new NativePoints(native.dataPoints);
  let layout: Layout | undefined;
  let at = 0;
  for (const point of points) {
    if (++context.written % POINTS_PER_CHECK === 0) yield;
    const histogram = point.value;
    const opened = openHistogram(context, point, extra);
    layout = layoutOf(histogram, layout);
    const { bounds } = layout;
    const { counts } = histogram.buckets;
    const { exemplars } = point;
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += counts[i] as number;
      writeBucket(context, name, cumulative, bounds[i] as number, exemplars?.[i]);
    }
    const nativePoint = natives?.find(point.attributes, at);
    if (nativePoint !== undefined) {
      // Prometheus rejects a native histogram whose buckets do not add up to its count
      // (model/histogram/histogram.go `Validate`): the count is the classic one here, which can
      // differ from the exponential aggregation's (the SDK's classic histogram counts infinite
      // values, its exponential one drops them), and then only the classic buckets are written.
      if (nativePoint.value.count !== histogram.count) {
        context.warn(
          `native-count:${name}`,
          `metric "${name}" has native buckets of another count than its classic ones; written with its classic buckets only`,
        );
      } else {
        const buckets = nativeOf(context, name, nativePoint.value);
        if (buckets !== undefined) writeNative(sink, buckets);
      }
    }
    closeHistogram(sink, opened);
    at++;
  }
}

/**
 * Exponential histograms alone (`latencyHistogram: 'native'`): count, sum and the native buckets,
 * no classic ones. A point whose scale Prometheus cannot read is written as a classic histogram
 * of its `+Inf` bucket alone, which is what the text formats write of every such point.
 */
function* writeExponential(
  context: Context,
  name: string,
  points: ReadonlyArray<Point<ExponentialHistogramValue>>,
  extra: Buffer,
): Work {
  const { sink } = context;
  for (const point of points) {
    if (++context.written % POINTS_PER_CHECK === 0) yield;
    const histogram = point.value;
    const opened = openHistogram(context, point, extra);
    const native = nativeOf(context, name, histogram);
    if (native === undefined) writeBucket(context, name, histogram.count, Infinity, undefined);
    else writeNative(sink, native);
    closeHistogram(sink, opened);
  }
}

function typeNumber(type: string): number {
  switch (type) {
    case 'counter':
      return COUNTER;
    case 'gauge':
      return GAUGE;
    case 'histogram':
      return HISTOGRAM;
    default:
      return UNTYPED;
  }
}

/** The scope's labels, after the constant ones, as the text writer orders them. */
function scopeLabels(scope: CollectedScope['scope']): Label[] {
  const labels: Label[] = [{ name: 'otel_scope_name', value: scope.name }];
  if (scope.schemaUrl) labels.push({ name: 'otel_scope_schema_url', value: scope.schemaUrl });
  if (scope.version) labels.push({ name: 'otel_scope_version', value: scope.version });
  return labels;
}

function* writeMember(
  context: Context,
  family: Family,
  type: number,
  member: Member,
  extra: Buffer,
): Work {
  const { metric } = member;
  switch (metric.dataPointType) {
    case DataPointType.SUM:
    case DataPointType.GAUGE:
      return yield* writeNumbers(context, family.name, type, metric.dataPoints, extra);
    case DataPointType.HISTOGRAM:
      return yield* writeHistograms(context, family.name, metric.dataPoints, extra, member.native);
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return yield* writeExponential(context, family.name, metric.dataPoints, extra);
    default:
      context.warn(
        `points:${family.name}`,
        `metric "${family.name}" has data points the protobuf format cannot hold`,
      );
  }
}

/**
 * Every family of the text writer's 0.0.4 exposition, in its order: `target_info` first when
 * asked (a gauge, as in 0.0.4, which has no info type either), then one MetricFamily per family
 * name with the HELP of the text (`description missing` for none, as the stock serializer's, so
 * that the metadata Prometheus keeps does not depend on the format it negotiated), the type, and
 * the unit of the OpenMetrics text (openmetrics-format.ts `openMetricsFamily`: the Prometheus unit
 * when the name ends in it), not the 0.0.4 text's `# UNIT` comment of the OpenTelemetry unit,
 * which Prometheus does not read: this field it stores, as it stores OpenMetrics' `# UNIT`.
 */
function* writeInto(sink: ProtoSink, resourceMetrics: Collected, options: WriterOptions): Work {
  const names = namesOf(options);
  const warn = options.warn ?? (() => undefined);
  const context: Context = {
    sink,
    warn,
    labelNames: new Map(),
    labelName: names.label,
    maxSchema: options.nativeHistogramMaxScale,
    written: 0,
  };
  const constant = parseConstantLabels(options.constantLabels ?? '');
  const naming = options.naming ?? 'prometheus';
  const strategy = options.translationStrategy ?? 'UnderscoreEscapingWithSuffixes';
  const taken = new Set<string>();
  const families = collectFamilies(resourceMetrics, options.targetInfo, naming, strategy, warn);
  for (const collected of families) {
    const name = names.family(collected.name);
    const family = name === collected.name ? collected : { ...collected, name };
    const resource = family.name === TARGET_INFO && options.targetInfo;
    // Two names that one escaping makes the same: the first keeps it, as in the text formats.
    if (taken.has(name)) {
      warn(
        `family-name:${collected.name}`,
        `metric "${collected.name}" has the family name "${name}" of another; left out`,
      );
      continue;
    }
    taken.add(name);
    const type = typeNumber(family.type);
    const start = sink.begin(3);
    sink.byte(FAMILY_NAME);
    sink.string(name);
    sink.byte(FAMILY_HELP);
    sink.string(family.help === '' ? 'description missing' : family.help);
    sink.byte(FAMILY_TYPE);
    sink.varint(type);
    if (resource) {
      sink.byte(FAMILY_METRIC);
      const metric = sink.begin(2);
      writeAttributes(context, resourceMetrics.resource.attributes);
      sink.byte(METRIC_GAUGE);
      sink.byte(9);
      sink.byte(VALUE);
      sink.double(1);
      sink.end(metric, 2);
    }
    for (const member of family.members) {
      const labels = options.scopeInfo ? [...constant, ...scopeLabels(member.scope)] : constant;
      const extra = encodeLabels(labels);
      yield* writeMember(context, family, type, member, extra);
    }
    const unit = openMetricsFamily(family, resource).unit;
    if (unit !== '') {
      sink.byte(FAMILY_UNIT);
      sink.string(unit);
    }
    sink.end(start, 3);
  }
}

/**
 * The protobuf exposition of collected metrics (see the top of this file): the length-delimited
 * MetricFamily messages of every family the 0.0.4 text writer writes, in its order. The options
 * are the text writer's; `format` does not apply, and `escaping: 'allow-utf-8'` keeps UTF-8
 * names as they are.
 */
export function writeProtobuf(resourceMetrics: Collected, options: WriterOptions): Buffer {
  const sink = new ProtoSink();
  finish(writeInto(sink, resourceMetrics, options));
  return sink.bytes();
}

/**
 * {@link writeProtobuf}'s bytes, written in slices of about `sliceMs` of work with a turn of the
 * event loop between them, as writer.ts `writeExpositionInSlices` writes the text.
 */
export async function writeProtobufInSlices(
  resourceMetrics: Collected,
  options: WriterOptions,
  sliceMs: number,
): Promise<Buffer> {
  const sink = new ProtoSink();
  await finishInSlices(writeInto(sink, resourceMetrics, options), sliceMs);
  return sink.bytes();
}
