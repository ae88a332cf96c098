import { Agent, request } from 'node:http';
import { REUSE_MAX_MS } from '../../src/export/exposition';
import { startCluster, type ClusterProcess } from '../helpers/cluster-process';
import { hasProc } from '../../src/platform/proc';
import { parseExposition, samplesOf, typeOf, valueOf, type Sample } from '../helpers/exposition';
import { checkMetrics, findPromtool } from '../helpers/promtool';
import { sleep, until } from '../helpers/wait';

jest.setTimeout(120_000);

interface LoadResult {
  /** Responses by status code. */
  statuses: Record<number, number>;
  /** Requests that got no response (the worker died under them). */
  failed: number;
  /** The pids of the workers that answered. */
  pids: Set<string>;
}

/**
 * `total` requests over `connections` keep-alive connections: 90% GET /users/:id, 10% POST
 * /users. `onProgress` sees the number of requests finished so far.
 */
async function load(
  base: string,
  total: number,
  connections: number,
  onProgress?: (done: number) => void | Promise<void>,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const result: LoadResult = { statuses: {}, failed: 0, pids: new Set() };
  let next = 0;
  let done = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const post = i % 10 === 9;
      const req = request(
        `${base}${post ? '/users' : `/users/${i}`}`,
        { method: post ? 'POST' : 'GET', agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            result.statuses[status] = (result.statuses[status] ?? 0) + 1;
            result.pids.add(String(res.headers['x-worker-pid']));
            resolve();
          });
        },
      );
      req.on('error', () => {
        result.failed++;
        resolve();
      });
      req.end();
    });
  const lane = async (): Promise<void> => {
    while (next < total) {
      await one(next++);
      done++;
      await onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
  return result;
}

async function scrape(cluster: ClusterProcess): Promise<string> {
  const res = await fetch(cluster.metricsUrl);
  expect(res.status).toBe(200);
  return res.text();
}

const sum = (samples: Sample[]): number => samples.reduce((a, s) => a + s.value, 0);

/** Every counter and histogram series of the exposition, by name and labels. */
function cumulative(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parseExposition(text)) {
    if (!/_total$|_count$|_sum$|_bucket$/.test(s.name)) continue;
    out.set(`${s.name}${JSON.stringify(s.labels)}`, s.value);
  }
  return out;
}

/** Series that went down, or disappeared, from one scrape to the next. */
function decreases(before: Map<string, number>, after: Map<string, number>): string[] {
  const found: string[] = [];
  for (const [key, value] of before) {
    const now = after.get(key);
    if (now === undefined || now < value) found.push(`${key}: ${value} -> ${now}`);
  }
  return found;
}

const GET = { method: 'GET', endpoint: '/users/:id', http_status: '200' };
const POST = { method: 'POST', endpoint: '/users', http_status: '201' };

