/*
 * The request recorders' exemplars, recorded straight through the recorder (no HTTP) into a real
 * provider with the package's Views, and read back the way a scrape reads them: the SDK's
 * collection, decorated by the store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TraceFlags, type Attributes, type SpanContext } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { METER_NAME } from '../../../src/catalogue';
import { bucketOf, ExemplarStore } from '../../../src/exemplars/store';
import type { Collected, Exemplar, HistogramValue, Point } from '../../../src/export/collected';
import { createRequestRecorder, type RecordRequest } from '../../../src/http/recorders';
import { resolveOptions } from '../../../src/options/resolve';
import type { RegisterMetricsOptions } from '../../../src/options/types';
import { viewsFor } from '../../../src/views';
import { InMemoryReader } from '../../helpers/reader';

// A full collection on demand, without starting jest with --expose-gc.
setFlagsFromString('--expose-gc');
const forceGc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  forceGc();
  return process.memoryUsage().heapUsed;
}

/** A request as the recorder reads it: method, protocol, and the route it resolved to. */
function request(method: string, route: string): IncomingMessage {
  return { method, httpVersion: '1.1', socket: {}, route } as unknown as IncomingMessage;
}

function response(statusCode: number): ServerResponse {
  return { statusCode, headersSent: true } as unknown as ServerResponse;
}

let made = 0;
function sampled(): SpanContext {
  made++;
  return {
    traceId: made.toString(16).padStart(32, 'a'),
    spanId: made.toString(16).padStart(16, 'b'),
    traceFlags: TraceFlags.SAMPLED,
  };
}

interface Setup {
  record: RecordRequest;
  store: ExemplarStore;
  collect(): Promise<Collected>;
}

function setUp(options: RegisterMetricsOptions): Setup {
  const resolved = resolveOptions({ endpoint: { mode: 'none' }, ...options });
  const reader = new InMemoryReader();
  const provider = new MeterProvider({ readers: [reader], views: viewsFor(resolved) });
  const store = new ExemplarStore(resolved.cardinalityLimit, () => undefined);
  const record = createRequestRecorder({
    meter: provider.getMeter(METER_NAME),
    options: resolved,
    resolveEndpoint: (req) => (req as unknown as { route: string }).route,
    ...(resolved.extraLabels && {
      extraLabels: (req) => ({ tenant: (req as unknown as { tenant?: string }).tenant ?? '' }),
    }),
    exemplars: store,
  });
  return {
    record,
    store,
    collect: async () => {
      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      return store.decorate(resourceMetrics);
    },
  };
}

type DecoratedPoint = Point<HistogramValue | number>;

function pointsOf(data: Collected, name: string): DecoratedPoint[] {
  for (const { metrics } of data.scopeMetrics) {
    for (const metric of metrics) {
      if (metric.descriptor.name === name) return metric.dataPoints as DecoratedPoint[];
    }
  }
  throw new Error(`no metric ${name}`);
}

const at = (points: DecoratedPoint[], attributes: Attributes): DecoratedPoint => {
  const found = points.find(
    (p) =>
      JSON.stringify(Object.entries(p.attributes).sort()) ===
      JSON.stringify(Object.entries(attributes).sort()),
  );
  if (found === undefined) throw new Error(`no point at ${JSON.stringify(attributes)}`);
  return found;
};

