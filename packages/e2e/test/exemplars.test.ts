import { startExampleApp, type ExampleApp } from './helpers/example-app';
import { waitFor } from './helpers/processes';
import { exemplars, startPrometheus, type Prometheus } from './helpers/prometheus';
import { startSpanReceiver, type SpanReceiver } from './helpers/span-receiver';

/*
 * The example app with traces on (OTEL_TRACES_EXPORTER=otlp, to a local receiver), scraped by a
 * real Prometheus that stores exemplars: every exemplar it has for the latency buckets names a
 * trace the app exported, and the slow requests' exemplars sit on the slow buckets.
 */

const JOB = 'traced-app';

let receiver: SpanReceiver;
let app: ExampleApp;
let prometheus: Prometheus;

beforeAll(async () => {
  receiver = await startSpanReceiver();
  app = await startExampleApp({
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_SERVICE_NAME: 'traced-example',
  });
  prometheus = await startPrometheus({
    jobs: { [JOB]: [app.metricsTarget] },
    flags: ['--enable-feature=exemplar-storage'],
  });
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await app?.stop();
  await receiver?.close();
});

it('links the latency buckets to the traces of the requests that fell in them', async () => {
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${app.url}/users/${i}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${app.url}/slow?ms=300`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  const query = `app_request_latency_seconds_bucket{job="${JOB}"}`;
  const stored = await waitFor(async () => {
    const series = await exemplars(prometheus, query);
    const slow = series.filter((s) => s.seriesLabels.endpoint === '/slow');
    const users = series.filter((s) => s.seriesLabels.endpoint === '/users/:id');
    return slow.length > 0 && users.length > 0;
  }, 30_000);
  expect(stored).toBe(true);
  const series = await exemplars(prometheus, query);
  const all = series.flatMap((s) => s.exemplars.map((e) => ({ series: s.seriesLabels, ...e })));
  expect(all.length).toBeGreaterThan(0);
  // Every exemplar names a span the app exported: its server span (instrumentation-http's).
  const exported = await waitFor(
    async () =>
      all.every((e) =>
        receiver.spans.some(
          (s) => s.traceId === e.labels.trace_id && s.spanId === e.labels.span_id,
        ),
      ),
    15_000,
  );
  expect(exported).toBe(true);
  for (const e of all) {
    expect(e.labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(e.labels.span_id).toMatch(/^[0-9a-f]{16}$/);
    // On the bucket the observation fell into: at most its bound, above the bucket below.
    const value = Number(e.value);
    const le = e.series.le === '+Inf' ? Infinity : Number(e.series.le);
    expect(value).toBeLessThanOrEqual(le);
  }
  // The slow requests' exemplars are on the buckets above 0.25 s.
  const slow = all.filter((e) => e.series.endpoint === '/slow');
  expect(slow.length).toBeGreaterThan(0);
  for (const e of slow) {
    expect(Number(e.value)).toBeGreaterThanOrEqual(0.3);
    expect(Number(e.series.le)).toBeGreaterThanOrEqual(0.5);
  }
}, 60_000);
