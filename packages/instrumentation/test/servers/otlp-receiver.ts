/*
 * A real OTLP/HTTP metrics receiver for tests: what the package exports is checked as a collector
 * would receive it, in both encodings OTLP/HTTP allows, without running a collector.
 *
 * Both encodings go through one decoder. Each OTLP message is read through a `View` that knows the
 * message's OTLP/JSON keys and protobuf field numbers (one table per message, below), so every
 * field is turned into the decoded shape by the same code whichever encoding carried it, and the
 * two cannot drift apart.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// The decoded shape, the same for both encodings. Fields proto3 gives a default (0, '', false,
// empty) are always present; fields with presence (a oneof, `optional`) only when they were sent.

/** An attribute value; int64s are numbers (see `toNumber`), bytes are Buffers, an unset one is null. */
export type AttrValue =
  string | number | boolean | Uint8Array | null | AttrValue[] | { [key: string]: AttrValue };

export type Attributes = Record<string, AttrValue>;

export interface MetricsPayload {
  resourceMetrics: ResourceMetrics[];
}

export interface ResourceMetrics {
  resource: Attributes;
  schemaUrl: string;
  scopes: ScopeMetrics[];
}

export interface ScopeMetrics {
  name: string;
  version: string;
  attributes: Attributes;
  schemaUrl: string;
  metrics: Metric[];
}

export type MetricKind = 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary';

export type Temporality = 'unspecified' | 'delta' | 'cumulative';

export interface Metric {
  name: string;
  description: string;
  unit: string;
  kind: MetricKind;
  /** Sums, histograms and exponential histograms. */
  temporality?: Temporality;
  /** Sums only. */
  monotonic?: boolean;
  points: DataPoint[];
  /** `Metric.metadata`, when any was sent. */
  metadata?: Attributes;
}

export interface Buckets {
  offset: number;
  bucketCounts: number[];
}

export interface DataPoint {
  attributes: Attributes;
  /** Nanoseconds since the epoch, in decimal: a number cannot hold them exactly. */
  startTimeUnixNano: string;
  timeUnixNano: string;
  /** Sums and gauges: the value, when the point carries one, and which of the two fields held it. */
  value?: number;
  valueType?: 'int' | 'double';
  /** Histograms of both kinds and summaries. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  /** Explicit-bucket histograms. */
  bucketCounts?: number[];
  explicitBounds?: number[];
  /** Exponential histograms. */
  scale?: number;
  zeroCount?: number;
  zeroThreshold?: number;
  positive?: Buckets;
  negative?: Buckets;
  /** Summaries. */
  quantiles?: Array<{ quantile: number; value: number }>;
  /** When not 0. */
  flags?: number;
  /** When any. */
  exemplars?: Exemplar[];
}

export interface Exemplar {
  filteredAttributes: Attributes;
  timeUnixNano: string;
  value?: number;
  valueType?: 'int' | 'double';
  /** Lowercase hex, '' when not sent. */
  spanId: string;
  traceId: string;
}

export interface Decoded {
  payload: MetricsPayload;
  /**
   * Paths of fields that are not in the OTLP messages this decoder knows, e.g.
   * `resourceMetrics[0].resource.dropped_attributes_count` (a key that is not lowerCamelCase) or
   * `resourceMetrics[0].resource#9` (a field number). OTLP tells receivers to skip them; a test
   * can tell an exporter to send none.
   */
  unknownFields: string[];
}

