/*
 * Exemplars of real traces: an app in a process of its own where OpenTelemetry's NodeSDK traces
 * (instrumentation-http patches `http` for the whole process), with the sampler the SDK reads from
 * OTEL_TRACES_SAMPLER. A request in a sampled span links its latency bucket and its count to that
 * span; an unsampled one, or any with `exemplars: false`, to nothing.
 */
import { bucketOf } from '../../src/exemplars/store';
import { checkOpenMetrics } from '../helpers/openmetrics';
import { get } from '../helpers/request';
import {
  startTracedApp,
  type ExemplarPoint,
  type HandlerSpan,
  type TracedAppConfig,
  type TracedAppProcess,
} from '../helpers/traced-process';

jest.setTimeout(60_000);

/**
 * Wide apart, so that each request's latency falls in a known bucket on a slow machine too: 0 ms
 * in the first, 150 ms in the second, 500 ms in the third.
 */
const BUCKETS = [0.08, 0.25, 2];
const SLEEPS = [0, 150, 500, 0];

let app: TracedAppProcess | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** Starts the app, sends the requests of {@link SLEEPS} one after another, and reads back. */
async function run(config: Partial<TracedAppConfig>) {
  app = await startTracedApp({
    spans: 'http',
    sampler: 'always_on',
    naming: 'prometheus',
    latencyBuckets: BUCKETS,
    ...config,
  });
  const handlerSpans: Array<HandlerSpan | null> = [];
  for (const ms of SLEEPS) {
    const reply = await get(app.url, `/sleep/${ms}`);
    expect(reply.status).toBe(200);
    handlerSpans.push(JSON.parse(reply.body) as HandlerSpan | null);
  }
  return { handlerSpans, points: await app.points(), spans: await app.spans() };
}

function pointOf(points: ExemplarPoint[], metric: string): ExemplarPoint {
  const found = points.filter((p) => p.metric === metric);
  expect(found).toHaveLength(1);
  return found[0] as ExemplarPoint;
}

const idsOf = (span: { traceId: string; spanId: string } | null | undefined) =>
  span === null || span === undefined ? undefined : { traceId: span.traceId, spanId: span.spanId };

/** Checks the exemplars of the one latency point: the latest request of each bucket, there. */
function expectLatencyExemplars(point: ExemplarPoint, handlerSpans: Array<HandlerSpan | null>) {
  expect(point.boundaries).toEqual(BUCKETS);
  const exemplars = point.exemplars ?? [];
  expect(exemplars).toHaveLength(BUCKETS.length + 1);
  // The last 0 ms request is the latest of the first bucket; then 150 ms and 500 ms.
  const expected = [handlerSpans[3], handlerSpans[1], handlerSpans[2], undefined];
  exemplars.forEach((exemplar, i) => {
    expect([i, idsOf(exemplar)]).toEqual([i, idsOf(expected[i])]);
    if (exemplar === null) return;
    // On the bucket its latency falls in, which the SDK counted it in.
    expect([i, bucketOf(BUCKETS, exemplar.value)]).toEqual([i, i]);
    expect(point.counts?.[i]).toBeGreaterThan(0);
    expect(exemplar.timestamp).toBeGreaterThan(Date.now() - 60_000);
  });
}

