import { TraceFlags, type Attributes, type SpanContext } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { METER_NAME } from '../../../src/catalogue';
import { bucketOf, ExemplarStore, seriesKey } from '../../../src/exemplars/store';
import type { Collected, CollectedMetric, Exemplar } from '../../../src/export/collected';

const BOUNDS = [0.1, 0.5, 1];
const LATENCY = 'app_request_latency_seconds';
const COUNT = 'app_request_count';
const LATENCY_LABELS = ['method', 'endpoint'];
const COUNT_LABELS = ['method', 'endpoint', 'http_status'];

let spans = 0;
/** A sampled span context with ids of its own. */
function span(): SpanContext {
  spans++;
  return {
    traceId: spans.toString(16).padStart(32, '0'),
    spanId: spans.toString(16).padStart(16, '0'),
    traceFlags: TraceFlags.SAMPLED,
  };
}

const histogramPoint = (attributes: Attributes, counts = [1, 1, 1, 1]) => ({
  attributes,
  value: { count: 4, sum: 1, buckets: { boundaries: BOUNDS, counts } },
});

function collected(...metrics: CollectedMetric[]): Collected {
  return { resource: { attributes: {} }, scopeMetrics: [{ scope: { name: METER_NAME }, metrics }] };
}

function latency(...attributes: Attributes[]): CollectedMetric {
  return {
    descriptor: { name: LATENCY, description: '', unit: 's' },
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: attributes.map((a) => histogramPoint(a)),
  };
}

function count(...attributes: Attributes[]): CollectedMetric {
  return {
    descriptor: { name: COUNT, description: '', unit: '' },
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: attributes.map((a) => ({ attributes: a, value: 1 })),
  };
}

/** Each point's exemplars, by metric name and the point's attributes as JSON. */
function exemplarsOf(data: Collected): Record<string, Array<Exemplar | undefined> | undefined> {
  const out: Record<string, Array<Exemplar | undefined> | undefined> = {};
  for (const { metrics } of data.scopeMetrics) {
    for (const metric of metrics) {
      for (const point of metric.dataPoints as unknown as Array<{
        attributes: Attributes;
        exemplars?: Array<Exemplar | undefined>;
      }>) {
        out[`${metric.descriptor.name} ${JSON.stringify(point.attributes)}`] = point.exemplars;
      }
    }
  }
  return out;
}

const users = { method: 'GET', endpoint: '/users/:id' };
const orders = { method: 'POST', endpoint: '/orders' };

describe('the bucket of an observation', () => {
  it('is the first whose bound is not below it, as the SDK counts it', () => {
    expect(bucketOf(BOUNDS, 0)).toBe(0);
    expect(bucketOf(BOUNDS, 0.1)).toBe(0);
    expect(bucketOf(BOUNDS, 0.10001)).toBe(1);
    expect(bucketOf(BOUNDS, 0.5)).toBe(1);
    expect(bucketOf(BOUNDS, 0.7)).toBe(2);
    expect(bucketOf(BOUNDS, 1)).toBe(2);
    expect(bucketOf(BOUNDS, 1.5)).toBe(3);
    expect(bucketOf(BOUNDS, -1)).toBe(0);
  });
});

describe('series keys', () => {
  it('follow the names, not the order of the attributes', () => {
    const names = ['method', 'endpoint'];
    expect(seriesKey({ method: 'GET', endpoint: '/a' }, names)).toBe(
      seriesKey({ endpoint: '/a', method: 'GET' }, names),
    );
  });

  it('tell apart values that a separator would run together, and absent from empty', () => {
    const names = ['a', 'b'];
    expect(seriesKey({ a: 'x\u0000', b: 'y' }, names)).not.toBe(
      seriesKey({ a: 'x', b: '\u0000y' }, names),
    );
    expect(seriesKey({ a: 'x' }, names)).not.toBe(seriesKey({ a: 'x', b: '' }, names));
    expect(seriesKey({ a: 200 }, names)).not.toBe(seriesKey({ a: '200' }, names));
  });
});