/** What a receiver refuses as malformed (answered 400); the message names the field. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

// ---------------------------------------------------------------------------------------------
// The OTLP messages: each field's OTLP/JSON key and its protobuf field number, from
// opentelemetry-proto (collector/metrics/v1/metrics_service.proto, metrics/v1/metrics.proto,
// common/v1/common.proto, resource/v1/resource.proto).

const FIELDS = {
  ExportMetricsServiceRequest: { resourceMetrics: 1 },
  ResourceMetrics: { resource: 1, scopeMetrics: 2, schemaUrl: 3 },
  Resource: { attributes: 1, droppedAttributesCount: 2, entityRefs: 3 },
  ScopeMetrics: { scope: 1, metrics: 2, schemaUrl: 3 },
  InstrumentationScope: { name: 1, version: 2, attributes: 3, droppedAttributesCount: 4 },
  KeyValue: { key: 1, value: 2, keyStrindex: 3 },
  AnyValue: {
    stringValue: 1,
    boolValue: 2,
    intValue: 3,
    doubleValue: 4,
    arrayValue: 5,
    kvlistValue: 6,
    bytesValue: 7,
    stringValueStrindex: 8,
  },
  ArrayValue: { values: 1 },
  KeyValueList: { values: 1 },
  Metric: {
    name: 1,
    description: 2,
    unit: 3,
    gauge: 5,
    sum: 7,
    histogram: 9,
    exponentialHistogram: 10,
    summary: 11,
    metadata: 12,
  },
  Gauge: { dataPoints: 1 },
  Sum: { dataPoints: 1, aggregationTemporality: 2, isMonotonic: 3 },
  Histogram: { dataPoints: 1, aggregationTemporality: 2 },
  ExponentialHistogram: { dataPoints: 1, aggregationTemporality: 2 },
  Summary: { dataPoints: 1 },
  NumberDataPoint: {
    attributes: 7,
    startTimeUnixNano: 2,
    timeUnixNano: 3,
    asDouble: 4,
    asInt: 6,
    exemplars: 5,
    flags: 8,
  },
  HistogramDataPoint: {
    attributes: 9,
    startTimeUnixNano: 2,
    timeUnixNano: 3,
    count: 4,
    sum: 5,
    bucketCounts: 6,
    explicitBounds: 7,
    exemplars: 8,
    flags: 10,
    min: 11,
    max: 12,
  },
  ExponentialHistogramDataPoint: {
    attributes: 1,
    startTimeUnixNano: 2,
    timeUnixNano: 3,
    count: 4,
    sum: 5,
    scale: 6,
    zeroCount: 7,
    positive: 8,
    negative: 9,
    flags: 10,
    exemplars: 11,
    min: 12,
    max: 13,
    zeroThreshold: 14,
  },
  Buckets: { offset: 1, bucketCounts: 2 },
  SummaryDataPoint: {
    attributes: 7,
    startTimeUnixNano: 2,
    timeUnixNano: 3,
    count: 4,
    sum: 5,
    quantileValues: 6,
    flags: 8,
  },
  ValueAtQuantile: { quantile: 1, value: 2 },
  Exemplar: {
    filteredAttributes: 7,
    timeUnixNano: 2,
    asDouble: 3,
    asInt: 6,
    spanId: 4,
    traceId: 5,
  },
} as const;

/** AggregationTemporality, by number; OTLP/JSON may also send the names. */
const TEMPORALITY_NAMES = [
  'AGGREGATION_TEMPORALITY_UNSPECIFIED',
  'AGGREGATION_TEMPORALITY_DELTA',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
] as const;
const TEMPORALITIES: readonly Temporality[] = ['unspecified', 'delta', 'cumulative'];

// ---------------------------------------------------------------------------------------------
// One message of either encoding, read field by field. Every accessor returns undefined for a
// field that was not sent (null in JSON counts as not sent), so presence is visible.

type Schema = Readonly<Record<string, number>>;
type Key<S extends Schema> = keyof S & string;
type IntType = 'int32' | 'int64' | 'uint32' | 'uint64' | 'sint32' | 'fixed64' | 'sfixed64';

interface View<S extends Schema> {
  readonly path: string;
  int(key: Key<S>, type: IntType): bigint | undefined;
  ints(key: Key<S>, type: IntType): bigint[];
  double(key: Key<S>): number | undefined;
  doubles(key: Key<S>): number[];
  bool(key: Key<S>): boolean | undefined;
  string(key: Key<S>): string | undefined;
  enumeration(key: Key<S>, names: readonly string[]): number | undefined;
  /** JSON carries ids (trace and span) as hex and other bytes as base64. */
  bytes(key: Key<S>, jsonForm: 'hex' | 'base64'): Buffer | undefined;
  message<T extends Schema>(key: Key<S>, schema: T): View<T> | undefined;
  messages<T extends Schema>(key: Key<S>, schema: T): Array<View<T>>;
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/** The request itself, in messages about its top level. */
const label = (path: string): string => (path === '' ? 'request' : path);

function inRange(value: bigint, type: IntType): boolean {
  switch (type) {
    case 'int32':
    case 'sint32':
      return BigInt.asIntN(32, value) === value;
    case 'uint32':
      return BigInt.asUintN(32, value) === value;
    case 'int64':
    case 'sfixed64':
      return BigInt.asIntN(64, value) === value;
    case 'uint64':
    case 'fixed64':
      return BigInt.asUintN(64, value) === value;
  }
}

// --- protobuf --------------------------------------------------------------------------------

type WireField = { wire: 0; varint: bigint } | { wire: 1 | 2 | 5; bytes: Uint8Array };

const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit'];
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function readVarint(buf: Uint8Array, at: number, where: string): { value: bigint; next: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const byte = buf[at + i];
    if (byte === undefined) throw new DecodeError(`${where}: truncated varint`);
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return { value: BigInt.asUintN(64, value), next: at + i + 1 };
  }
  throw new DecodeError(`${where}: varint longer than 10 bytes`);
}

/** Splits one message into its fields, each field number with its occurrences in order. */
function readFields(buf: Uint8Array, path: string): Map<number, WireField[]> {
  const where = label(path);
  const fields = new Map<number, WireField[]>();
  let at = 0;
  while (at < buf.length) {
    const tag = readVarint(buf, at, where);
    at = tag.next;
    const number = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    if (number === 0 || number >= 2 ** 29) {
      throw new DecodeError(`${where}: field number ${number} at byte ${at}`);
    }
    let field: WireField;
    if (wire === 0) {
      const v = readVarint(buf, at, `${where}#${number}`);
      field = { wire: 0, varint: v.value };
      at = v.next;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (at + size > buf.length) throw new DecodeError(`${where}#${number}: truncated`);
      field = { wire, bytes: buf.subarray(at, at + size) };
      at += size;
    } else if (wire === 2) {
      const length = readVarint(buf, at, `${where}#${number}`);
      if (length.value > BigInt(buf.length - length.next)) {
        throw new DecodeError(`${where}#${number}: truncated (length ${length.value})`);
      }
      const end = length.next + Number(length.value);
      field = { wire: 2, bytes: buf.subarray(length.next, end) };
      at = end;
    } else {
      throw new DecodeError(`${where}#${number}: wire type ${WIRE_NAMES[wire] ?? wire}`);
    }
    const seen = fields.get(number);
    if (seen) seen.push(field);
    else fields.set(number, [field]);
  }
  return fields;
}