describe('the recorders with an exemplar store', () => {
  it('put a traced request on its bucket and on its count, in the Prometheus naming', async () => {
    const { record, collect } = setUp({ latencyBuckets: [0.1, 0.5, 1] });
    const fast = sampled();
    const slow = sampled();
    record(request('GET', '/users/:id'), response(200), 0.05, true, fast);
    record(request('GET', '/users/:id'), response(200), 0.7, true, slow);
    record(request('GET', '/users/:id'), response(200), 0.06, true, undefined);
    const data = await collect();

    const latency = at(pointsOf(data, 'app_request_latency_seconds'), {
      method: 'GET',
      endpoint: '/users/:id',
    });
    const value = latency.value as HistogramValue;
    expect(value.count).toBe(3);
    expect(latency.exemplars).toEqual([
      expect.objectContaining({ traceId: fast.traceId, spanId: fast.spanId, value: 0.05 }),
      undefined,
      expect.objectContaining({ traceId: slow.traceId, spanId: slow.spanId, value: 0.7 }),
      undefined,
    ]);
    // Every exemplar sits on a bucket the SDK counted its value in.
    latency.exemplars?.forEach((e, i) => {
      if (e === undefined) return;
      expect(bucketOf(value.buckets.boundaries, e.value)).toBe(i);
      expect(value.buckets.counts[i]).toBeGreaterThan(0);
    });

    const count = at(pointsOf(data, 'app_request_count'), {
      method: 'GET',
      endpoint: '/users/:id',
      http_status: '200',
    });
    expect(count.exemplars).toEqual([
      expect.objectContaining({ traceId: slow.traceId, spanId: slow.spanId, value: 1 }),
    ]);
  });

  it('add nothing for requests without a sampled span', async () => {
    const { record, store, collect } = setUp({});
    for (let i = 0; i < 10; i++) {
      record(request('GET', '/users/:id'), response(200), 0.01, true, undefined);
    }
    expect(store.size).toBe(0);
    for (const point of pointsOf(await collect(), 'app_request_latency_seconds')) {
      expect(point.exemplars).toBeUndefined();
    }
  });

  it('key the series by the extra labels too', async () => {
    const { record, collect } = setUp({
      extraLabels: { names: ['tenant'], values: () => ({}) },
    });
    const acme = sampled();
    const globex = sampled();
    const req = (tenant: string) => Object.assign(request('GET', '/a'), { tenant });
    record(req('acme'), response(200), 0.01, true, acme);
    record(req('globex'), response(200), 0.01, true, globex);
    const points = pointsOf(await collect(), 'app_request_latency_seconds');
    expect(
      at(points, { method: 'GET', endpoint: '/a', tenant: 'acme' }).exemplars?.[1]?.spanId,
    ).toBe(acme.spanId);
    expect(
      at(points, { method: 'GET', endpoint: '/a', tenant: 'globex' }).exemplars?.[1]?.spanId,
    ).toBe(globex.spanId);
  });

  it('put them on http.server.request.duration in the semconv naming', async () => {
    const { record, collect } = setUp({ naming: 'semconv', latencyBuckets: [0.1, 1] });
    const span = sampled();
    record(request('POST', '/orders'), response(503), 0.3, true, span);
    const [point] = pointsOf(await collect(), 'http.server.request.duration');
    expect(point?.attributes).toMatchObject({ 'http.route': '/orders', 'error.type': '503' });
    expect(point?.exemplars).toEqual([
      undefined,
      expect.objectContaining({ traceId: span.traceId, spanId: span.spanId, value: 0.3 }),
      undefined,
    ]);
  });

  it('stay bounded over 100,000 traced requests: one per bucket per series, flat memory', async () => {
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const { record, store, collect } = setUp({ latencyBuckets: buckets });
    const routes = ['/a', '/b', '/c', '/d', '/e'];
    const methods = ['GET', 'POST'];
    const statuses = [200, 404, 500];
    const latest = new Map<string, string>();
    let warm = 0;
    for (let i = 0; i < 100_000; i++) {
      // By 20,000 requests every series and bucket has been reached; what follows only replaces.
      if (i === 20_000) warm = heapAfterGc();
      const route = routes[i % routes.length] as string;
      const method = methods[(i >> 3) % methods.length] as string;
      const status = statuses[(i >> 5) % statuses.length] as number;
      const seconds = ((i * 7919) % 12_000) / 1000;
      const span = sampled();
      record(request(method, route), response(status), seconds, true, span);
      latest.set(`${method} ${route} ${bucketOf(buckets, seconds)}`, span.spanId);
    }
    // 10 latency series and 30 count series.
    expect(store.size).toBe(routes.length * methods.length * (1 + statuses.length));
    // 80,000 more exemplars kept leave the heap where 20,000 left it: each replaces the last.
    // (150 slots of about 200 bytes are 30 KB; a leak of one object per request would be MBs.)
    expect(heapAfterGc() - warm).toBeLessThan(1024 * 1024);

    const data = await collect();
    const latency = pointsOf(data, 'app_request_latency_seconds');
    expect(latency).toHaveLength(10);
    for (const point of latency) {
      const value = point.value as HistogramValue;
      expect(point.exemplars).toHaveLength(buckets.length + 1);
      (point.exemplars as Array<Exemplar | undefined>).forEach((e, i) => {
        const key = `${String(point.attributes.method)} ${String(point.attributes.endpoint)} ${i}`;
        if (e === undefined) {
          expect(latest.has(key)).toBe(false);
          return;
        }
        // The latest request of that bucket of that series, on a bucket the SDK counted it in.
        expect([key, e.spanId]).toEqual([key, latest.get(key)]);
        expect(bucketOf(buckets, e.value)).toBe(i);
        expect(value.buckets.counts[i]).toBeGreaterThan(0);
      });
    }
    const counts = pointsOf(data, 'app_request_count');
    expect(counts).toHaveLength(30);
    for (const point of counts) expect(point.exemplars).toHaveLength(1);
    const total = counts.reduce((sum, p) => sum + (p.value as number), 0);
    expect(total).toBe(100_000);
  });

  it('stop at the series limit, as the SDK does', async () => {
    const { record, store, collect } = setUp({ cardinalityLimit: 10 });
    for (let i = 0; i < 1000; i++) {
      record(request('GET', `/r${i}`), response(200), 0.01, true, sampled());
    }
    expect(store.size).toBe(0);
    const data = await collect();
    for (const point of pointsOf(data, 'app_request_latency_seconds')) {
      expect(point.exemplars).toBeUndefined();
    }
  });
});