describe('the exemplar store', () => {
  it('keeps the latest exemplar of each bucket of each series', () => {
    const store = new ExemplarStore(2000, () => undefined);
    const slots = store.histogram(LATENCY, LATENCY_LABELS, BOUNDS);
    const first = span();
    const second = span();
    const third = span();
    const other = span();
    slots.offer(users, 0.05, first);
    slots.offer(users, 0.7, second);
    slots.offer(users, 0.08, third);
    slots.offer(orders, 2, other);

    const out = exemplarsOf(store.decorate(collected(latency(users, orders))));
    const atUsers = out[`${LATENCY} ${JSON.stringify(users)}`];
    expect(atUsers).toHaveLength(BOUNDS.length + 1);
    expect(atUsers?.[0]).toMatchObject({
      traceId: third.traceId,
      spanId: third.spanId,
      value: 0.08,
    });
    expect(atUsers?.[1]).toBeUndefined();
    expect(atUsers?.[2]).toMatchObject({
      traceId: second.traceId,
      spanId: second.spanId,
      value: 0.7,
    });
    expect(atUsers?.[3]).toBeUndefined();
    const atOrders = out[`${LATENCY} ${JSON.stringify(orders)}`];
    expect(atOrders?.[3]).toMatchObject({ traceId: other.traceId, value: 2 });
    expect(atOrders?.slice(0, 3)).toEqual([undefined, undefined, undefined]);
  });

  it("keeps a counter's latest at index 0, with value 1 and a timestamp of now", () => {
    const store = new ExemplarStore(2000, () => undefined);
    const slots = store.counter(COUNT, COUNT_LABELS);
    const labels = { ...users, http_status: '200' };
    const before = Date.now();
    slots.offer(labels, 1, span());
    const latest = span();
    slots.offer(labels, 1, latest);
    const [exemplar, ...rest] =
      exemplarsOf(store.decorate(collected(count(labels))))[`${COUNT} ${JSON.stringify(labels)}`] ??
      [];
    expect(rest).toEqual([]);
    expect(exemplar).toMatchObject({ traceId: latest.traceId, spanId: latest.spanId, value: 1 });
    expect(exemplar?.timestamp).toBeGreaterThanOrEqual(before);
    expect(exemplar?.timestamp).toBeLessThanOrEqual(Date.now());
  });

  it('finds the points by their attributes, extra labels and absent ones included', () => {
    const store = new ExemplarStore(2000, () => undefined);
    const names = ['http.request.method', 'http.route', 'http.response.status_code', 'tenant'];
    const slots = store.histogram('http.server.request.duration', names, BOUNDS);
    const routed = { 'http.request.method': 'GET', 'http.route': '/a', tenant: 'acme' };
    const unrouted = { 'http.request.method': 'GET', tenant: 'acme' };
    const a = span();
    const b = span();
    slots.offer({ ...routed, 'http.response.status_code': 200 }, 0.2, a);
    slots.offer(unrouted, 0.2, b);

    const metric: CollectedMetric = {
      descriptor: { name: 'http.server.request.duration', description: '', unit: 's' },
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [
        // The attributes in another order than recorded, as a merge or the SDK may give them.
        histogramPoint({
          'http.response.status_code': 200,
          tenant: 'acme',
          'http.route': '/a',
          'http.request.method': 'GET',
        }),
        histogramPoint(unrouted),
        histogramPoint({ ...unrouted, tenant: 'other' }),
      ],
    };
    const out = store.decorate(collected(metric));
    const points = (out.scopeMetrics[0]?.metrics[0]?.dataPoints ?? []) as unknown as Array<{
      exemplars?: Array<Exemplar | undefined>;
    }>;
    expect(points[0]?.exemplars?.[1]?.spanId).toBe(a.spanId);
    expect(points[1]?.exemplars?.[1]?.spanId).toBe(b.spanId);
    expect(points[2]?.exemplars).toBeUndefined();
  });

  it('leaves the collected data as it was where it keeps nothing', () => {
    const store = new ExemplarStore(2000, () => undefined);
    store.histogram(LATENCY, LATENCY_LABELS, BOUNDS);
    store.counter(COUNT, COUNT_LABELS);
    const data = collected(latency(users), count({ ...users, http_status: '200' }));
    expect(store.decorate(data)).toBe(data);
    expect(store.size).toBe(0);
  });

  it('gives each answer a copy of the slots, which later requests do not change', () => {
    const store = new ExemplarStore(2000, () => undefined);
    const slots = store.histogram(LATENCY, LATENCY_LABELS, BOUNDS);
    const first = span();
    slots.offer(users, 0.05, first);
    const answer = exemplarsOf(store.decorate(collected(latency(users))));
    slots.offer(users, 0.05, span());
    expect(answer[`${LATENCY} ${JSON.stringify(users)}`]?.[0]?.spanId).toBe(first.spanId);
  });

  it('leaves points of other scopes and of other names alone', () => {
    const store = new ExemplarStore(2000, () => undefined);
    store.histogram(LATENCY, LATENCY_LABELS, BOUNDS).offer(users, 0.05, span());
    const data: Collected = {
      resource: { attributes: {} },
      scopeMetrics: [
        { scope: { name: '@opentelemetry/instrumentation-http' }, metrics: [latency(users)] },
      ],
    };
    expect(store.decorate(data)).toBe(data);
  });

  it('holds no more series than the SDK keeps, and drops a metric that overflows', () => {
    const warnings: string[] = [];
    // The SDK keeps 4 label sets apart under a limit of 5; the fifth goes to its overflow series.
    const store = new ExemplarStore(5, (_key, message) => warnings.push(message));
    const latencySlots = store.histogram(LATENCY, LATENCY_LABELS, BOUNDS);
    const countSlots = store.counter(COUNT, COUNT_LABELS);
    for (let i = 0; i < 4; i++)
      latencySlots.offer({ method: 'GET', endpoint: `/${i}` }, 0.05, span());
    countSlots.offer({ ...users, http_status: '200' }, 1, span());
    expect(store.size).toBe(5);
    latencySlots.offer({ method: 'GET', endpoint: '/4' }, 0.05, span());
    // The latency's are gone for good; the counter's stay.
    expect(store.size).toBe(1);
    latencySlots.offer({ method: 'GET', endpoint: '/0' }, 0.05, span());
    expect(store.size).toBe(1);
    expect(warnings).toEqual([
      `metric ${LATENCY} has more label sets than its series limit allows; its exemplars are no longer kept`,
    ]);
  });

  it('drops the exemplars of a metric whose collected series have overflowed', () => {
    const warnings: string[] = [];
    const store = new ExemplarStore(2000, (key) => warnings.push(key));
    const slots = store.histogram(LATENCY, LATENCY_LABELS, BOUNDS);
    // The counter has kept none: its overflow needs no word beyond the exposition's own.
    store.counter(COUNT, COUNT_LABELS);
    slots.offer(users, 0.05, span());
    const data = collected(
      latency(users, { 'otel.metric.overflow': true }),
      count({ 'otel.metric.overflow': true }),
    );
    expect(store.decorate(data)).toBe(data);
    expect(store.size).toBe(0);
    slots.offer(users, 0.05, span());
    expect(store.size).toBe(0);
    expect(warnings).toEqual([`exemplars:${LATENCY}`]);
  });

  it('leaves a histogram point of other buckets without exemplars', () => {
    const store = new ExemplarStore(2000, () => undefined);
    store.histogram(LATENCY, LATENCY_LABELS, BOUNDS).offer(users, 0.05, span());
    const metric: CollectedMetric = {
      descriptor: { name: LATENCY, description: '', unit: 's' },
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [histogramPoint(users, [1, 1])],
    };
    const data = collected(metric);
    expect(store.decorate(data)).toBe(data);
  });
});