describe('cluster mode: the primary serves every worker', () => {
  let cluster: ClusterProcess | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('counts 10,000 requests to 2 workers exactly, in counters and histograms', async () => {
    cluster = await startCluster({ workers: 2 });
    const result = await load(cluster.appUrl, 10_000, 8);
    expect(result).toMatchObject({ statuses: { 200: 9000, 201: 1000 }, failed: 0 });
    expect(result.pids.size).toBe(2);

    const text = await scrape(cluster);
    expect(sum(samplesOf(text, 'app_request_count_total'))).toBe(10_000);
    expect(valueOf(text, 'app_request_count_total', GET)).toBe(9000);
    expect(valueOf(text, 'app_request_count_total', POST)).toBe(1000);
    for (const [labels, n] of [
      [{ method: 'GET', endpoint: '/users/:id' }, 9000],
      [{ method: 'POST', endpoint: '/users' }, 1000],
    ] as const) {
      expect(valueOf(text, 'app_request_latency_seconds_count', labels)).toBe(n);
      expect(valueOf(text, 'app_request_latency_seconds_bucket', { ...labels, le: '+Inf' })).toBe(
        n,
      );
      const buckets = samplesOf(text, 'app_request_latency_seconds_bucket', labels).map(
        (s) => s.value,
      );
      expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    }

    // Once, not once per process.
    expect(samplesOf(text, 'app_version_info')).toEqual([
      { name: 'app_version_info', labels: { version: 'v1', config: 'test' }, value: 1 },
    ]);
    expect(samplesOf(text, 'nodejs_version_info')).toHaveLength(1);
    expect(samplesOf(text, 'nodejs_version_info')[0]?.value).toBe(1);
    // Per process: the primary and both workers.
    const starts = samplesOf(text, 'process_start_time_seconds');
    expect(starts.map((s) => s.labels.worker).sort()).toEqual(['0', '1', 'primary']);
    // Summed: one series, more than any one process has.
    const rss = samplesOf(text, 'process_resident_memory_bytes');
    expect(rss).toHaveLength(1);
    expect(rss[0]?.labels).toEqual({});
    expect(rss[0]?.value).toBeGreaterThan(3 * 20 * 1024 * 1024);
    expect(valueOf(text, 'app_cluster_workers')).toBe(2);
    expect(valueOf(text, 'app_cluster_workers_unresponsive')).toBe(0);

    const promtool = findPromtool();
    if (promtool) expect(checkMetrics(promtool, text)).toEqual({ status: 0, output: '' });

    // One registration per worker answers the primary; a second is refused at setup.
    const again = await fetch(`${cluster.appUrl}/register-again`);
    expect(await again.text()).toBe(
      'TypeError: express-otel-metrics: option `cluster`: this worker already has a registration with `cluster: true`; one per worker (shut the other down first)',
    );
  });

  it("writes the semconv naming under Prometheus' OTLP names, summed over the workers", async () => {
    cluster = await startCluster({ workers: 2, naming: 'semconv' });
    const result = await load(cluster.appUrl, 200, 4);
    expect(result).toMatchObject({ statuses: { 200: 180, 201: 20 }, failed: 0 });

    const text = await scrape(cluster);
    const family = 'http_server_request_duration_seconds';
    expect(typeOf(text, family)).toBe('histogram');
    expect(sum(samplesOf(text, `${family}_count`))).toBe(200);
    expect(
      valueOf(text, `${family}_count`, { http_request_method: 'POST', http_route: '/users' }),
    ).toBe(20);
    // Counters, summed gauges and per-process gauges, under the translated names.
    expect(typeOf(text, 'process_cpu_time_seconds_total')).toBe('counter');
    expect(samplesOf(text, 'process_memory_usage_bytes')).toHaveLength(1);
    const uptimes = samplesOf(text, 'process_uptime_seconds');
    expect(uptimes.map((s) => s.labels.worker).sort()).toEqual(['0', '1', 'primary']);
    expect(samplesOf(text, 'nodejs_eventloop_utilization_ratio')).toHaveLength(3);
    if (hasProc()) {
      expect(typeOf(text, 'process_unix_file_descriptor_count')).toBe('untyped');
      expect(samplesOf(text, 'process_unix_file_descriptor_count')).toHaveLength(1);
    }
    expect(valueOf(text, 'app_cluster_workers')).toBe(2);
    expect(text).not.toMatch(/^# TYPE (http_server_request_duration|process_uptime) /m);

    const promtool = findPromtool();
    if (promtool) expect(checkMetrics(promtool, text)).toEqual({ status: 0, output: '' });
  });

  it('never lowers a counter when a worker is killed and replaced mid-run', async () => {
    cluster = await startCluster({ workers: 2 });
    const running = cluster;
    const scrapes: string[] = [];
    let killedAt: number | undefined;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        scrapes.push(await scrape(running));
        await sleep(25);
      }
    })();
    const [victim] = await running.pids();
    const result = await load(running.appUrl, 8000, 8, async (done) => {
      if (done === 3000) {
        killedAt = scrapes.length;
        await running.kill(0);
      }
    });
    scraping = false;
    await scraper;
    // The replacement joins: two workers again, one of them new. Scrapes stay one at a time, so
    // their order is the order of their data.
    const settled = await until(
      async () => {
        const text = await scrape(running);
        scrapes.push(text);
        return text;
      },
      (text) => valueOf(text, 'app_cluster_workers') === 2,
      15_000,
    );
    expect(await running.pids()).not.toContain(victim);
    expect(valueOf(settled, 'app_cluster_workers')).toBe(2);

    expect(killedAt).toBeDefined();
    expect(scrapes.length).toBeGreaterThan((killedAt ?? 0) + 2);
    for (let i = 1; i < scrapes.length; i++) {
      expect(
        decreases(cumulative(scrapes[i - 1] as string), cumulative(scrapes[i] as string)),
      ).toEqual([]);
    }
    // What the killed worker counted after the primary's last look at it is gone with it; never
    // more than was sent, never less than was served before the kill.
    const total = sum(samplesOf(settled, 'app_request_count_total'));
    const answered = (result.statuses[200] ?? 0) + (result.statuses[201] ?? 0);
    expect(answered + result.failed).toBe(8000);
    expect(total).toBeLessThanOrEqual(8000);
    expect(total).toBeGreaterThanOrEqual(
      sum(samplesOf(scrapes[killedAt ?? 0] as string, 'app_request_count_total')),
    );
  });

  it('keeps every count of a worker that shuts down gracefully, scraped or not', async () => {
    cluster = await startCluster({ workers: 2 });
    const first = await load(cluster.appUrl, 3000, 8);
    expect(first.failed).toBe(0);
    const [leaving] = await cluster.pids();
    // No scrape between the requests and the shutdown: the primary has never seen these counts,
    // and gets them from the worker's last snapshot.
    await cluster.retire(0);
    const running = cluster;
    await until(
      () => running.pids(),
      (pids) => pids.length === 2 && !pids.includes(leaving as number),
      15_000,
    );
    // The replacement reports once it has started (and then listens).
    await until(
      () => scrape(running),
      (text) => valueOf(text, 'app_cluster_workers') === 2,
      15_000,
    );
    const second = await load(cluster.appUrl, 3000, 8);
    expect(second.failed).toBe(0);
    // The last scrape may have been moments ago; past the time its answer is reused, this one asks
    // the workers again.
    await sleep(REUSE_MAX_MS + 100);
    const text = await scrape(cluster);
    expect(sum(samplesOf(text, 'app_request_count_total'))).toBe(6000);
    expect(valueOf(text, 'app_request_count_total', GET)).toBe(5400);
    expect(valueOf(text, 'app_request_latency_seconds_count', { method: 'GET' })).toBe(5400);
    expect(valueOf(text, 'app_cluster_workers')).toBe(2);
  });

  it('answers in time when a worker is stuck, counting it, and keeps its counters', async () => {
    cluster = await startCluster({ workers: 2, workerTimeout: 300 });
    await load(cluster.appUrl, 1000, 4);
    const before = await scrape(cluster);
    expect(sum(samplesOf(before, 'app_request_count_total'))).toBe(1000);
    expect(valueOf(before, 'app_cluster_workers_unresponsive')).toBe(0);

    await cluster.block(0, 3000);
    // Past the time an answer is reused, so that this scrape asks the workers again.
    await sleep(REUSE_MAX_MS + 100);
    const started = performance.now();
    const during = await scrape(cluster);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    expect(valueOf(during, 'app_cluster_workers_unresponsive')).toBe(1);
    expect(valueOf(during, 'app_cluster_workers')).toBe(2);
    // Its counters as it last reported them; its per-process gauges are left out.
    expect(sum(samplesOf(during, 'app_request_count_total'))).toBe(1000);
    expect(decreases(cumulative(before), cumulative(during))).toEqual([]);
    expect(samplesOf(during, 'process_start_time_seconds')).toHaveLength(2);

    const running = cluster;
    const after = await until(
      () => scrape(running),
      (text) => valueOf(text, 'app_cluster_workers_unresponsive') === 0,
      10_000,
    );
    expect(valueOf(after, 'app_cluster_workers_unresponsive')).toBe(0);
    expect(samplesOf(after, 'process_start_time_seconds')).toHaveLength(3);
    expect(sum(samplesOf(after, 'app_request_count_total'))).toBe(1000);
  });
});