function fixed64(bytes: Uint8Array, signed: boolean): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return signed ? view.getBigInt64(0, true) : view.getBigUint64(0, true);
}

function fromVarint(value: bigint, type: IntType): bigint {
  switch (type) {
    case 'int32':
      return BigInt.asIntN(32, value);
    case 'int64':
      return BigInt.asIntN(64, value);
    case 'uint32':
      return BigInt.asUintN(32, value);
    case 'sint32':
      return BigInt.asIntN(32, (value >> 1n) ^ -(value & 1n));
    default:
      return value;
  }
}

const isFixed = (type: IntType): boolean => type === 'fixed64' || type === 'sfixed64';

function expectWire(field: WireField, wire: number, where: string): void {
  if (field.wire !== wire) {
    throw new DecodeError(
      `${where}: wire type ${WIRE_NAMES[field.wire]}, expected ${WIRE_NAMES[wire]}`,
    );
  }
}

function intFromWire(field: WireField, type: IntType, where: string): bigint {
  if (isFixed(type)) {
    expectWire(field, 1, where);
    return fixed64((field as { bytes: Uint8Array }).bytes, type === 'sfixed64');
  }
  expectWire(field, 0, where);
  return fromVarint((field as { varint: bigint }).varint, type);
}

/** Repeated scalars may come packed (one length-delimited field) or one field per element. */
function unpackInts(bytes: Uint8Array, type: IntType, where: string): bigint[] {
  const out: bigint[] = [];
  if (isFixed(type)) {
    if (bytes.length % 8 !== 0) {
      throw new DecodeError(`${where}: packed ${type} of ${bytes.length} bytes`);
    }
    for (let i = 0; i < bytes.length; i += 8) {
      out.push(fixed64(bytes.subarray(i, i + 8), type === 'sfixed64'));
    }
    return out;
  }
  for (let at = 0; at < bytes.length;) {
    const v = readVarint(bytes, at, where);
    out.push(fromVarint(v.value, type));
    at = v.next;
  }
  return out;
}

function unpackDoubles(bytes: Uint8Array, where: string): number[] {
  if (bytes.length % 8 !== 0) {
    throw new DecodeError(`${where}: packed double of ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
}

class ProtoView<S extends Schema> implements View<S> {
  private readonly fields: Map<number, WireField[]>;

  constructor(
    private readonly schema: S,
    bytes: Uint8Array,
    readonly path: string,
    private readonly unknown: string[],
  ) {
    this.fields = readFields(bytes, path);
    const known = new Set(Object.values(schema));
    for (const number of this.fields.keys()) {
      if (!known.has(number)) unknown.push(`${label(path)}#${number}`);
    }
  }

  private all(key: Key<S>): WireField[] {
    return this.fields.get(this.schema[key] as number) ?? [];
  }

  /** A singular field sent more than once takes its last value, as protobuf parsers do. */
  private last(key: Key<S>): WireField | undefined {
    return this.all(key).at(-1);
  }

  private bytesOf(key: Key<S>): Uint8Array | undefined {
    const field = this.last(key);
    if (field === undefined) return undefined;
    expectWire(field, 2, join(this.path, key));
    return (field as { bytes: Uint8Array }).bytes;
  }

  int(key: Key<S>, type: IntType): bigint | undefined {
    const field = this.last(key);
    return field && intFromWire(field, type, join(this.path, key));
  }

  ints(key: Key<S>, type: IntType): bigint[] {
    const where = join(this.path, key);
    return this.all(key).flatMap((field) =>
      field.wire === 2 ? unpackInts(field.bytes, type, where) : [intFromWire(field, type, where)],
    );
  }

  double(key: Key<S>): number | undefined {
    const field = this.last(key);
    if (field === undefined) return undefined;
    expectWire(field, 1, join(this.path, key));
    return unpackDoubles((field as { bytes: Uint8Array }).bytes, join(this.path, key))[0];
  }

  doubles(key: Key<S>): number[] {
    const where = join(this.path, key);
    return this.all(key).flatMap((field) => {
      if (field.wire === 2 || field.wire === 1) return unpackDoubles(field.bytes, where);
      throw new DecodeError(`${where}: wire type ${WIRE_NAMES[field.wire]}, expected 64-bit`);
    });
  }

  bool(key: Key<S>): boolean | undefined {
    const value = this.int(key, 'uint64');
    return value === undefined ? undefined : value !== 0n;
  }

  string(key: Key<S>): string | undefined {
    const bytes = this.bytesOf(key);
    if (bytes === undefined) return undefined;
    try {
      return UTF8.decode(bytes);
    } catch {
      throw new DecodeError(`${join(this.path, key)}: not UTF-8`);
    }
  }

  enumeration(key: Key<S>): number | undefined {
    const value = this.int(key, 'int32');
    return value === undefined ? undefined : Number(value);
  }

  bytes(key: Key<S>): Buffer | undefined {
    const bytes = this.bytesOf(key);
    return bytes && Buffer.from(bytes);
  }

  message<T extends Schema>(key: Key<S>, schema: T): View<T> | undefined {
    const bytes = this.bytesOf(key);
    return bytes && new ProtoView(schema, bytes, join(this.path, key), this.unknown);
  }

  messages<T extends Schema>(key: Key<S>, schema: T): Array<View<T>> {
    const where = join(this.path, key);
    return this.all(key).map((field, i) => {
      expectWire(field, 2, `${where}[${i}]`);
      const bytes = (field as { bytes: Uint8Array }).bytes;
      return new ProtoView(schema, bytes, `${where}[${i}]`, this.unknown);
    });
  }
}

