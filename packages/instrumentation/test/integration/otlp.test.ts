/*
 * OTLP export, end to end: the app runs in a process of its own (see helpers/app-process.ts for
 * why), exports to a real OTLP receiver in this process, and the tests decode what arrived.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_LATENCY_BUCKETS } from '../../src/index';
import { startAppProcess, type AppProcess } from '../helpers/app-process';
import { samplesOf, valueOf } from '../helpers/exposition';
import {
  decodeOtlpProtobuf,
  findMetric,
  METRICS_PATH,
  startOtlpReceiver,
  type DataPoint,
  type Metric,
  type MetricsPayload,
  type OtlpReceiver,
} from '../servers/otlp-receiver';
import { get, send } from '../helpers/request';
import { until } from '../helpers/wait';

/** The known sequence: 2 GET /users/:id, 1 POST /users, 1 unmatched GET, 1 failing GET. */
async function sendSequence(base: string): Promise<void> {
  await get(base, '/users/1');
  await get(base, '/users/2');
  await send(base, 'POST', '/users');
  await get(base, '/missing');
  await get(base, '/error');
}

const EXPECTED_COUNTS = [
  { method: 'GET', endpoint: '/error', http_status: '500', value: 1 },
  { method: 'GET', endpoint: '/users/:id', http_status: '200', value: 2 },
  { method: 'GET', endpoint: '<unmatched>', http_status: '404', value: 1 },
  { method: 'POST', endpoint: '/users', http_status: '201', value: 1 },
];

type Row = Record<string, unknown>;
const byLabels = (a: Row, b: Row): number =>
  JSON.stringify({ ...a, value: 0 }).localeCompare(JSON.stringify({ ...b, value: 0 }));

/** A metric's points as attributes plus value, sorted, for exact comparison. */
function rows(metric: Metric | undefined): Row[] {
  return (metric?.points ?? []).map((p) => ({ ...p.attributes, value: p.value })).sort(byLabels);
}

const total = (metric: Metric | undefined): number =>
  (metric?.points ?? []).reduce((n, p) => n + (p.value ?? 0), 0);

function pointOf(metric: Metric, attributes: Record<string, string>): DataPoint {
  const found = metric.points.filter((p) =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
  if (found.length !== 1) throw new Error(`${found.length} points of ${metric.name} match`);
  return found[0] as DataPoint;
}

/**
 * Flushes until the newest export of `name` satisfies `accept`: the app records a request when
 * its response closes, which may come just after the client has read it.
 */
async function flushUntil(
  app: AppProcess,
  latest: () => Metric | undefined,
  accept: (metric: Metric | undefined) => boolean,
): Promise<Metric> {
  const metric = await until(async () => {
    await app.forceFlush();
    return latest();
  }, accept);
  if (metric === undefined || !accept(metric)) {
    throw new Error(`no export as expected; the newest: ${JSON.stringify(metric)}`);
  }
  return metric;
}

/** The app's exposition once it counts `n` requests in all. */
function exposition(app: AppProcess, n: number): Promise<string> {
  return until(
    () => app.scrape(),
    (t) => samplesOf(t, 'app_request_count_total').reduce((sum, s) => sum + s.value, 0) === n,
  );
}

let receiver: OtlpReceiver;
let app: AppProcess | undefined;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await receiver.close();
});

