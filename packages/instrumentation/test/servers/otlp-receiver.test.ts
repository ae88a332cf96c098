import { Agent, request as httpRequest } from 'node:http';
import { sendRaw, type RawReply } from '../helpers/request';
import { gunzipSync, gzipSync } from 'node:zlib';
import { diag, DiagLogLevel, ValueType, type Meter } from '@opentelemetry/api';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  decodeOtlpJson,
  decodeOtlpProtobuf,
  METRICS_PATH,
  metricsOf,
  startOtlpReceiver,
  type Encoding,
  type MetricsPayload,
  type OtlpReceiver,
} from './otlp-receiver';

type ExporterConfig = NonNullable<ConstructorParameters<typeof JsonExporter>[0]>;

const EXPORTERS = { json: JsonExporter, protobuf: ProtobufExporter };

const CONTENT_TYPES: Record<Encoding, string> = {
  json: 'application/json',
  protobuf: 'application/x-protobuf',
};

// What the SDK reports through diag while exporting; every export must leave this empty.
const sdkProblems: unknown[][] = [];

beforeAll(() => {
  const keep = (...args: unknown[]): number => sdkProblems.push(args);
  const drop = (): void => undefined;
  diag.setLogger(
    { error: keep, warn: keep, info: drop, debug: drop, verbose: drop },
    DiagLogLevel.WARN,
  );
});

afterAll(() => diag.disable());

let receiver: OtlpReceiver;

beforeEach(async () => {
  sdkProblems.length = 0;
  receiver = await startOtlpReceiver();
});

afterEach(async () => {
  await receiver.close();
});

// ---------------------------------------------------------------------------------------------
// Known data, recorded through the SDK and sent by OTel's own exporters.

const SERVICE = 'otlp-receiver-test';
const RESOURCE = { 'service.name': SERVICE, 'service.version': '0.0.1', 'test.tags': ['a', 'b'] };
const USERS = {
  'http.route': '/users/:id',
  'http.status': 200,
  'test.ratio': 0.25,
  'test.hit': true,
};
const HEALTH = {
  'http.route': '/health',
  'http.status': 503,
  'test.ratio': 1.5,
  'test.hit': false,
};

function recordKnownData(meter: Meter): void {
  const requests = meter.createCounter('test.requests', {
    description: 'Requests handled.',
    unit: '{request}',
    valueType: ValueType.INT,
  });
  requests.add(2, USERS);
  requests.add(3, USERS);
  requests.add(1, HEALTH);

  const connections = meter.createUpDownCounter('test.connections', {
    unit: '{connection}',
    valueType: ValueType.INT,
  });
  connections.add(2);
  connections.add(-5);

  // Values and bounds that binary floating point holds exactly, so the sum is exact too.
  const duration = meter.createHistogram('test.duration', {
    description: 'Request duration.',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
  });
  for (const seconds of [0.0625, 0.25, 0.25, 0.75, 2]) {
    duration.record(seconds, { 'http.route': '/users/:id' });
  }

  const temperature = meter.createGauge('test.temperature', { unit: 'Cel' });
  temperature.record(21.5, { room: 'lab' });
  temperature.record(19.25, { room: 'lab' });

  // Made exponential by a View; powers of two fall on bucket boundaries, so the buckets are known.
  const size = meter.createHistogram('test.size', { unit: 'By' });
  for (const bytes of [0, 1, 2, 4]) size.record(bytes);
}

const TIME = '<time>';