// --- OTLP/JSON -------------------------------------------------------------------------------

function show(value: unknown, max = 60): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** int64 and friends may be JSON numbers or decimal strings. */
function jsonInt(value: unknown, type: IntType, where: string): bigint {
  let big: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
  if (big === undefined) throw new DecodeError(`${where}: expected an integer, got ${show(value)}`);
  if (!inRange(big, type)) throw new DecodeError(`${where}: ${big} is out of range for ${type}`);
  return big;
}

const SPECIAL_DOUBLES: Record<string, number> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
};

/** A double is a JSON number, or a string: a number in decimal, "NaN", "Infinity", "-Infinity". */
function jsonDouble(value: unknown, where: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const special = SPECIAL_DOUBLES[value];
    if (special !== undefined) return special;
    if (/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) return Number(value);
  }
  throw new DecodeError(`${where}: expected a number, got ${show(value)}`);
}

function jsonArray(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new DecodeError(`${where}: expected an array, got ${show(value)}`);
  }
  return value;
}

class JsonView<S extends Schema> implements View<S> {
  private readonly object: Record<string, unknown>;

  constructor(
    schema: S,
    value: unknown,
    readonly path: string,
    private readonly unknown: string[],
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DecodeError(`${label(path)}: expected an object, got ${show(value)}`);
    }
    this.object = value as Record<string, unknown>;
    for (const key of Object.keys(this.object)) {
      if (!Object.hasOwn(schema, key)) unknown.push(join(path, key));
    }
  }

  private get(key: string): unknown {
    const value = this.object[key];
    return value === null ? undefined : value;
  }

  int(key: Key<S>, type: IntType): bigint | undefined {
    const value = this.get(key);
    return value === undefined ? undefined : jsonInt(value, type, join(this.path, key));
  }

  ints(key: Key<S>, type: IntType): bigint[] {
    const where = join(this.path, key);
    return jsonArray(this.get(key), where).map((v, i) => jsonInt(v, type, `${where}[${i}]`));
  }

  double(key: Key<S>): number | undefined {
    const value = this.get(key);
    return value === undefined ? undefined : jsonDouble(value, join(this.path, key));
  }

  doubles(key: Key<S>): number[] {
    const where = join(this.path, key);
    return jsonArray(this.get(key), where).map((v, i) => jsonDouble(v, `${where}[${i}]`));
  }

  bool(key: Key<S>): boolean | undefined {
    const value = this.get(key);
    if (value === undefined || typeof value === 'boolean') return value;
    throw new DecodeError(`${join(this.path, key)}: expected true or false, got ${show(value)}`);
  }

  string(key: Key<S>): string | undefined {
    const value = this.get(key);
    if (value === undefined || typeof value === 'string') return value;
    throw new DecodeError(`${join(this.path, key)}: expected a string, got ${show(value)}`);
  }

  enumeration(key: Key<S>, names: readonly string[]): number | undefined {
    const value = this.get(key);
    if (typeof value === 'string' && names.includes(value)) return names.indexOf(value);
    return value === undefined ? undefined : Number(jsonInt(value, 'int32', join(this.path, key)));
  }

  bytes(key: Key<S>, jsonForm: 'hex' | 'base64'): Buffer | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    const pattern = jsonForm === 'hex' ? /^(?:[0-9a-fA-F]{2})*$/ : /^[A-Za-z0-9+/_-]*={0,2}$/;
    if (!pattern.test(value)) {
      throw new DecodeError(`${join(this.path, key)}: expected ${jsonForm}, got ${show(value)}`);
    }
    return Buffer.from(value, jsonForm);
  }

  message<T extends Schema>(key: Key<S>, schema: T): View<T> | undefined {
    const value = this.get(key);
    return value === undefined
      ? undefined
      : new JsonView(schema, value, join(this.path, key), this.unknown);
  }

  messages<T extends Schema>(key: Key<S>, schema: T): Array<View<T>> {
    const where = join(this.path, key);
    return jsonArray(this.get(key), where).map(
      (v, i) => new JsonView(schema, v, `${where}[${i}]`, this.unknown),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// OTLP messages into the decoded shape, for either encoding.

/**
 * int64s become numbers, which tests compare and add up easily; one a number cannot hold exactly
 * is refused rather than rounded, so a test never passes on a value that was not sent.
 */
function toNumber(value: bigint, where: string): number {
  const n = Number(value);
  if (BigInt(n) !== value) {
    throw new DecodeError(`${where}: ${value} cannot be held exactly by a JavaScript number`);
  }
  return n;
}

function anyValue(v: View<typeof FIELDS.AnyValue>): AttrValue {
  const string = v.string('stringValue');
  if (string !== undefined) return string;
  const bool = v.bool('boolValue');
  if (bool !== undefined) return bool;
  const int = v.int('intValue', 'int64');
  if (int !== undefined) return toNumber(int, join(v.path, 'intValue'));
  const double = v.double('doubleValue');
  if (double !== undefined) return double;
  const array = v.message('arrayValue', FIELDS.ArrayValue);
  if (array) return array.messages('values', FIELDS.AnyValue).map(anyValue);
  const kvlist = v.message('kvlistValue', FIELDS.KeyValueList);
  if (kvlist) return keyValues(kvlist.messages('values', FIELDS.KeyValue));
  const bytes = v.bytes('bytesValue', 'base64');
  if (bytes) return bytes;
  return null;
}

function keyValues(list: Array<View<typeof FIELDS.KeyValue>>): Attributes {
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return Object.fromEntries(
    list.map((kv) => {
      const value = kv.message('value', FIELDS.AnyValue);
      return [kv.string('key') ?? '', value ? anyValue(value) : null];
    }),
  );
}

type PointFields = {
  attributes: number;
  startTimeUnixNano: number;
  timeUnixNano: number;
};

function pointBase(v: View<PointFields>): DataPoint {
  return {
    attributes: keyValues(v.messages('attributes', FIELDS.KeyValue)),
    startTimeUnixNano: (v.int('startTimeUnixNano', 'fixed64') ?? 0n).toString(),
    timeUnixNano: (v.int('timeUnixNano', 'fixed64') ?? 0n).toString(),
  };
}

/** The `value` oneof of number points and exemplars. */
function setValue(
  target: { value?: number; valueType?: 'int' | 'double' },
  v: View<{ asInt: number; asDouble: number }>,
): void {
  const int = v.int('asInt', 'sfixed64');
  const double = v.double('asDouble');
  if (int !== undefined) {
    target.value = toNumber(int, join(v.path, 'asInt'));
    target.valueType = 'int';
  } else if (double !== undefined) {
    target.value = double;
    target.valueType = 'double';
  }
}

function exemplar(v: View<typeof FIELDS.Exemplar>): Exemplar {
  const out: Exemplar = {
    filteredAttributes: keyValues(v.messages('filteredAttributes', FIELDS.KeyValue)),
    timeUnixNano: (v.int('timeUnixNano', 'fixed64') ?? 0n).toString(),
    spanId: v.bytes('spanId', 'hex')?.toString('hex') ?? '',
    traceId: v.bytes('traceId', 'hex')?.toString('hex') ?? '',
  };
  setValue(out, v);
  return out;
}

function setFlags(point: DataPoint, v: View<{ flags: number }>): void {
  const flags = Number(v.int('flags', 'uint32') ?? 0n);
  if (flags !== 0) point.flags = flags;
}

function pointTail(point: DataPoint, v: View<{ flags: number; exemplars: number }>): DataPoint {
  setFlags(point, v);
  const exemplars = v.messages('exemplars', FIELDS.Exemplar).map(exemplar);
  if (exemplars.length > 0) point.exemplars = exemplars;
  return point;
}

function setOptional(
  point: DataPoint,
  key: 'sum' | 'min' | 'max',
  value: number | undefined,
): void {
  if (value !== undefined) point[key] = value;
}

const counts = (values: bigint[], where: string): number[] =>
  values.map((value, i) => toNumber(value, `${where}[${i}]`));

function numberPoint(v: View<typeof FIELDS.NumberDataPoint>): DataPoint {
  const point = pointBase(v);
  setValue(point, v);
  return pointTail(point, v);
}

function histogramPoint(v: View<typeof FIELDS.HistogramDataPoint>): DataPoint {
  const point = pointBase(v);
  point.count = toNumber(v.int('count', 'fixed64') ?? 0n, join(v.path, 'count'));
  setOptional(point, 'sum', v.double('sum'));
  point.bucketCounts = counts(v.ints('bucketCounts', 'fixed64'), join(v.path, 'bucketCounts'));
  point.explicitBounds = v.doubles('explicitBounds');
  setOptional(point, 'min', v.double('min'));
  setOptional(point, 'max', v.double('max'));
  return pointTail(point, v);
}

function buckets(v: View<typeof FIELDS.Buckets> | undefined): Buckets {
  if (v === undefined) return { offset: 0, bucketCounts: [] };
  return {
    offset: Number(v.int('offset', 'sint32') ?? 0n),
    bucketCounts: counts(v.ints('bucketCounts', 'uint64'), join(v.path, 'bucketCounts')),
  };
}

function exponentialPoint(v: View<typeof FIELDS.ExponentialHistogramDataPoint>): DataPoint {
  const point = pointBase(v);
  point.count = toNumber(v.int('count', 'fixed64') ?? 0n, join(v.path, 'count'));
  setOptional(point, 'sum', v.double('sum'));
  point.scale = Number(v.int('scale', 'sint32') ?? 0n);
  point.zeroCount = toNumber(v.int('zeroCount', 'fixed64') ?? 0n, join(v.path, 'zeroCount'));
  point.zeroThreshold = v.double('zeroThreshold') ?? 0;
  point.positive = buckets(v.message('positive', FIELDS.Buckets));
  point.negative = buckets(v.message('negative', FIELDS.Buckets));
  setOptional(point, 'min', v.double('min'));
  setOptional(point, 'max', v.double('max'));
  return pointTail(point, v);
}

function summaryPoint(v: View<typeof FIELDS.SummaryDataPoint>): DataPoint {
  const point = pointBase(v);
  point.count = toNumber(v.int('count', 'fixed64') ?? 0n, join(v.path, 'count'));
  point.sum = v.double('sum') ?? 0;
  point.quantiles = v.messages('quantileValues', FIELDS.ValueAtQuantile).map((q) => ({
    quantile: q.double('quantile') ?? 0,
    value: q.double('value') ?? 0,
  }));
  setFlags(point, v);
  return point;
}

function temporality(v: View<{ aggregationTemporality: number }>): Temporality {
  const n = v.enumeration('aggregationTemporality', TEMPORALITY_NAMES) ?? 0;
  const found = TEMPORALITIES[n];
  if (found === undefined) {
    throw new DecodeError(`${join(v.path, 'aggregationTemporality')}: unknown value ${n}`);
  }
  return found;
}

function metric(v: View<typeof FIELDS.Metric>): Metric {
  const head = {
    name: v.string('name') ?? '',
    description: v.string('description') ?? '',
    unit: v.string('unit') ?? '',
  };
  let out: Metric;
  const sum = v.message('sum', FIELDS.Sum);
  const gauge = v.message('gauge', FIELDS.Gauge);
  const histogram = v.message('histogram', FIELDS.Histogram);
  const exponential = v.message('exponentialHistogram', FIELDS.ExponentialHistogram);
  const summary = v.message('summary', FIELDS.Summary);
  if (sum) {
    out = {
      ...head,
      kind: 'sum',
      temporality: temporality(sum),
      monotonic: sum.bool('isMonotonic') ?? false,
      points: sum.messages('dataPoints', FIELDS.NumberDataPoint).map(numberPoint),
    };
  } else if (gauge) {
    out = {
      ...head,
      kind: 'gauge',
      points: gauge.messages('dataPoints', FIELDS.NumberDataPoint).map(numberPoint),
    };
  } else if (histogram) {
    out = {
      ...head,
      kind: 'histogram',
      temporality: temporality(histogram),
      points: histogram.messages('dataPoints', FIELDS.HistogramDataPoint).map(histogramPoint),
    };
  } else if (exponential) {
    out = {
      ...head,
      kind: 'exponentialHistogram',
      temporality: temporality(exponential),
      points: exponential
        .messages('dataPoints', FIELDS.ExponentialHistogramDataPoint)
        .map(exponentialPoint),
    };
  } else if (summary) {
    out = {
      ...head,
      kind: 'summary',
      points: summary.messages('dataPoints', FIELDS.SummaryDataPoint).map(summaryPoint),
    };
  } else {
    // A collector drops such a metric; here it would only hide an exporter's mistake.
    throw new DecodeError(`${v.path} (${head.name}): no gauge, sum, histogram or summary`);
  }
  const metadata = v.messages('metadata', FIELDS.KeyValue);
  if (metadata.length > 0) out.metadata = keyValues(metadata);
  return out;
}

function scopeMetrics(v: View<typeof FIELDS.ScopeMetrics>): ScopeMetrics {
  const scope = v.message('scope', FIELDS.InstrumentationScope);
  return {
    name: scope?.string('name') ?? '',
    version: scope?.string('version') ?? '',
    attributes: keyValues(scope?.messages('attributes', FIELDS.KeyValue) ?? []),
    schemaUrl: v.string('schemaUrl') ?? '',
    metrics: v.messages('metrics', FIELDS.Metric).map(metric),
  };
}

function resourceMetrics(v: View<typeof FIELDS.ResourceMetrics>): ResourceMetrics {
  const resource = v.message('resource', FIELDS.Resource);
  return {
    resource: keyValues(resource?.messages('attributes', FIELDS.KeyValue) ?? []),
    schemaUrl: v.string('schemaUrl') ?? '',
    scopes: v.messages('scopeMetrics', FIELDS.ScopeMetrics).map(scopeMetrics),
  };
}

function request(v: View<typeof FIELDS.ExportMetricsServiceRequest>): MetricsPayload {
  return {
    resourceMetrics: v.messages('resourceMetrics', FIELDS.ResourceMetrics).map(resourceMetrics),
  };
}

/** Decodes an OTLP/JSON `ExportMetricsServiceRequest`; throws a DecodeError naming the field. */
export function decodeOtlpJson(body: Uint8Array | string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : UTF8.decode(body));
  } catch (err) {
    throw new DecodeError(`body is not JSON: ${(err as Error).message}`);
  }
  const unknownFields: string[] = [];
  const root = new JsonView(FIELDS.ExportMetricsServiceRequest, parsed, '', unknownFields);
  return { payload: request(root), unknownFields };
}