describe.each(['http/json', 'http/protobuf'] as const)('OTLP over %s', (protocol) => {
  it('carries the names, attributes and values of a known sequence of requests', async () => {
    app = await startAppProcess(
      {
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
        OTEL_SERVICE_NAME: 'checkout',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging',
      },
      { appVersion: 'v1.2.3', appConfig: 'staging' },
    );
    expect(app.metricsUrl).toBeUndefined();
    await sendSequence(app.url);
    const count = await flushUntil(
      app,
      () => receiver.metric('app_request_count'),
      (m) => total(m) === 5,
    );

    const request = receiver.requests.at(-1);
    expect(request?.status).toBe(200);
    expect(request?.path).toBe(METRICS_PATH);
    expect(request?.headers['content-type']).toBe(
      protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
    );
    expect(request?.unknownFields).toEqual([]);
    const payload = request?.payload as MetricsPayload;
    expect(payload.resourceMetrics).toHaveLength(1);
    const [resource] = payload.resourceMetrics;
    expect(resource?.resource).toMatchObject({
      'service.name': 'checkout',
      'deployment.environment.name': 'staging',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
    });
    expect(resource?.resource['service.instance.id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(resource?.scopes.map((s) => s.name)).toContain('express-otel-metrics');

    expect(count).toMatchObject({ kind: 'sum', monotonic: true, temporality: 'cumulative' });
    expect(rows(count)).toEqual(EXPECTED_COUNTS);

    const latency = findMetric(payload, 'app_request_latency_seconds') as Metric;
    expect(latency).toMatchObject({ kind: 'histogram', temporality: 'cumulative', unit: 's' });
    expect(latency.points.map((p) => p.attributes).sort(byLabels)).toEqual([
      { method: 'GET', endpoint: '/error' },
      { method: 'GET', endpoint: '/users/:id' },
      { method: 'GET', endpoint: '<unmatched>' },
      { method: 'POST', endpoint: '/users' },
    ]);
    const users = pointOf(latency, { endpoint: '/users/:id' });
    expect(users.count).toBe(2);
    expect(users.explicitBounds).toEqual(DEFAULT_LATENCY_BUCKETS);
    expect(users.bucketCounts).toHaveLength(DEFAULT_LATENCY_BUCKETS.length + 1);
    expect(users.bucketCounts?.reduce((a, b) => a + b, 0)).toBe(2);
    expect(users.sum).toBeGreaterThan(0);
    expect(users.sum).toBeLessThan(2 * 5);

    const version = findMetric(payload, 'app_version_info') as Metric;
    expect(version.kind).toBe('gauge');
    expect(rows(version)).toEqual([{ version: 'v1.2.3', config: 'staging', value: 1 }]);
    // The process and runtime series travel the same way.
    const cpu = findMetric(payload, 'process_cpu_seconds') as Metric;
    expect(cpu).toMatchObject({ kind: 'sum', monotonic: true, unit: 's' });
    expect(cpu.points[0]?.value).toBeGreaterThan(0);
    const heap = findMetric(payload, 'nodejs_heap_size_used_bytes') as Metric;
    expect(heap.kind).toBe('gauge');
    expect(heap.points[0]?.value).toBeGreaterThan(1_000_000);
  });
});

describe.each(['http/json', 'http/protobuf'] as const)(
  "OTLP over %s, latencyHistogram: 'both'",
  (protocol) => {
    it('carries the classic histogram and the exponential one, same series, same counts', async () => {
      app = await startAppProcess(
        {
          OTEL_METRICS_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
        },
        { latencyHistogram: 'both', nativeHistogramMaxSize: 40 },
      );
      await sendSequence(app.url);
      await flushUntil(
        app,
        () => receiver.metric('app_request_count'),
        (m) => total(m) === 5,
      );
      const payload = receiver.requests.at(-1)?.payload as MetricsPayload;
      const classic = findMetric(payload, 'app_request_latency_seconds') as Metric;
      expect(classic.kind).toBe('histogram');
      const native = findMetric(payload, 'app_request_latency_seconds_native') as Metric;
      expect(native).toMatchObject({
        kind: 'exponentialHistogram',
        temporality: 'cumulative',
        unit: 's',
      });
      expect(native.points.map((p) => p.attributes).sort(byLabels)).toEqual(
        classic.points.map((p) => p.attributes).sort(byLabels),
      );
      const users = pointOf(native, { endpoint: '/users/:id' });
      expect(users.count).toBe(2);
      const counted = (users.positive?.bucketCounts ?? []).reduce((a, b) => a + b, 0);
      expect(counted + (users.zeroCount ?? 0)).toBe(2);
      expect(users.positive?.bucketCounts.length).toBeLessThanOrEqual(40);
      expect(users.sum).toBeCloseTo(pointOf(classic, { endpoint: '/users/:id' }).sum as number, 12);
      expect(Number.isInteger(users.scale)).toBe(true);
    });
  },
);

describe.each(['http/json', 'http/protobuf'] as const)(
  'OTLP over %s, naming: semconv',
  (protocol) => {
    it('carries the semantic-convention names and attributes of the same requests', async () => {
      app = await startAppProcess(
        {
          OTEL_METRICS_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
        },
        { naming: 'semconv' },
      );
      await sendSequence(app.url);
      const duration = await flushUntil(
        app,
        () => receiver.metric('http.server.request.duration'),
        (m) => (m?.points ?? []).reduce((n, p) => n + (p.count ?? 0), 0) === 5,
      );
      expect(duration).toMatchObject({ kind: 'histogram', temporality: 'cumulative', unit: 's' });
      const common = { 'http.request.method': 'GET', 'url.scheme': 'http' };
      expect(
        duration.points
          .map((p): Row => ({ ...p.attributes, count: p.count }))
          .map(({ 'network.protocol.version': version, ...rest }) => {
            expect(version).toBe('1.1');
            return rest;
          })
          .sort(byLabels),
      ).toEqual(
        [
          {
            ...common,
            'http.route': '/error',
            'http.response.status_code': 500,
            'error.type': '500',
            count: 1,
          },
          { ...common, 'http.route': '/users/:id', 'http.response.status_code': 200, count: 2 },
          // No route matched: the conventions leave http.route out rather than invent one.
          { ...common, 'http.response.status_code': 404, count: 1 },
          {
            ...common,
            'http.request.method': 'POST',
            'http.route': '/users',
            'http.response.status_code': 201,
            count: 1,
          },
        ].sort(byLabels),
      );
      const payload = receiver.requests.at(-1)?.payload as MetricsPayload;
      // The conventions have no request counter; the histogram's count is the count.
      expect(findMetric(payload, 'app_request_count')).toBeUndefined();
      const cpu = findMetric(payload, 'process.cpu.time') as Metric;
      expect(cpu).toMatchObject({ kind: 'sum', monotonic: true, unit: 's' });
      expect(cpu.points.map((p) => p.attributes['cpu.mode']).sort()).toEqual(['system', 'user']);
      expect(findMetric(payload, 'process_cpu_seconds')).toBeUndefined();
    });
  },
);

it('with OTEL_METRICS_EXPORTER=prometheus,otlp, both carry the same counts', async () => {
  app = await startAppProcess(
    {
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
    },
    { endpoint: { host: '127.0.0.1', port: 0 } },
  );
  await sendSequence(app.url);
  await exposition(app, 5);
  // Scraped over HTTP, as Prometheus does; nothing is recorded between it and the flush.
  const endpoint = new URL(app.metricsUrl as string);
  const text = (await get(endpoint.origin, endpoint.pathname)).body;
  await app.forceFlush();
  const payload = receiver.payloads.at(-1) as MetricsPayload;

  const counted = samplesOf(text, 'app_request_count_total')
    .map((s) => ({ ...s.labels, value: s.value }))
    .sort(byLabels);
  expect(counted).toEqual(EXPECTED_COUNTS);
  expect(rows(findMetric(payload, 'app_request_count'))).toEqual(counted);

  const latency = findMetric(payload, 'app_request_latency_seconds') as Metric;
  expect(latency.points).toHaveLength(4);
  for (const point of latency.points) {
    const labels = point.attributes as Record<string, string>;
    expect(valueOf(text, 'app_request_latency_seconds_count', labels)).toBe(point.count);
    expect(valueOf(text, 'app_request_latency_seconds_sum', labels)).toBe(point.sum);
    let cumulative = 0;
    (point.explicitBounds ?? []).forEach((bound, i) => {
      cumulative += point.bucketCounts?.[i] ?? NaN;
      expect(
        valueOf(text, 'app_request_latency_seconds_bucket', { ...labels, le: String(bound) }),
      ).toBe(cumulative);
    });
    expect(valueOf(text, 'app_request_latency_seconds_bucket', { ...labels, le: '+Inf' })).toBe(
      point.count,
    );
  }
  const version = { version: 'unknown', config: 'unknown' };
  expect(valueOf(text, 'app_version_info', version)).toBe(1);
  expect(rows(findMetric(payload, 'app_version_info'))).toEqual([{ ...version, value: 1 }]);
});

it('exports deltas when OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta', async () => {
  // Prometheus alongside, cumulative whatever the variable says, tells when requests are recorded.
  app = await startAppProcess(
    {
      OTEL_METRICS_EXPORTER: 'otlp,prometheus',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
    },
    { endpoint: { mode: 'none' } },
  );
  await get(app.url, '/users/1');
  await get(app.url, '/users/2');
  await exposition(app, 2);
  await app.forceFlush();
  const first = receiver.metric('app_request_count') as Metric;
  expect(first).toMatchObject({ temporality: 'delta', monotonic: true });
  expect(rows(first)).toEqual([
    { method: 'GET', endpoint: '/users/:id', http_status: '200', value: 2 },
  ]);

  await get(app.url, '/users/3');
  expect(valueOf(await exposition(app, 3), 'app_request_count_total')).toBe(3);
  await app.forceFlush();
  expect(rows(receiver.metric('app_request_count'))).toEqual([
    { method: 'GET', endpoint: '/users/:id', http_status: '200', value: 1 },
  ]);
  const latency = receiver.metric('app_request_latency_seconds') as Metric;
  expect(latency.temporality).toBe('delta');
  expect(latency.points.map((p) => p.count)).toEqual([1]);
  // Gauges stay as they are: the version is still 1.
  expect(rows(receiver.metric('app_version_info'))).toEqual([
    { version: 'unknown', config: 'unknown', value: 1 },
  ]);
});

it('exports every OTEL_METRIC_EXPORT_INTERVAL without being asked', async () => {
  app = await startAppProcess({
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
    OTEL_METRIC_EXPORT_INTERVAL: '100',
  });
  await get(app.url, '/users/9');
  const count = await receiver.waitForMetric('app_request_count', (m) => total(m) === 1);
  expect(rows(count)).toEqual([
    { method: 'GET', endpoint: '/users/:id', http_status: '200', value: 1 },
  ]);
});

it('takes the endpoint, headers and compression from the OTEL_EXPORTER_OTLP_* variables', async () => {
  app = await startAppProcess({
    OTEL_METRICS_EXPORTER: 'otlp',
    // The endpoint for every signal: the exporter adds /v1/metrics.
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cret,x-tenant=shop%20one',
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
  });
  await get(app.url, '/users/1');
  const running = app;
  await flushUntil(
    running,
    () => receiver.metric('app_request_count'),
    (m) => total(m) === 1,
  );
  const request = receiver.requests.at(-1);
  expect(request?.status).toBe(200);
  expect(request?.path).toBe(METRICS_PATH);
  expect(request?.headers).toMatchObject({
    'x-api-key': 's3cret',
    'x-tenant': 'shop one',
    'content-encoding': 'gzip',
    // http/protobuf is the specification's default protocol.
    'content-type': 'application/x-protobuf',
  });
});

it('sends a last export when the registration shuts down', async () => {
  app = await startAppProcess({
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
  });
  await get(app.url, '/users/1');
  await get(app.url, '/users/2');
  expect(receiver.requests).toHaveLength(0);
  expect(await app.stop()).toBe(0);
  // One export, at shutdown: the interval (60 s by default) never came.
  expect(receiver.payloads).toHaveLength(1);
  expect(rows(receiver.metric('app_request_count'))).toEqual([
    { method: 'GET', endpoint: '/users/:id', http_status: '200', value: 2 },
  ]);
  // The collectors still observed for it.
  expect(rows(receiver.metric('app_version_info'))).toEqual([
    { version: 'unknown', config: 'unknown', value: 1 },
  ]);
  expect(receiver.metric('process_cpu_seconds')?.points[0]?.value).toBeGreaterThan(0);
});

/** The gRPC method an OTLP exporter calls. */
const EXPORT_METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

interface GrpcReceiver {
  url: string;
  payloads: MetricsPayload[];
  paths: string[];
  close(): Promise<void>;
}

/**
 * OTLP/gRPC over plain HTTP/2: a request is one length-prefixed protobuf message (a compression
 * flag, a big-endian length), answered with an empty response message and `grpc-status: 0`.
 */
async function startGrpcReceiver(): Promise<GrpcReceiver> {
  const server: Http2Server = createServer();
  const payloads: MetricsPayload[] = [];
  const paths: string[] = [];
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      paths.push(String(headers[':path']));
      // 3 is INVALID_ARGUMENT: a compressed or truncated message is not expected here.
      let status = '3';
      if (body.length >= 5 && body[0] === 0 && body.length === 5 + body.readUInt32BE(1)) {
        payloads.push(decodeOtlpProtobuf(body.subarray(5)).payload);
        status = '0';
      }
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': status }));
      stream.end(Buffer.alloc(5));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    payloads,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

it('loads no OTLP package until OTLP is chosen, and only the chosen one, at its first export', async () => {
  const defaults = await startAppProcess({}, { endpoint: { mode: 'none' } });
  try {
    await get(defaults.url, '/users/1');
    expect(valueOf(await exposition(defaults, 1), 'app_request_count_total')).toBe(1);
    expect(await defaults.loaded()).toEqual([]);
  } finally {
    await defaults.stop();
  }

  const grpc = await startGrpcReceiver();
  try {
    app = await startAppProcess({
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: grpc.url,
    });
    await sendSequence(app.url);
    expect(await app.loaded()).toEqual([]);
    const running = app;
    const count = await flushUntil(
      running,
      () => {
        const latest = grpc.payloads.at(-1);
        return latest && findMetric(latest, 'app_request_count');
      },
      (m) => total(m) === 5,
    );
    expect(rows(count)).toEqual(EXPECTED_COUNTS);
    expect(new Set(grpc.paths)).toEqual(new Set([EXPORT_METHOD]));
    const loaded = await app.loaded();
    expect(loaded).toEqual(
      expect.arrayContaining(['@grpc/grpc-js', '@opentelemetry/exporter-metrics-otlp-grpc']),
    );
    expect(loaded).not.toContain('@opentelemetry/exporter-metrics-otlp-proto');
    expect(await app.stop()).toBe(0);
  } finally {
    await grpc.close();
  }
});

it('loads the exporter with import() in the ES module build', async () => {
  // The build of the package's ES module entry, where the bundler has had its say on `require`.
  const root = join(__dirname, '..', '..');
  const outDir = join(root, 'node_modules', '.cache', 'express-otel-metrics-esm');
  const tsup = join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js');
  const build = spawnSync(
    process.execPath,
    [
      tsup,
      'src/index.ts',
      '--no-config',
      '--format',
      'esm',
      '--target',
      'node22',
      '--out-dir',
      outDir,
      // As the package's build: __filename in an ES module, where optional exporters are resolved.
      '--shims',
      '--silent',
    ],
    { cwd: root, encoding: 'utf8' },
  );
  expect(build.status).toBe(0);
  const script = `
    import { createRequire } from 'node:module';
    import express from 'express';
    import { registerMetrics } from ${JSON.stringify(join(outDir, 'index.mjs'))};
    const metrics = registerMetrics(express());
    await metrics.forceFlush();
    await metrics.shutdown();
    // A CommonJS copy of the exporter would mean it was required, beside the SDK's ES modules.
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify(cjs.filter((f) => f.includes('exporter-metrics-otlp'))));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}${METRICS_PATH}`,
    },
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
  expect(JSON.parse(out)).toEqual([]);
  expect(receiver.requests.map((r) => [r.status, r.headers['content-type']])).toEqual([
    [200, 'application/json'],
    [200, 'application/json'],
  ]);
  expect(rows(receiver.metric('app_version_info'))).toEqual([
    { version: 'unknown', config: 'unknown', value: 1 },
  ]);
});
