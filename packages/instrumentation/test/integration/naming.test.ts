import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Attributes } from '@opentelemetry/api';
import { AggregationType, MeterProvider, type MetricData } from '@opentelemetry/sdk-metrics';
import type { Express } from 'express';
import { kindOf as collectedKind } from '../../src/export/collected';
import { prometheusName, prometheusType } from '../../src/export/prometheus-name';
import { hasProc, readMaxFds } from '../../src/platform/proc';
import {
  CLIENT_CLOSED_ERROR,
  ENDPOINT_METRICS,
  createViews,
  GC_KINDS,
  METER_NAME,
  NODEJS_METRICS,
  OTHER_METHOD,
  PROCESS_METRICS,
  registerMetrics,
  SEMCONV_ATTRIBUTES,
  SEMCONV_DURATION_BUCKETS,
  SEMCONV_METRICS,
  type MetricsHandle,
} from '../../src/index';
import { resolveOptions } from '../../src/options/resolve';
import { FLAVOURS, listen, type Running } from '../helpers/apps';
import { samplesOf, typeOf, valueOf } from '../helpers/exposition';
import {
  attributeKeys,
  histogramPoints,
  InMemoryReader,
  kindOf,
  metricOf,
  valueAt,
  values,
} from '../helpers/reader';
import { send } from '../helpers/request';
import { sleep, until } from '../helpers/wait';

setFlagsFromString('--expose-gc');
const forceGc = runInNewContext('gc') as () => void;

const linux = hasProc();
const onLinux = linux ? it : it.skip;

/** The conventions' advice for both histograms (HTTP server and GC durations). */
const ADVISED_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const {
  httpRequestMethod: METHOD,
  httpRoute: ROUTE,
  httpResponseStatusCode: STATUS,
  errorType: ERROR,
  urlScheme: SCHEME,
  networkProtocolVersion: VERSION,
} = SEMCONV_ATTRIBUTES;

/** A registration in semconv mode, read both ways: the exposition, and an in-memory reader. */
function semconv(app: Express): { metrics: MetricsHandle; reader: InMemoryReader } {
  const reader = new InMemoryReader();
  const metrics = registerMetrics(app, {
    naming: 'semconv',
    endpoint: { mode: 'none' },
    exporters: ['prometheus', reader],
  });
  return { metrics, reader };
}