describe('exemplars of requests in sampled spans', () => {
  it("link instrumentation-http's server spans to the latency buckets and the count", async () => {
    const { handlerSpans, points, spans } = await run({});
    for (const span of handlerSpans) expect(span?.sampled).toBe(true);
    // The server spans, which the SDK ended and would export.
    for (const span of handlerSpans) {
      expect(spans).toContainEqual(expect.objectContaining(idsOf(span)));
    }
    expectLatencyExemplars(pointOf(points, 'app_request_latency_seconds'), handlerSpans);
    const count = pointOf(points, 'app_request_count');
    expect(count.value).toBe(SLEEPS.length);
    expect(count.exemplars).toEqual([
      expect.objectContaining({ ...idsOf(handlerSpans[3]), value: 1 }),
    ]);
  });

  it('go on http.server.request.duration in the semconv naming', async () => {
    const { handlerSpans, points } = await run({ naming: 'semconv' });
    const point = pointOf(points, 'http.server.request.duration');
    expect(point.attributes).toMatchObject({ 'http.route': '/sleep/:ms' });
    expectLatencyExemplars(point, handlerSpans);
  });

  it("link a span of the app's own, begun after the request started, found when it ends", async () => {
    const { handlerSpans, points, spans } = await run({ spans: 'app' });
    for (const span of handlerSpans) {
      expect(span?.sampled).toBe(true);
      expect(spans).toContainEqual({ name: 'handler', ...idsOf(span) });
    }
    expectLatencyExemplars(pointOf(points, 'app_request_latency_seconds'), handlerSpans);
  });
});

describe("with NodeSDK's provider (meterProvider) and createPrometheusReader", () => {
  it("serve the server spans' exemplars in the reader's OpenMetrics", async () => {
    app = await startTracedApp({
      spans: 'http',
      sampler: 'always_on',
      naming: 'prometheus',
      latencyBuckets: BUCKETS,
      provider: 'sdk',
    });
    const handlerSpans: Array<HandlerSpan | null> = [];
    for (const ms of SLEEPS) {
      handlerSpans.push(JSON.parse((await get(app.url, `/sleep/${ms}`)).body) as HandlerSpan);
    }
    const reply = await fetch(app.metricsUrl as string, {
      headers: { Accept: 'application/openmetrics-text;version=1.0.0' },
    });
    const { samples } = checkOpenMetrics(await reply.text());
    const exemplarOf = (name: string, labels: Record<string, string>) => {
      const found = samples.filter(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      expect([name, labels, found.length]).toEqual([name, labels, 1]);
      const labelsOf = found[0]?.exemplar?.labels;
      return labelsOf && { traceId: labelsOf.trace_id, spanId: labelsOf.span_id };
    };
    const bucket = 'app_request_latency_seconds_bucket';
    // The latest request of each bucket: the last 0 ms one, then 150 ms and 500 ms.
    expect(exemplarOf(bucket, { le: '0.08', endpoint: '/sleep/:ms' })).toEqual(
      idsOf(handlerSpans[3]),
    );
    expect(exemplarOf(bucket, { le: '0.25' })).toEqual(idsOf(handlerSpans[1]));
    expect(exemplarOf(bucket, { le: '2.0' })).toEqual(idsOf(handlerSpans[2]));
    expect(exemplarOf(bucket, { le: '+Inf' })).toBeUndefined();
    expect(exemplarOf('app_request_count_total', { http_status: '200' })).toEqual(
      idsOf(handlerSpans[3]),
    );
    for (const span of handlerSpans) expect(span?.sampled).toBe(true);
  });
});

describe('no exemplars', () => {
  it.each<[string, Partial<TracedAppConfig>]>([
    ['when the sampler samples nothing (always_off)', { sampler: 'always_off' }],
    ['when the trace ratio is 0', { sampler: 'traceidratio', samplerArg: '0' }],
  ])('%s', async (_name, config) => {
    const { handlerSpans, points, spans } = await run(config);
    // The requests ran in spans, unsampled ones.
    for (const span of handlerSpans) expect(span?.sampled).toBe(false);
    expect(spans).toEqual([]);
    expect(points.length).toBeGreaterThan(0);
    for (const point of points)
      expect([point.metric, point.exemplars]).toEqual([point.metric, undefined]);
  });

  it('with exemplars: false, whatever the spans', async () => {
    const { handlerSpans, points } = await run({ exemplars: false });
    for (const span of handlerSpans) expect(span?.sampled).toBe(true);
    expect(points.length).toBeGreaterThan(0);
    for (const point of points)
      expect([point.metric, point.exemplars]).toEqual([point.metric, undefined]);
  });
});