/** Decodes an OTLP/protobuf `ExportMetricsServiceRequest`; throws a DecodeError naming the field. */
export function decodeOtlpProtobuf(body: Uint8Array): Decoded {
  const unknownFields: string[] = [];
  const root = new ProtoView(FIELDS.ExportMetricsServiceRequest, body, '', unknownFields);
  return { payload: request(root), unknownFields };
}

/** Every metric of a payload, across its resources and scopes, in the order sent. */
export function metricsOf(payload: MetricsPayload): Metric[] {
  return payload.resourceMetrics.flatMap((r) => r.scopes.flatMap((s) => s.metrics));
}

/** The last metric called `name` in a payload, if any. */
export function findMetric(payload: MetricsPayload, name: string): Metric | undefined {
  return metricsOf(payload).findLast((m) => m.name === name);
}

// ---------------------------------------------------------------------------------------------
// The receiver.

export type Encoding = 'json' | 'protobuf';

/** The path OTLP/HTTP exporters post metrics to, after the receiver's `url`. */
export const METRICS_PATH = '/v1/metrics';

export interface ReceivedRequest {
  method: string;
  /** As sent, query included. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as it came over the wire: still gzipped when it was sent so. */
  body: Buffer;
  /** From the Content-Type; undefined when it named neither OTLP encoding. */
  encoding: Encoding | undefined;
  /** The decoded request; undefined when it was refused. */
  payload: MetricsPayload | undefined;
  /** See `Decoded.unknownFields`. */
  unknownFields: string[];
  /** Why the request was refused, as told to the sender; undefined when it was accepted. */
  error: string | undefined;
  /** The status answered; 0 when the body never arrived and nothing was. */
  status: number;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`; an exporter takes `url + METRICS_PATH`. */
  readonly url: string;
  /** Every request answered, oldest first, refused ones included. */
  readonly requests: readonly ReceivedRequest[];
  /** The payloads of the accepted requests, oldest first. */
  readonly payloads: readonly MetricsPayload[];
  /**
   * The first payload, received or to come, that satisfies `predicate`. A predicate that throws
   * counts as not satisfied, so it may index into what it expects; its last error is in the
   * timeout's message, with a summary of what arrived.
   */
  waitFor(
    predicate: (payload: MetricsPayload) => boolean,
    timeoutMs?: number,
  ): Promise<MetricsPayload>;
  /** The first export's data of metric `name`, received or to come, that satisfies `accept`. */
  waitForMetric(
    name: string,
    accept?: (metric: Metric) => boolean,
    timeoutMs?: number,
  ): Promise<Metric>;
  /** The latest data of metric `name`: from the newest payload that carries it. */
  metric(name: string): Metric | undefined;
  /** The data of metric `name` from each export that carried it, oldest first. */
  metrics(name: string): Metric[];
  /** Forgets everything received so far. */
  reset(): void;
  /** Closes the server and its connections, and fails pending waits; safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5000;

const MEDIA_TYPES: Record<string, Encoding> = {
  'application/json': 'json',
  'application/x-protobuf': 'protobuf',
};

// google.rpc.Code values carried in the Status of a refusal.
const INVALID_ARGUMENT = 3;
const INTERNAL = 13;

const inflate = promisify(gunzip);

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
}

/** OTLP/HTTP answers a refusal with a google.rpc.Status (code = 1, message = 2). */
function statusBody(encoding: Encoding, code: number, message: string): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  const text = Buffer.from(message);
  return Buffer.concat([Buffer.from([0x08, ...varint(code), 0x12, ...varint(text.length)]), text]);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before the end of the body'));
    });
  });
}

interface Waiter {
  check(): void;
  fail(): void;
}

class Receiver implements OtlpReceiver {
  private readonly received: ReceivedRequest[] = [];
  private readonly waiters = new Set<Waiter>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        // Only a fault in the receiver itself lands here; the test's wait reports it.
        this.record({ ...emptyRecord(req), status: 500, error: `receiver fault: ${String(err)}` });
        res.destroy();
      });
    });
  }

  get requests(): readonly ReceivedRequest[] {
    return this.received;
  }

  get payloads(): readonly MetricsPayload[] {
    return this.received.flatMap((r) => (r.payload ? [r.payload] : []));
  }

  private record(request: ReceivedRequest): void {
    this.received.push(request);
    for (const waiter of [...this.waiters]) waiter.check();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = emptyRecord(req);
    try {
      request.body = await readBody(req);
    } catch (err) {
      this.record({ ...request, error: `body not received: ${(err as Error).message}` });
      res.destroy();
      return;
    }
    const answer = (status: number, type: string, body: string | Buffer, error?: string): void => {
      request.status = status;
      request.error = error;
      // Recorded before the answer leaves, so an exporter's flush resolves after it is visible.
      this.record(request);
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const text = (status: number, message: string): void =>
      answer(status, 'text/plain; charset=utf-8', `${message}\n`, message);

    const path = request.path.split('?')[0];
    if (path !== METRICS_PATH) return text(404, `no route ${path}: metrics go to ${METRICS_PATH}`);
    if (request.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return text(405, `${request.method} ${METRICS_PATH}: only POST is accepted`);
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const encoding = MEDIA_TYPES[mediaType ?? ''];
    if (encoding === undefined) {
      const sent = req.headers['content-type'] ?? '(none)';
      return text(415, `Content-Type ${sent}: expected application/json or application/x-protobuf`);
    }
    request.encoding = encoding;
    const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    const refuse = (status: number, message: string): void =>
      answer(
        status,
        contentType,
        statusBody(encoding, status === 400 ? INVALID_ARGUMENT : INTERNAL, message),
        message,
      );

    const coding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (coding !== 'gzip' && coding !== 'identity') {
      return text(415, `Content-Encoding ${coding}: expected gzip or none`);
    }
    let raw: Buffer;
    try {
      raw = coding === 'gzip' ? await inflate(request.body) : request.body;
    } catch (err) {
      return refuse(400, `the gzip body could not be inflated: ${(err as Error).message}`);
    }
    try {
      const decoded = encoding === 'json' ? decodeOtlpJson(raw) : decodeOtlpProtobuf(raw);
      request.payload = decoded.payload;
      request.unknownFields = decoded.unknownFields;
    } catch (err) {
      if (err instanceof DecodeError) return refuse(400, err.message);
      return refuse(500, `receiver fault: ${(err as Error).stack ?? String(err)}`);
    }
    // An empty ExportMetricsServiceResponse: full success.
    answer(200, contentType, encoding === 'json' ? '{}' : Buffer.alloc(0));
  }

  waitFor(
    predicate: (payload: MetricsPayload) => boolean,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<MetricsPayload> {
    return this.wait(
      'payload satisfying the predicate',
      (p) => (predicate(p) ? p : undefined),
      timeoutMs,
    );
  }

  waitForMetric(
    name: string,
    accept: (metric: Metric) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Metric> {
    return this.wait(
      `data of ${name} satisfying the predicate`,
      (p) => metricsOf(p).find((m) => m.name === name && accept(m)),
      timeoutMs,
      () => `latest ${name}: ${show(this.metric(name)?.points, 2000)}`,
    );
  }

  metric(name: string): Metric | undefined {
    for (const payload of [...this.payloads].reverse()) {
      const found = findMetric(payload, name);
      if (found) return found;
    }
    return undefined;
  }

  metrics(name: string): Metric[] {
    return this.payloads.flatMap((p) => metricsOf(p).filter((m) => m.name === name));
  }

  reset(): void {
    this.received.length = 0;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const waiter of [...this.waiters]) waiter.fail();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  /** What arrived, for a wait's timeout message. */
  private summary(): string {
    if (this.received.length === 0) return 'nothing was received';
    const lines = this.received.slice(-10).map((r) => {
      const names = r.payload ? metricsOf(r.payload).map((m) => m.name) : [];
      const outcome = r.error ?? `metrics ${names.join(', ') || '(none)'}`;
      return `  ${r.status} ${r.method} ${r.path} ${r.encoding ?? '-'}: ${outcome}`;
    });
    return `received ${this.received.length} request(s), the last ones:\n${lines.join('\n')}`;
  }

  /** Each payload is offered to `pick` in order, on every arrival, until one yields a value. */
  private wait<T>(
    what: string,
    pick: (payload: MetricsPayload) => T | undefined,
    timeoutMs: number,
    detail: () => string = () => '',
  ): Promise<T> {
    if (this.closing) return Promise.reject(new Error(`OTLP receiver closed; no ${what}`));
    return new Promise<T>((resolve, reject) => {
      let lastError: unknown;
      const settle = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          for (const payload of this.payloads) {
            let found: T | undefined;
            try {
              found = pick(payload);
            } catch (err) {
              lastError = err;
            }
            if (found !== undefined) {
              settle();
              resolve(found);
              return;
            }
          }
        },
        fail: () => {
          settle();
          reject(new Error(`OTLP receiver closed while waiting for ${what}`));
        },
      };
      const timer = setTimeout(() => {
        settle();
        const parts = [`OTLP receiver: no ${what} within ${timeoutMs} ms`, this.summary()];
        if (lastError !== undefined) parts.push(`the predicate last threw: ${String(lastError)}`);
        const extra = detail();
        if (extra !== '') parts.push(extra);
        reject(new Error(parts.join('\n')));
      }, timeoutMs);
      this.waiters.add(waiter);
      waiter.check();
    });
  }
}

function emptyRecord(req: IncomingMessage): ReceivedRequest {
  return {
    method: req.method ?? '',
    path: req.url ?? '',
    headers: req.headers,
    body: Buffer.alloc(0),
    encoding: undefined,
    payload: undefined,
    unknownFields: [],
    error: undefined,
    status: 0,
  };
}

/** Starts a receiver on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return new Receiver(server, `http://127.0.0.1:${port}`);
}