/** The decoded payload `recordKnownData` must give, with every timestamp as TIME. */
function expectedPayload(temporality: 'cumulative' | 'delta'): MetricsPayload {
  const times = { startTimeUnixNano: TIME, timeUnixNano: TIME };
  return {
    resourceMetrics: [
      {
        resource: RESOURCE,
        schemaUrl: '',
        scopes: [
          {
            name: SERVICE,
            version: '1.2.3',
            attributes: {},
            schemaUrl: '',
            metrics: [
              {
                name: 'test.requests',
                description: 'Requests handled.',
                unit: '{request}',
                kind: 'sum',
                temporality,
                monotonic: true,
                points: [
                  { attributes: USERS, ...times, value: 5, valueType: 'int' },
                  { attributes: HEALTH, ...times, value: 1, valueType: 'int' },
                ],
              },
              {
                name: 'test.connections',
                description: '',
                unit: '{connection}',
                kind: 'sum',
                // An up-down counter stays cumulative under the delta preference.
                temporality: 'cumulative',
                monotonic: false,
                points: [{ attributes: {}, ...times, value: -3, valueType: 'int' }],
              },
              {
                name: 'test.duration',
                description: 'Request duration.',
                unit: 's',
                kind: 'histogram',
                temporality,
                points: [
                  {
                    attributes: { 'http.route': '/users/:id' },
                    ...times,
                    count: 5,
                    sum: 3.3125,
                    bucketCounts: [1, 2, 1, 1],
                    explicitBounds: [0.1, 0.5, 1],
                    min: 0.0625,
                    max: 2,
                  },
                ],
              },
              {
                name: 'test.temperature',
                description: '',
                unit: 'Cel',
                kind: 'gauge',
                points: [
                  { attributes: { room: 'lab' }, ...times, value: 19.25, valueType: 'double' },
                ],
              },
              {
                name: 'test.size',
                description: '',
                unit: 'By',
                kind: 'exponentialHistogram',
                temporality,
                points: [
                  {
                    attributes: {},
                    ...times,
                    count: 4,
                    sum: 7,
                    scale: 0,
                    zeroCount: 1,
                    zeroThreshold: 0,
                    positive: { offset: -1, bucketCounts: [1, 1, 1] },
                    negative: { offset: 0, bucketCounts: [] },
                    min: 0,
                    max: 4,
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

function withoutTimes(payload: MetricsPayload): MetricsPayload {
  return {
    resourceMetrics: payload.resourceMetrics.map((r) => ({
      ...r,
      scopes: r.scopes.map((s) => ({
        ...s,
        metrics: s.metrics.map((m) => ({
          ...m,
          points: m.points.map((p) => ({ ...p, startTimeUnixNano: TIME, timeUnixNano: TIME })),
        })),
      })),
    })),
  };
}

/** Metrics sorted by name: the order the SDK lists instruments in is not under test. */
function byName(payload: MetricsPayload): MetricsPayload {
  return {
    resourceMetrics: payload.resourceMetrics.map((r) => ({
      ...r,
      scopes: r.scopes.map((s) => ({
        ...s,
        metrics: [...s.metrics].sort((a, b) => a.name.localeCompare(b.name)),
      })),
    })),
  };
}

const nowNanos = (): bigint => BigInt(Date.now()) * 1_000_000n;

/**
 * Every timestamp is a decimal between `from` and `to` (give or take the second by which the
 * SDK's clock, the time origin plus a monotonic offset, may differ from Date.now()), no point
 * ends before it starts, and all points end at the one collection time.
 */
function expectTimes(payload: MetricsPayload, from: bigint, to: bigint): void {
  const points = metricsOf(payload).flatMap((m) => m.points);
  const slack = 1_000_000_000n;
  for (const { startTimeUnixNano: start, timeUnixNano: time } of points) {
    expect(start).toMatch(/^\d{19}$/);
    expect(time).toMatch(/^\d{19}$/);
    expect(BigInt(start) <= BigInt(time)).toBe(true);
    expect(BigInt(start) >= from - slack && BigInt(time) <= to + slack).toBe(true);
  }
  expect(new Set(points.map((p) => p.timeUnixNano)).size).toBe(1);
}

/**
 * OTel's Node HTTP transport loads `http` with `import()` before its first request, which Jest's
 * CommonJS sandbox refuses (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG) unless Node runs with
 * --experimental-vm-modules. The transport keeps what it loads in `_utils`; filling that in with
 * the same module and the keep-alive agent it would make leaves everything else to the exporter:
 * serialisation, headers, gzip, the request and the handling of the answer. Where 0.301.0 keeps
 * the transport is checked, so a version that moves it fails here, not in a strange way.
 */
function loadHttpForJest(exporter: object): void {
  const inner = (from: unknown, key: string): unknown =>
    typeof from === 'object' && from !== null ? (from as Record<string, unknown>)[key] : undefined;
  const transport = inner(inner(inner(exporter, '_delegate'), '_transport'), '_transport');
  if (inner(transport, '_utils') !== null) {
    throw new Error('the OTLP exporter keeps its HTTP transport elsewhere than 0.301.0 did');
  }
  (transport as { _utils: unknown })._utils = {
    agent: new Agent({ keepAlive: true }),
    request: httpRequest,
  };
}

interface ExportOptions {
  encoding: Encoding;
  gzip: boolean;
  temporality: 'cumulative' | 'delta';
}

/** Records the known data in a fresh provider and flushes it once to the receiver. */
async function exportKnownData(options: ExportOptions): Promise<{ from: bigint; to: bigint }> {
  const config: ExporterConfig = {
    url: receiver.url + METRICS_PATH,
    temporalityPreference:
      options.temporality === 'delta'
        ? AggregationTemporalityPreference.DELTA
        : AggregationTemporalityPreference.CUMULATIVE,
  };
  // The option's type is an enum of the exporter base package, which this package does not
  // depend on; its value is the plain string.
  if (options.gzip) config.compression = 'gzip' as ExporterConfig['compression'];
  const exporter = new EXPORTERS[options.encoding](config);
  loadHttpForJest(exporter);
  const from = nowNanos();
  const provider = new MeterProvider({
    resource: resourceFromAttributes(RESOURCE),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
    views: [
      {
        instrumentName: 'test.size',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 4 } },
      },
    ],
  });
  try {
    recordKnownData(provider.getMeter(SERVICE, '1.2.3'));
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
  }
  const to = nowNanos();
  expect(sdkProblems).toEqual([]);
  return { from, to };
}

// ---------------------------------------------------------------------------------------------

describe('payloads from the OTel exporters', () => {
  const CASES: ExportOptions[] = [
    { encoding: 'json', gzip: false, temporality: 'cumulative' },
    { encoding: 'protobuf', gzip: false, temporality: 'cumulative' },
    { encoding: 'protobuf', gzip: true, temporality: 'delta' },
    { encoding: 'json', gzip: true, temporality: 'delta' },
  ];

  it.each(CASES)(
    '$encoding, gzip $gzip, $temporality: decoded exactly',
    async ({ encoding, gzip, temporality }) => {
      const { from, to } = await exportKnownData({ encoding, gzip, temporality });

      const first = receiver.requests[0];
      if (first?.payload === undefined) throw new Error(`nothing decoded: ${first?.error}`);
      expect(first.status).toBe(200);
      expect(first.error).toBeUndefined();
      expect(first.method).toBe('POST');
      expect(first.path).toBe(METRICS_PATH);
      expect(first.encoding).toBe(encoding);
      expect(first.headers['content-type']).toBe(CONTENT_TYPES[encoding]);
      expect(first.headers['content-encoding']).toBe(gzip ? 'gzip' : undefined);
      expect(first.headers['user-agent']).toMatch(/^OTel-OTLP-Exporter-JavaScript\/0\.301\.0$/);
      expect(first.unknownFields).toEqual([]);

      const payload = first.payload;
      expect(payload.resourceMetrics[0]?.resource['service.name']).toBe(SERVICE);
      expect(byName(withoutTimes(payload))).toStrictEqual(byName(expectedPayload(temporality)));
      expectTimes(payload, from, to);

      // The recorded body is the wire's: gzip's magic bytes when compressed, and it decodes
      // again to the same payload.
      const plain = gzip ? gunzipSync(first.body) : first.body;
      if (gzip) expect([...first.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      const again = encoding === 'json' ? decodeOtlpJson(plain) : decodeOtlpProtobuf(plain);
      expect(again.payload).toStrictEqual(payload);

      // Shutting the provider down flushed once more; every request was accepted.
      expect(receiver.requests.map((r) => [r.status, r.error])).toEqual(
        receiver.requests.map(() => [200, undefined]),
      );
    },
  );

  it('JSON and protobuf decode the same data to the same shape, key order included', async () => {
    await exportKnownData({ encoding: 'json', gzip: false, temporality: 'cumulative' });
    const json = await receiver.waitFor((p) => metricsOf(p).length === 5);
    receiver.reset();
    await exportKnownData({ encoding: 'protobuf', gzip: false, temporality: 'cumulative' });
    const protobuf = await receiver.waitFor((p) => metricsOf(p).length === 5);

    expect(receiver.requests[0]?.encoding).toBe('protobuf');
    expect(withoutTimes(protobuf)).toStrictEqual(withoutTimes(json));
    expect(JSON.stringify(withoutTimes(protobuf))).toBe(JSON.stringify(withoutTimes(json)));
  });

  it('metric() gives the latest data; waitForMetric waits for data still to come', async () => {
    const later = receiver.waitForMetric('test.requests', (m) => m.points.length === 2);
    await exportKnownData({ encoding: 'protobuf', gzip: false, temporality: 'delta' });
    const requests = await later;
    expect(requests.points.map((p) => p.value)).toEqual([5, 1]);

    // The shutdown's export came after the flush's; with delta temporality and nothing new
    // recorded, it carries no test.requests, so the flush's data is still the latest.
    expect(receiver.requests.length).toBe(2);
    expect(receiver.metrics('test.requests')).toHaveLength(1);
    expect(receiver.metric('test.requests')?.points.map((p) => p.value)).toEqual([5, 1]);
    expect(receiver.metrics('test.connections').map((m) => m.points[0]?.value)).toEqual([-3, -3]);
    expect(receiver.metric('test.absent')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-made requests: what OTel JS does not send, in both encodings, over the same HTTP path.

function post(
  headers: Record<string, string>,
  body: Buffer | string,
  method = 'POST',
  path = METRICS_PATH,
): Promise<RawReply> {
  return sendRaw(receiver.url, method, path, headers, body);
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
const PROTOBUF_TYPE = { 'Content-Type': 'application/x-protobuf' };

// A protobuf writer just large enough to build requests by hand; it knows no OTLP.
function varint(value: bigint): Buffer {
  const out: number[] = [];
  for (let v = BigInt.asUintN(64, value); ; v >>= 7n) {
    if (v < 0x80n) {
      out.push(Number(v));
      return Buffer.from(out);
    }
    out.push(Number(v & 0x7fn) | 0x80);
  }
}
const key = (field: number, wire: number): Buffer => varint(BigInt(field * 8 + wire));
const int = (field: number, value: bigint | number): Buffer =>
  Buffer.concat([key(field, 0), varint(BigInt(value))]);
const zigzag = (field: number, value: number): Buffer =>
  int(field, value >= 0 ? 2 * value : -2 * value - 1);
function fixed(field: number, value: bigint, signed = false): Buffer {
  const b = Buffer.alloc(8);
  if (signed) b.writeBigInt64LE(value);
  else b.writeBigUInt64LE(value);
  return Buffer.concat([key(field, 1), b]);
}
function double(field: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([key(field, 1), b]);
}
/** The payload of a packed repeated double. */
function doubles(...values: number[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((value, i) => b.writeDoubleLE(value, 8 * i));
  return b;
}
function bytes(field: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([key(field, 2), varint(BigInt(body.length)), body]);
}
const text = (field: number, value: string): Buffer => bytes(field, Buffer.from(value));
const keyValue = (field: number, name: string, value: Buffer): Buffer =>
  bytes(field, text(1, name), bytes(2, value));

const START = '1700000000123456789';
const END = '1700000060987654321';
const times = (startField: number, endField: number): Buffer =>
  Buffer.concat([fixed(startField, BigInt(START)), fixed(endField, BigInt(END))]);
const SPAN_ID = '0102030405060708';
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

/** The same request in OTLP/JSON... */
const HAND_JSON = {
  resourceMetrics: [
    {
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'hand' } },
          { key: 'negative', value: { intValue: '-42' } },
          { key: 'not.a.number', value: { doubleValue: 'NaN' } },
          { key: 'raw', value: { bytesValue: 'AQID' } },
          {
            key: 'list',
            value: {
              arrayValue: {
                values: [{ intValue: 1 }, { stringValue: 'x' }, { boolValue: true }],
              },
            },
          },
          { key: 'map', value: { kvlistValue: { values: [{ key: 'inner', value: {} }] } } },
        ],
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeMetrics: [
        {
          scope: {
            name: 'hand-scope',
            attributes: [{ key: 'scope.kind', value: { stringValue: 's' } }],
          },
          metrics: [
            {
              name: 'hand.sum',
              sum: {
                aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                isMonotonic: false,
                dataPoints: [
                  {
                    startTimeUnixNano: START,
                    timeUnixNano: END,
                    asInt: '-9007199254740991',
                    exemplars: [
                      {
                        timeUnixNano: END,
                        asDouble: 0.5,
                        spanId: SPAN_ID,
                        traceId: TRACE_ID.toUpperCase(),
                        filteredAttributes: [{ key: 'user', value: { stringValue: 'u1' } }],
                      },
                    ],
                  },
                ],
              },
              metadata: [{ key: 'origin', value: { stringValue: 'hand' } }],
            },
            {
              name: 'hand.gauge',
              gauge: { dataPoints: [{ startTimeUnixNano: START, timeUnixNano: END, flags: 1 }] },
            },
            {
              name: 'hand.histogram',
              histogram: {
                aggregationTemporality: 2,
                dataPoints: [
                  {
                    startTimeUnixNano: START,
                    timeUnixNano: END,
                    count: '3',
                    bucketCounts: ['1', 2],
                    explicitBounds: [10],
                  },
                ],
              },
            },
            {
              name: 'hand.exponential',
              exponentialHistogram: {
                aggregationTemporality: 1,
                dataPoints: [
                  {
                    startTimeUnixNano: START,
                    timeUnixNano: END,
                    count: 6,
                    sum: -1.5,
                    scale: -2,
                    zeroCount: 1,
                    zeroThreshold: 0.001,
                    positive: { offset: -3, bucketCounts: [2, '3'] },
                  },
                ],
              },
            },
            {
              name: 'hand.summary',
              unit: 'ms',
              summary: {
                dataPoints: [
                  {
                    startTimeUnixNano: START,
                    timeUnixNano: END,
                    count: 4,
                    sum: 10,
                    quantileValues: [
                      { quantile: 0.5, value: 2 },
                      { quantile: 1, value: 'Infinity' },
                    ],
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

/** ...and in OTLP/protobuf, with the histogram's counts unpacked, one field each. */
const HAND_PROTOBUF = bytes(
  1,
  bytes(
    1,
    keyValue(1, 'service.name', text(1, 'hand')),
    keyValue(1, 'negative', int(3, -42n)),
    keyValue(1, 'not.a.number', double(4, NaN)),
    keyValue(1, 'raw', bytes(7, Buffer.from([1, 2, 3]))),
    keyValue(1, 'list', bytes(5, bytes(1, int(3, 1)), bytes(1, text(1, 'x')), bytes(1, int(2, 1)))),
    keyValue(1, 'map', bytes(6, keyValue(1, 'inner', Buffer.alloc(0)))),
  ),
  bytes(
    2,
    bytes(1, text(1, 'hand-scope'), keyValue(3, 'scope.kind', text(1, 's'))),
    bytes(
      2,
      text(1, 'hand.sum'),
      bytes(
        7,
        bytes(
          1,
          times(2, 3),
          fixed(6, -9007199254740991n, true),
          bytes(
            5,
            fixed(2, BigInt(END)),
            double(3, 0.5),
            bytes(4, Buffer.from(SPAN_ID, 'hex')),
            bytes(5, Buffer.from(TRACE_ID, 'hex')),
            keyValue(7, 'user', text(1, 'u1')),
          ),
        ),
        int(2, 1),
      ),
      keyValue(12, 'origin', text(1, 'hand')),
    ),
    bytes(2, text(1, 'hand.gauge'), bytes(5, bytes(1, times(2, 3), int(8, 1)))),
    bytes(
      2,
      text(1, 'hand.histogram'),
      bytes(
        9,
        bytes(1, times(2, 3), fixed(4, 3n), fixed(6, 1n), fixed(6, 2n), bytes(7, doubles(10))),
        int(2, 2),
      ),
    ),
    bytes(
      2,
      text(1, 'hand.exponential'),
      bytes(
        10,
        bytes(
          1,
          times(2, 3),
          fixed(4, 6n),
          double(5, -1.5),
          zigzag(6, -2),
          fixed(7, 1n),
          bytes(8, zigzag(1, -3), bytes(2, varint(2n), varint(3n))),
          double(14, 0.001),
        ),
        int(2, 1),
      ),
    ),
    bytes(
      2,
      text(1, 'hand.summary'),
      text(3, 'ms'),
      bytes(
        11,
        bytes(
          1,
          times(2, 3),
          fixed(4, 4n),
          double(5, 10),
          bytes(6, double(1, 0.5), double(2, 2)),
          bytes(6, double(1, 1), double(2, Infinity)),
        ),
      ),
    ),
  ),
  text(3, 'https://opentelemetry.io/schemas/1.26.0'),
);

const HAND_EXPECTED: MetricsPayload = {
  resourceMetrics: [
    {
      resource: {
        'service.name': 'hand',
        negative: -42,
        'not.a.number': NaN,
        raw: Buffer.from([1, 2, 3]),
        list: [1, 'x', true],
        map: { inner: null },
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopes: [
        {
          name: 'hand-scope',
          version: '',
          attributes: { 'scope.kind': 's' },
          schemaUrl: '',
          metrics: [
            {
              name: 'hand.sum',
              description: '',
              unit: '',
              kind: 'sum',
              temporality: 'delta',
              monotonic: false,
              points: [
                {
                  attributes: {},
                  startTimeUnixNano: START,
                  timeUnixNano: END,
                  value: -9007199254740991,
                  valueType: 'int',
                  exemplars: [
                    {
                      filteredAttributes: { user: 'u1' },
                      timeUnixNano: END,
                      spanId: SPAN_ID,
                      traceId: TRACE_ID,
                      value: 0.5,
                      valueType: 'double',
                    },
                  ],
                },
              ],
              metadata: { origin: 'hand' },
            },
            {
              name: 'hand.gauge',
              description: '',
              unit: '',
              kind: 'gauge',
              points: [{ attributes: {}, startTimeUnixNano: START, timeUnixNano: END, flags: 1 }],
            },
            {
              name: 'hand.histogram',
              description: '',
              unit: '',
              kind: 'histogram',
              temporality: 'cumulative',
              points: [
                {
                  attributes: {},
                  startTimeUnixNano: START,
                  timeUnixNano: END,
                  count: 3,
                  bucketCounts: [1, 2],
                  explicitBounds: [10],
                },
              ],
            },
            {
              name: 'hand.exponential',
              description: '',
              unit: '',
              kind: 'exponentialHistogram',
              temporality: 'delta',
              points: [
                {
                  attributes: {},
                  startTimeUnixNano: START,
                  timeUnixNano: END,
                  count: 6,
                  sum: -1.5,
                  scale: -2,
                  zeroCount: 1,
                  zeroThreshold: 0.001,
                  positive: { offset: -3, bucketCounts: [2, 3] },
                  negative: { offset: 0, bucketCounts: [] },
                },
              ],
            },
            {
              name: 'hand.summary',
              description: '',
              unit: 'ms',
              kind: 'summary',
              points: [
                {
                  attributes: {},
                  startTimeUnixNano: START,
                  timeUnixNano: END,
                  count: 4,
                  sum: 10,
                  quantiles: [
                    { quantile: 0.5, value: 2 },
                    { quantile: 1, value: Infinity },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
  ],
};

describe('hand-made requests', () => {
  it('decode to the same payload in both encodings: int64s, bytes, ids, NaN, every metric kind', async () => {
    const json = await post(JSON_TYPE, JSON.stringify(HAND_JSON));
    const protobuf = await post(PROTOBUF_TYPE, HAND_PROTOBUF);

    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.body.toString()).toBe('{}');
    expect(protobuf.status).toBe(200);
    expect(protobuf.headers['content-type']).toBe('application/x-protobuf');
    expect(protobuf.body.length).toBe(0);

    const [fromJson, fromProtobuf] = receiver.requests;
    expect(fromJson?.unknownFields).toEqual([]);
    expect(fromProtobuf?.unknownFields).toEqual([]);
    expect(fromJson?.payload).toStrictEqual(HAND_EXPECTED);
    expect(fromProtobuf?.payload).toStrictEqual(HAND_EXPECTED);
  });

  it('lists keys that are not lowerCamelCase and field numbers it does not know', async () => {
    const snake = { resourceMetrics: [{ scope_metrics: [], resource: { attributes: [] } }] };
    const reply = await post(JSON_TYPE, JSON.stringify(snake));
    const unknownNumber = bytes(1, bytes(1, int(9, 7)));
    const reply2 = await post(PROTOBUF_TYPE, unknownNumber);

    expect([reply.status, reply2.status]).toEqual([200, 200]);
    expect(receiver.requests.map((r) => r.unknownFields)).toEqual([
      ['resourceMetrics[0].scope_metrics'],
      ['resourceMetrics[0].resource#9'],
    ]);
    expect(receiver.payloads).toStrictEqual([
      { resourceMetrics: [{ resource: {}, schemaUrl: '', scopes: [] }] },
      { resourceMetrics: [{ resource: {}, schemaUrl: '', scopes: [] }] },
    ]);
  });

  it('refuses malformed bodies with 400 and a Status naming the field, in the request encoding', async () => {
    const badInt = {
      resourceMetrics: [
        { scopeMetrics: [{ metrics: [{ name: 'm', sum: { dataPoints: [{ asInt: '1.5' }] } }] }] },
      ],
    };
    const json = await post(JSON_TYPE, JSON.stringify(badInt));
    const message =
      'resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].asInt: expected an integer, got "1.5"';
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toEqual({ code: 3, message });

    // resourceMetrics (1) says 5 bytes follow; one does.
    const truncated = await post(PROTOBUF_TYPE, Buffer.from([0x0a, 0x05, 0x01]));
    const truncation = 'request#1: truncated (length 5)';
    expect(truncated.status).toBe(400);
    expect(truncated.headers['content-type']).toBe('application/x-protobuf');
    // google.rpc.Status: code (1) = 3, message (2).
    expect(truncated.body).toEqual(
      Buffer.concat([Buffer.from([0x08, 3, 0x12, truncation.length]), Buffer.from(truncation)]),
    );

    const noData = await post(PROTOBUF_TYPE, bytes(1, bytes(2, bytes(2, text(1, 'empty')))));
    expect(noData.status).toBe(400);

    const notGzip = await post({ ...JSON_TYPE, 'Content-Encoding': 'gzip' }, '{}');
    expect(notGzip.status).toBe(400);

    expect(receiver.requests.map((r) => [r.status, r.encoding, r.error])).toEqual([
      [400, 'json', message],
      [400, 'protobuf', truncation],
      [
        400,
        'protobuf',
        'resourceMetrics[0].scopeMetrics[0].metrics[0] (empty): no gauge, sum, histogram or summary',
      ],
      [400, 'json', expect.stringMatching(/^the gzip body could not be inflated: /)],
    ]);
    expect(receiver.payloads).toEqual([]);
  });

  it('accepts gzip by hand and answers other routes, methods, types and codings as HTTP does', async () => {
    const gzipped = await post(
      { 'Content-Type': 'application/json; charset=utf-8', 'Content-Encoding': 'gzip' },
      gzipSync(JSON.stringify({ resourceMetrics: [] })),
    );
    expect(gzipped.status).toBe(200);

    const wrongPath = await post(JSON_TYPE, '{}', 'POST', '/v1/traces');
    const wrongMethod = await post(JSON_TYPE, '', 'GET');
    const wrongType = await post({ 'Content-Type': 'text/plain' }, 'hello');
    const wrongCoding = await post({ ...JSON_TYPE, 'Content-Encoding': 'br' }, '{}');

    expect([wrongPath.status, wrongMethod.status, wrongType.status, wrongCoding.status]).toEqual([
      404, 405, 415, 415,
    ]);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(receiver.requests.map((r) => [r.status, r.encoding])).toEqual([
      [200, 'json'],
      [404, undefined],
      [405, undefined],
      [415, undefined],
      [415, 'json'],
    ]);
    expect(receiver.payloads).toStrictEqual([{ resourceMetrics: [] }]);
  });
});

describe('waiting', () => {
  it('times out with what arrived and what the predicate last threw', async () => {
    await post(PROTOBUF_TYPE, HAND_PROTOBUF);
    const waited = receiver.waitFor((p) => metricsOf(p)[9]!.name === 'never', 50);
    await expect(waited).rejects.toThrow(
      [
        'OTLP receiver: no payload satisfying the predicate within 50 ms',
        'received 1 request(s), the last ones:',
        '  200 POST /v1/metrics protobuf: metrics hand.sum, hand.gauge, hand.histogram, hand.exponential, hand.summary',
        "the predicate last threw: TypeError: Cannot read properties of undefined (reading 'name')",
      ].join('\n'),
    );
  });

  it('fails waits still pending when the receiver closes, and closes twice', async () => {
    const pending = receiver.waitForMetric('test.requests', () => true, 10_000);
    const closed = receiver.close();
    await expect(pending).rejects.toThrow(
      'OTLP receiver closed while waiting for data of test.requests',
    );
    await closed;
    await receiver.close();
    await expect(receiver.waitFor(() => true)).rejects.toThrow('OTLP receiver closed');
  });
});
