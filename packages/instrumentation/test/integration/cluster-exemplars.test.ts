/*
 * Exemplars across a real node:cluster: traced workers keep the exemplars of their requests and
 * send them with their series; the primary serves, on each merged bucket and count, the latest
 * over the workers, and keeps a worker's after it is SIGKILLed.
 */
import { startCluster, type ClusterProcess } from '../helpers/cluster-process';
import { checkOpenMetrics, type OpenMetricsSample } from '../helpers/openmetrics';

jest.setTimeout(90_000);

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0';

interface Answered {
  pid: string;
  traceId: string;
  spanId: string;
}

async function request(cluster: ClusterProcess, path: string): Promise<Answered> {
  const res = await fetch(`${cluster.appUrl}${path}`, { headers: { Connection: 'close' } });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  const [traceId = '', spanId = ''] = (res.headers.get('x-span') ?? '').split('/');
  return { pid: res.headers.get('x-worker-pid') ?? '', traceId, spanId };
}

async function scrape(cluster: ClusterProcess): Promise<OpenMetricsSample[]> {
  const res = await fetch(cluster.metricsUrl, { headers: { Accept: OPENMETRICS } });
  return checkOpenMetrics(await res.text()).samples;
}

const idsOf = (sample: OpenMetricsSample | undefined) =>
  sample?.exemplar && {
    traceId: sample.exemplar.labels.trace_id,
    spanId: sample.exemplar.labels.span_id,
  };

describe('exemplars in cluster mode', () => {
  let cluster: ClusterProcess | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it("are the latest over the workers, and outlive a SIGKILLed worker's process", async () => {
    cluster = await startCluster({ workers: 2, traced: true });
    const answered: Answered[] = [];
    // New connections each time, until both workers have answered, and a few more.
    for (let i = 0; i < 40 && (new Set(answered.map((a) => a.pid)).size < 2 || i < 10); i++) {
      answered.push(await request(cluster, `/users/${i}`));
    }
    expect(new Set(answered.map((a) => a.pid)).size).toBe(2);
    const last = answered.at(-1) as Answered;
    const spans = new Set(answered.map((a) => a.spanId));

    const samples = await scrape(cluster);
    const count = samples.find(
      (s) =>
        s.name === 'app_request_count_total' &&
        s.labels.endpoint === '/users/:id' &&
        s.labels.http_status === '200',
    );
    // Summed over both workers; its exemplar the last request's, whichever worker answered it.
    expect(count?.value).toBe(String(answered.length));
    expect(idsOf(count)).toEqual({ traceId: last.traceId, spanId: last.spanId });
    const buckets = samples.filter(
      (s) => s.name === 'app_request_latency_seconds_bucket' && s.labels.endpoint === '/users/:id',
    );
    const withExemplars = buckets.filter((s) => s.exemplar !== undefined);
    expect(withExemplars.length).toBeGreaterThan(0);
    for (const bucket of withExemplars) {
      expect(spans.has(bucket.exemplar?.labels.span_id as string)).toBe(true);
    }
    expect(withExemplars.map((s) => idsOf(s)?.spanId)).toContain(last.spanId);

    // The worker that answered last dies without a word; the primary keeps what it last sent.
    const pids = (await cluster.pids()).map(String);
    await cluster.kill(pids.indexOf(last.pid));
    const after = await scrape(cluster);
    const kept = after.find(
      (s) =>
        s.name === 'app_request_count_total' &&
        s.labels.endpoint === '/users/:id' &&
        s.labels.http_status === '200',
    );
    expect(kept?.value).toBe(String(answered.length));
    expect(idsOf(kept)).toEqual({ traceId: last.traceId, spanId: last.spanId });
  });
});