/** The request histogram's points as `{ attributes, count }`, in a stable order. */
function requestCounts(
  metrics: Map<string, MetricData>,
): Array<{ attributes: Attributes; count: number }> {
  return histogramPoints(metricOf(metrics, SEMCONV_METRICS.requestDuration))
    .map(({ attributes, value }) => ({ attributes, count: value.count }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

const byMode = (a: Attributes, b: Attributes): number =>
  String(a['cpu.mode']).localeCompare(String(b['cpu.mode']));

const byAttributes = (a: { attributes: Attributes }, b: { attributes: Attributes }): number =>
  JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes));

describe.each(FLAVOURS)('semconv request metrics on %s', (_flavour, express) => {
  let metrics: MetricsHandle;
  let reader: InMemoryReader;
  let running: Running;
  let hangs = 0;

  async function recorded(expected: number): Promise<Map<string, MetricData>> {
    const total = async (): Promise<number> => {
      const m = await reader.metrics();
      if (!m.has(SEMCONV_METRICS.requestDuration)) return 0;
      return requestCounts(m).reduce((sum, p) => sum + p.count, 0);
    };
    expect(await until(total, (n) => n >= expected)).toBe(expected);
    return reader.metrics();
  }

  beforeEach(async () => {
    const app: Express = express();
    ({ metrics, reader } = semconv(app));
    hangs = 0;
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.get('/boom', () => {
      throw new Error('handler failure');
    });
    app.get('/slow', (_req, res) => {
      setTimeout(() => res.send('slow'), 120);
    });
    app.get('/hang', () => {
      // never answers: the client gives up
      hangs += 1;
    });
    const items = express.Router();
    items.get('/items/:itemId', (_req, res) => {
      res.send('item');
    });
    app.use('/api/orders/:orderId', items);
    running = await listen(app);
  });

  afterEach(async () => {
    await running.close();
    await metrics.shutdown();
  });

  it('records http.server.request.duration with the conventions attributes, and nothing else per request', async () => {
    expect((await send(running.url, 'GET', '/users/1')).status).toBe(200);
    expect((await send(running.url, 'GET', '/users/2')).status).toBe(200);
    expect((await send(running.url, 'GET', '/no/such/page')).status).toBe(404);
    expect((await send(running.url, 'GET', '/boom')).status).toBe(500);
    expect((await send(running.url, 'HEAD', '/users/1')).status).toBe(200);
    expect((await send(running.url, 'PROPFIND', '/users/1')).status).toBe(404);
    expect((await send(running.url, 'GET', '/api/orders/4/items/2')).status).toBe(200);
    const collected = await recorded(7);

    const common = { [SCHEME]: 'http', [VERSION]: '1.1' };
    expect(requestCounts(collected)).toEqual(
      [
        {
          attributes: { ...common, [METHOD]: 'GET', [ROUTE]: '/users/:id', [STATUS]: 200 },
          count: 2,
        },
        // No route matched: `http.route` is absent (the `<unmatched>` of the Prometheus naming).
        { attributes: { ...common, [METHOD]: 'GET', [STATUS]: 404 }, count: 1 },
        // A 5xx is an error; its `error.type` is the status code as a string.
        {
          attributes: {
            ...common,
            [METHOD]: 'GET',
            [ROUTE]: '/boom',
            [STATUS]: 500,
            [ERROR]: '500',
          },
          count: 1,
        },
        {
          attributes: { ...common, [METHOD]: 'HEAD', [ROUTE]: '/users/:id', [STATUS]: 200 },
          count: 1,
        },
        { attributes: { ...common, [METHOD]: OTHER_METHOD, [STATUS]: 404 }, count: 1 },
        {
          attributes: {
            ...common,
            [METHOD]: 'GET',
            [ROUTE]: '/api/orders/:orderId/items/:itemId',
            [STATUS]: 200,
          },
          count: 1,
        },
      ].sort(byAttributes),
    );

    const duration = metricOf(collected, SEMCONV_METRICS.requestDuration);
    expect(duration.descriptor).toMatchObject({ name: 'http.server.request.duration', unit: 's' });
    expect(kindOf(duration)).toBe('histogram');
    for (const { value } of histogramPoints(duration)) {
      expect(value.buckets.boundaries).toEqual(ADVISED_BUCKETS);
    }
    // The conventions have no request counter, and flask_prometheus_metrics' instruments are not
    // created.
    const ours = [...collected.keys()].filter((name) => /request|http/.test(name));
    expect(ours).toEqual([SEMCONV_METRICS.requestDuration]);
  });

  it("renders the same series in the exposition under Prometheus' OTLP name, unit suffix and all", async () => {
    await send(running.url, 'GET', '/users/1');
    await send(running.url, 'GET', '/boom');
    await send(running.url, 'DELETE', '/nothing-here');
    await recorded(3);
    const text = await metrics.scrape();
    const family = 'http_server_request_duration_seconds';
    expect(typeOf(text, family)).toBe('histogram');
    expect(text).toMatch(/^# UNIT http_server_request_duration_seconds s$/m);
    expect(text).not.toMatch(/^# TYPE http_server_request_duration /m);
    const base = { url_scheme: 'http', network_protocol_version: '1.1' };
    expect(
      valueOf(text, `${family}_count`, {
        ...base,
        http_request_method: 'GET',
        http_route: '/users/:id',
        http_response_status_code: '200',
      }),
    ).toBe(1);
    expect(
      valueOf(text, `${family}_count`, {
        ...base,
        http_request_method: 'GET',
        http_route: '/boom',
        http_response_status_code: '500',
        error_type: '500',
      }),
    ).toBe(1);
    const unmatched = samplesOf(text, `${family}_count`, { http_request_method: 'DELETE' });
    expect(unmatched.map((s) => [s.labels, s.value])).toEqual([
      [{ ...base, http_request_method: 'DELETE', http_response_status_code: '404' }, 1],
    ]);
    expect(text).not.toMatch(/app_request_/);
    expect(samplesOf(text, `${family}_count`).reduce((sum, s) => sum + s.value, 0)).toBe(3);
  });

  it('times a request in seconds into the advised buckets', async () => {
    await send(running.url, 'GET', '/slow');
    const collected = await recorded(1);
    const [point] = histogramPoints(metricOf(collected, SEMCONV_METRICS.requestDuration));
    expect(point?.attributes[ROUTE]).toBe('/slow');
    const { sum, min, max, buckets } = point!.value;
    expect(sum).toBeGreaterThanOrEqual(0.115);
    expect(sum).toBeLessThan(1);
    expect(min).toBe(sum);
    expect(max).toBe(sum);
    // 0.1 < sum <= 0.25: the seventh bucket, and none other.
    expect(buckets.counts).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('gives a request whose client went away no status code and error.type client_closed', async () => {
    const port = Number(new URL(running.url).port);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
    // The clock starts when the server reads the request, which a busy machine can delay well
    // past the write: wait for the handler before timing the hang.
    expect(
      await until(
        async () => hangs,
        (n) => n === 1,
      ),
    ).toBe(1);
    await sleep(150);
    socket.destroy();
    const collected = await recorded(1);
    const points = histogramPoints(metricOf(collected, SEMCONV_METRICS.requestDuration));
    expect(points.map((p) => p.attributes)).toEqual([
      {
        [SCHEME]: 'http',
        [VERSION]: '1.1',
        [METHOD]: 'GET',
        [ROUTE]: '/hang',
        [ERROR]: CLIENT_CLOSED_ERROR,
      },
    ]);
    expect(points[0]!.value.sum).toBeGreaterThanOrEqual(0.1);
  });
});

describe('semconv process and runtime series', () => {
  let metrics: MetricsHandle;
  let reader: InMemoryReader;
  let running: Running;

  beforeEach(async () => {
    const express = FLAVOURS[1]![1];
    const app = express();
    ({ metrics, reader } = semconv(app));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    running = await listen(app);
  });

  afterEach(async () => {
    await running.close();
    await metrics.shutdown();
  });

  it('exports exactly the conventions names, and ours only where they have none', async () => {
    await send(running.url, 'GET', '/');
    forceGc();
    const collected = await until(
      () => reader.metrics(),
      (m) => m.has(SEMCONV_METRICS.gcDuration) && m.has(SEMCONV_METRICS.requestDuration),
    );
    const linuxOnly: string[] = [
      SEMCONV_METRICS.memoryVirtual,
      SEMCONV_METRICS.fileDescriptorCount,
      PROCESS_METRICS.maxFds,
    ];
    // Less the request series of options `inFlight` and `bodySizes`, which are off.
    const optional: string[] = [
      SEMCONV_METRICS.activeRequests,
      SEMCONV_METRICS.requestBodySize,
      SEMCONV_METRICS.responseBodySize,
    ];
    const expected = [
      ...Object.values(SEMCONV_METRICS).filter((name) => !optional.includes(name)),
      'app_version_info',
      ENDPOINT_METRICS.scrapesRejected,
      PROCESS_METRICS.maxFds,
      NODEJS_METRICS.versionInfo,
      NODEJS_METRICS.externalMemory,
    ].filter((name) => linux || !linuxOnly.includes(name));
    expect([...collected.keys()].sort()).toEqual(expected.sort());

    // Attribute keys of every series, and its kind and unit, as the conventions give them.
    const shape = (name: string) => {
      const m = metricOf(collected, name);
      return [kindOf(m), m.descriptor.unit, attributeKeys(m)];
    };
    expect(shape(SEMCONV_METRICS.cpuTime)).toEqual(['counter', 's', ['cpu.mode']]);
    expect(shape(SEMCONV_METRICS.memoryUsage)).toEqual(['updowncounter', 'By', []]);
    expect(shape(SEMCONV_METRICS.uptime)).toEqual(['gauge', 's', []]);
    expect(shape(SEMCONV_METRICS.gcDuration)).toEqual(['histogram', 's', ['v8js.gc.type']]);
    for (const name of [
      SEMCONV_METRICS.heapUsed,
      SEMCONV_METRICS.heapSpaceSize,
      SEMCONV_METRICS.heapSpaceAvailableSize,
    ]) {
      expect(shape(name)).toEqual(['updowncounter', 'By', ['v8js.heap.space.name']]);
    }
    expect(shape(SEMCONV_METRICS.resourceActive)).toEqual([
      'gauge',
      '{resource}',
      ['v8js.resource.type'],
    ]);
    for (const stat of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99']) {
      expect(shape(`nodejs.eventloop.delay.${stat}`)).toEqual(['gauge', 's', []]);
    }
    expect(shape(SEMCONV_METRICS.eventLoopUtilization)).toEqual(['gauge', '1', []]);
    if (linux) {
      expect(shape(SEMCONV_METRICS.memoryVirtual)).toEqual(['updowncounter', 'By', []]);
      expect(shape(SEMCONV_METRICS.fileDescriptorCount)).toEqual([
        'updowncounter',
        '{file_descriptor}',
        [],
      ]);
    }
  });

  it("writes every recorded series in the exposition under Prometheus' OTLP name of it", async () => {
    await send(running.url, 'GET', '/');
    forceGc();
    await until(
      () => reader.metrics(),
      (m) => m.has(SEMCONV_METRICS.gcDuration) && m.has(SEMCONV_METRICS.requestDuration),
    );
    const familiesOf = (t: string): string[] =>
      [...t.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    // Both readers collect the same instruments; a series appears in either once it has a value.
    const [collected, text] = await until(
      async () => [await reader.metrics(), await metrics.scrape()] as const,
      ([m, t]) => familiesOf(t).length === m.size,
    );
    const translated = [...collected.values()].map((metric) => {
      const { name: otelName, unit } = metric.descriptor;
      const kind = collectedKind(metric);
      const name = prometheusName(otelName, unit, kind) as string;
      return `${name} ${prometheusType(name, kind)}`;
    });
    expect(familiesOf(text)).toEqual(translated.sort());
    if (linux) {
      expect(familiesOf(text)).toContain('process_unix_file_descriptor_count untyped');
    }
    expect(familiesOf(text)).toContain('process_cpu_time_seconds_total counter');
    expect(familiesOf(text)).toContain('nodejs_eventloop_utilization_ratio gauge');
  });

  it('process.cpu.time is process.cpuUsage() by cpu.mode', async () => {
    const before = process.cpuUsage();
    const cpu = metricOf(await reader.metrics(), SEMCONV_METRICS.cpuTime);
    const after = process.cpuUsage();
    expect(
      values(cpu)
        .map((p) => p.attributes)
        .sort(byMode),
    ).toEqual([{ 'cpu.mode': 'system' }, { 'cpu.mode': 'user' }]);
    const user = valueAt(cpu, { 'cpu.mode': 'user' });
    const system = valueAt(cpu, { 'cpu.mode': 'system' });
    expect(user).toBeGreaterThanOrEqual(before.user / 1e6);
    expect(user).toBeLessThanOrEqual(after.user / 1e6);
    expect(system).toBeGreaterThanOrEqual(before.system / 1e6);
    expect(system).toBeLessThanOrEqual(after.system / 1e6);
  });

  it('process.memory.usage is the RSS, process.uptime the time since the process started', async () => {
    const collected = await reader.metrics();
    const rss = process.memoryUsage.rss();
    const usage = valueAt(metricOf(collected, SEMCONV_METRICS.memoryUsage));
    expect(Math.abs(usage - rss) / rss).toBeLessThan(0.2);
    const uptime = valueAt(metricOf(collected, SEMCONV_METRICS.uptime));
    expect(Math.abs(uptime - performance.now() / 1000)).toBeLessThan(1);
    expect(Math.abs(uptime - process.uptime())).toBeLessThan(1);
  });

  onLinux('process.unix.file_descriptor.count rises by N when N files are opened', async () => {
    const count = async (): Promise<number> =>
      valueAt(metricOf(await reader.metrics(), SEMCONV_METRICS.fileDescriptorCount));
    const dir = mkdtempSync(join(tmpdir(), 'fds-'));
    const n = 25;
    const before = await count();
    const fds = Array.from({ length: n }, (_, i) => openSync(join(dir, `f${i}`), 'w'));
    try {
      expect(await count()).toBe(before + n);
    } finally {
      for (const fd of fds) closeSync(fd);
      rmSync(dir, { recursive: true });
    }
    const collected = await reader.metrics();
    expect(valueAt(metricOf(collected, PROCESS_METRICS.maxFds))).toBe(readMaxFds());
    const vmSize =
      Number(/^VmSize:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
    const virtual = valueAt(metricOf(collected, SEMCONV_METRICS.memoryVirtual));
    expect(Math.abs(virtual - vmSize) / vmSize).toBeLessThan(0.05);
  });

  it('v8js.gc.duration counts a forced major GC by v8js.gc.type, in the advised buckets', async () => {
    const majors = async (): Promise<number> => {
      const gc = (await reader.metrics()).get(SEMCONV_METRICS.gcDuration);
      if (gc === undefined) return 0;
      const major = histogramPoints(gc).find((p) => p.attributes['v8js.gc.type'] === 'major');
      return major?.value.count ?? 0;
    };
    const before = await majors();
    forceGc();
    expect(await until(majors, (n) => n > before)).toBeGreaterThanOrEqual(before + 1);
    const gc = metricOf(await reader.metrics(), SEMCONV_METRICS.gcDuration);
    for (const { attributes, value } of histogramPoints(gc)) {
      expect(GC_KINDS).toContain(attributes['v8js.gc.type']);
      expect(value.buckets.boundaries).toEqual(ADVISED_BUCKETS);
    }
  });

  it('v8js.memory.* describe each heap space by its V8 name; their sums are the heap totals', async () => {
    const collected = await reader.metrics();
    const heap = getHeapStatistics();
    const used = metricOf(collected, SEMCONV_METRICS.heapUsed);
    const size = metricOf(collected, SEMCONV_METRICS.heapSpaceSize);
    const available = metricOf(collected, SEMCONV_METRICS.heapSpaceAvailableSize);
    const spaces = values(used).map((p) => p.attributes['v8js.heap.space.name'] as string);
    expect(spaces).toEqual(
      expect.arrayContaining(['old_space', 'new_space', 'code_space', 'large_object_space']),
    );
    for (const m of [size, available]) {
      expect(values(m).map((p) => p.attributes['v8js.heap.space.name'])).toEqual(spaces);
    }
    const old = { 'v8js.heap.space.name': 'old_space' };
    expect(valueAt(used, old)).toBeGreaterThan(0);
    expect(valueAt(used, old)).toBeLessThanOrEqual(valueAt(size, old));
    const sum = (m: MetricData): number => values(m).reduce((s, p) => s + p.value, 0);
    expect(Math.abs(sum(size) - heap.total_heap_size) / heap.total_heap_size).toBeLessThan(0.2);
    expect(Math.abs(sum(used) - heap.used_heap_size) / heap.used_heap_size).toBeLessThan(0.2);
    expect(valueAt(metricOf(collected, NODEJS_METRICS.externalMemory))).toBeGreaterThan(0);
  });

  it('v8js.resource.active counts resources by v8js.resource.type', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const active = metricOf(await reader.metrics(), SEMCONV_METRICS.resourceActive);
      const expected = process.getActiveResourcesInfo().filter((t) => t === 'TCPServerWrap').length;
      expect(expected).toBeGreaterThanOrEqual(2); // the app's server and this one
      expect(valueAt(active, { 'v8js.resource.type': 'TCPServerWrap' })).toBe(expected);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('nodejs.eventloop.delay.* is the time between firings of the 10 ms sampler, as the conventions define it', async () => {
    await reader.metrics(); // starts a new interval
    await sleep(120);
    const collected = await reader.metrics();
    const read = (name: string): number => valueAt(metricOf(collected, name));
    // monitorEventLoopDelay's figures, which the conventions name: an idle loop reads about the
    // 10 ms resolution, where the Prometheus naming's lag reads about 0.
    expect(read(SEMCONV_METRICS.eventLoopDelayP50)).toBeGreaterThanOrEqual(0.009);
    expect(read(SEMCONV_METRICS.eventLoopDelayP50)).toBeLessThan(0.1);
    expect(read(SEMCONV_METRICS.eventLoopDelayMin)).toBeGreaterThan(0.001);
  });

  it('nodejs.eventloop.delay.* and nodejs.eventloop.utilization see a blocked loop', async () => {
    await reader.metrics(); // starts a new interval
    const end = Date.now() + 200;
    while (Date.now() < end) {
      // keep the loop busy
    }
    await sleep(30);
    const collected = await reader.metrics();
    const read = (name: string): number => valueAt(metricOf(collected, name));
    const p99 = read(SEMCONV_METRICS.eventLoopDelayP99);
    expect(p99).toBeGreaterThan(0.15);
    expect(p99).toBeLessThan(1);
    expect(read(SEMCONV_METRICS.eventLoopDelayMax)).toBeGreaterThanOrEqual(p99);
    expect(read(SEMCONV_METRICS.eventLoopDelayMin)).toBeLessThanOrEqual(
      read(SEMCONV_METRICS.eventLoopDelayP50),
    );
    expect(read(SEMCONV_METRICS.eventLoopUtilization)).toBeGreaterThan(0.5);
    expect(read(SEMCONV_METRICS.eventLoopUtilization)).toBeLessThanOrEqual(1);
  });
});

describe('option naming', () => {
  it("defaults to 'prometheus' and refuses anything but the two names", () => {
    expect(resolveOptions({}).naming).toBe('prometheus');
    expect(resolveOptions({ naming: 'semconv' }).naming).toBe('semconv');
    for (const [naming, shown] of [
      ['otel', '"otel"'],
      ['Semconv', '"Semconv"'],
      [1, '1'],
      [true, 'true'],
    ] as const) {
      expect(() => resolveOptions({ naming } as never)).toThrow(TypeError);
      expect(() => resolveOptions({ naming } as never)).toThrow(
        `option \`naming\` must be 'prometheus' or 'semconv', got ${shown}`,
      );
    }
  });

  it('takes the advised GC buckets in semconv mode unless gcDurationBuckets says otherwise', () => {
    expect(SEMCONV_DURATION_BUCKETS).toEqual(ADVISED_BUCKETS);
    expect(resolveOptions({}).gcDurationBuckets).toEqual([0.001, 0.01, 0.1, 1, 2, 5]);
    expect(resolveOptions({ naming: 'semconv' }).gcDurationBuckets).toEqual(ADVISED_BUCKETS);
    expect(
      resolveOptions({ naming: 'semconv', gcDurationBuckets: [0.5, 1] }).gcDurationBuckets,
    ).toEqual([0.5, 1]);
  });

  it('refuses extra labels that would land on a semconv label in the exposition', () => {
    const values = () => ({});
    expect(() =>
      resolveOptions({ naming: 'semconv', extraLabels: { names: ['http_route'], values } }),
    ).toThrow(
      /`extraLabels.names` must be names the package does not use itself, got "http_route"/,
    );
    // The Prometheus naming's own labels are free in semconv mode, and the other way round.
    expect(
      resolveOptions({ naming: 'semconv', extraLabels: { names: ['endpoint'], values } })
        .extraLabels?.names,
    ).toEqual(['endpoint']);
    expect(
      resolveOptions({ extraLabels: { names: ['error_type'], values } }).extraLabels?.names,
    ).toEqual(['error_type']);
  });

  it("Views: the Prometheus ones rename to flask_prometheus_metrics' names, the semconv ones rename nothing", () => {
    // Each View's instrument and the name it is exported under (its own, where none is given).
    const named = createViews({ naming: 'prometheus' }).map((v) => [
      v.instrumentName,
      v.name ?? v.instrumentName,
    ]);
    expect(named).toEqual([
      ['app_request_latency', 'app_request_latency_seconds'],
      ['app_request_count', 'app_request_count'],
      ['app_requests_in_flight', 'app_requests_in_flight'],
      ['app_request_size', 'app_request_size_bytes'],
      ['app_response_size', 'app_response_size_bytes'],
      ['app_version_info', 'app_version_info'],
      ['process.memory.usage', 'process_resident_memory_bytes'],
      ['nodejs_gc_duration_seconds', 'nodejs_gc_duration_seconds'],
    ]);
    // The package's own meter; the drops of the instrumentations' copies are views.test.ts'.
    const semconvViews = createViews({ naming: 'semconv' }).filter(
      (v) => v.meterName === METER_NAME,
    );
    expect(semconvViews.filter((v) => v.name !== undefined)).toEqual([]);
    expect(semconvViews.map((v) => [v.meterName, v.instrumentName])).toEqual([
      [METER_NAME, 'http.server.request.duration'],
      [METER_NAME, 'http.server.active_requests'],
      [METER_NAME, 'http.server.request.body.size'],
      [METER_NAME, 'http.server.response.body.size'],
      [METER_NAME, 'app_version_info'],
      [METER_NAME, 'v8js.gc.duration'],
    ]);
    // The body sizes' buckets: powers of 4 from 64 B to 16 MiB, in both namings.
    for (const view of [...semconvViews, ...createViews({ naming: 'prometheus' })]) {
      if (!/size/.test(view.instrumentName ?? '')) continue;
      expect([view.instrumentName, view.aggregation]).toEqual([
        view.instrumentName,
        {
          type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
          options: {
            boundaries: [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
            ...(view.instrumentName?.startsWith('app_') && { recordMinMax: false }),
          },
        },
      ]);
    }
    expect(semconvViews[0]?.aggregation).toEqual({
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: { boundaries: ADVISED_BUCKETS },
    });
    expect(semconvViews[0]?.aggregationCardinalityLimit).toBe(2000);
  });

  it('records semconv names into a provider of yours built with createViews({ naming })', async () => {
    const reader = new InMemoryReader();
    const provider = new MeterProvider({
      readers: [reader],
      views: createViews({ naming: 'semconv', latencyBuckets: [0.5, 1] }),
    });
    const express = FLAVOURS[0]![1];
    const app = express();
    const metrics = registerMetrics(app, {
      naming: 'semconv',
      meterProvider: provider,
      collectors: { process: false, runtime: false, gc: false, eventLoop: false },
      extraLabels: { names: ['tenant'], values: (req) => ({ tenant: req.get('x-tenant') ?? '' }) },
    });
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    const running = await listen(app);
    try {
      await send(running.url, 'GET', '/users/3');
      const collected = await until(
        () => reader.metrics(),
        (m) => m.has(SEMCONV_METRICS.requestDuration),
      );
      expect([...collected.keys()].sort()).toEqual([
        'app_version_info',
        SEMCONV_METRICS.requestDuration,
      ]);
      const [point, ...rest] = histogramPoints(
        metricOf(collected, SEMCONV_METRICS.requestDuration),
      );
      expect(rest).toEqual([]);
      expect(point?.attributes).toEqual({
        tenant: '',
        [SCHEME]: 'http',
        [VERSION]: '1.1',
        [METHOD]: 'GET',
        [ROUTE]: '/users/:id',
        [STATUS]: 200,
      });
      expect(point?.value.count).toBe(1);
      expect(point?.value.buckets.boundaries).toEqual([0.5, 1]);
    } finally {
      await running.close();
      await metrics.shutdown();
      await provider.shutdown();
    }
  });
});

describe('the semconv constants', () => {
  // The package's names are plain strings; here they are held against OpenTelemetry's own
  // constants, as installed with the SDK, so that a typo or a rename upstream shows.
  const conventions = createRequire(require.resolve('@opentelemetry/resources'))(
    '@opentelemetry/semantic-conventions/incubating',
  ) as Record<string, unknown>;

  it.each<[string, string]>([
    ['METRIC_HTTP_SERVER_REQUEST_DURATION', SEMCONV_METRICS.requestDuration],
    ['METRIC_PROCESS_CPU_TIME', SEMCONV_METRICS.cpuTime],
    ['METRIC_PROCESS_MEMORY_USAGE', SEMCONV_METRICS.memoryUsage],
    ['METRIC_PROCESS_MEMORY_VIRTUAL', SEMCONV_METRICS.memoryVirtual],
    ['METRIC_PROCESS_UPTIME', SEMCONV_METRICS.uptime],
    ['METRIC_PROCESS_UNIX_FILE_DESCRIPTOR_COUNT', SEMCONV_METRICS.fileDescriptorCount],
    ['METRIC_V8JS_GC_DURATION', SEMCONV_METRICS.gcDuration],
    ['METRIC_V8JS_MEMORY_HEAP_USED', SEMCONV_METRICS.heapUsed],
    ['METRIC_V8JS_MEMORY_HEAP_SPACE_SIZE', SEMCONV_METRICS.heapSpaceSize],
    ['METRIC_V8JS_MEMORY_HEAP_SPACE_AVAILABLE_SIZE', SEMCONV_METRICS.heapSpaceAvailableSize],
    ['METRIC_V8JS_RESOURCE_ACTIVE', SEMCONV_METRICS.resourceActive],
    ['METRIC_NODEJS_EVENTLOOP_DELAY_MIN', SEMCONV_METRICS.eventLoopDelayMin],
    ['METRIC_NODEJS_EVENTLOOP_DELAY_MAX', SEMCONV_METRICS.eventLoopDelayMax],
    ['METRIC_NODEJS_EVENTLOOP_DELAY_MEAN', SEMCONV_METRICS.eventLoopDelayMean],
    ['METRIC_NODEJS_EVENTLOOP_DELAY_STDDEV', SEMCONV_METRICS.eventLoopDelayStddev],
    ['METRIC_NODEJS_EVENTLOOP_DELAY_P50', SEMCONV_METRICS.eventLoopDelayP50],
    ['METRIC_NODEJS_EVENTLOOP_DELAY_P90', SEMCONV_METRICS.eventLoopDelayP90],
    ['METRIC_NODEJS_EVENTLOOP_DELAY_P99', SEMCONV_METRICS.eventLoopDelayP99],
    ['METRIC_NODEJS_EVENTLOOP_UTILIZATION', SEMCONV_METRICS.eventLoopUtilization],
    ['ATTR_HTTP_REQUEST_METHOD', SEMCONV_ATTRIBUTES.httpRequestMethod],
    ['ATTR_HTTP_ROUTE', SEMCONV_ATTRIBUTES.httpRoute],
    ['ATTR_HTTP_RESPONSE_STATUS_CODE', SEMCONV_ATTRIBUTES.httpResponseStatusCode],
    ['ATTR_ERROR_TYPE', SEMCONV_ATTRIBUTES.errorType],
    ['ATTR_URL_SCHEME', SEMCONV_ATTRIBUTES.urlScheme],
    ['ATTR_NETWORK_PROTOCOL_VERSION', SEMCONV_ATTRIBUTES.networkProtocolVersion],
    ['ATTR_CPU_MODE', SEMCONV_ATTRIBUTES.cpuMode],
    ['ATTR_V8JS_GC_TYPE', SEMCONV_ATTRIBUTES.gcType],
    ['ATTR_V8JS_HEAP_SPACE_NAME', SEMCONV_ATTRIBUTES.heapSpaceName],
    ['ATTR_V8JS_RESOURCE_TYPE', SEMCONV_ATTRIBUTES.resourceType],
    ['HTTP_REQUEST_METHOD_VALUE_OTHER', OTHER_METHOD],
    ['CPU_MODE_VALUE_USER', 'user'],
    ['CPU_MODE_VALUE_SYSTEM', 'system'],
    ['V8JS_GC_TYPE_VALUE_MAJOR', GC_KINDS[0]],
    ['V8JS_GC_TYPE_VALUE_MINOR', GC_KINDS[1]],
    ['V8JS_GC_TYPE_VALUE_INCREMENTAL', GC_KINDS[2]],
    ['V8JS_GC_TYPE_VALUE_WEAKCB', GC_KINDS[3]],
  ])('%s is %j', (constant, ours) => {
    expect(conventions[constant]).toBe(ours);
  });

  it('covers every name of SEMCONV_METRICS and SEMCONV_ATTRIBUTES', () => {
    const published = new Set(Object.values(conventions));
    for (const name of [...Object.values(SEMCONV_METRICS), ...Object.values(SEMCONV_ATTRIBUTES)]) {
      expect([name, published.has(name)]).toEqual([name, true]);
    }
  });
});
