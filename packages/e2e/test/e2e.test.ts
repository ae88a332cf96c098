import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { panelQueries, templateVariables } from './helpers/dashboard';
import { startExampleApp, type ExampleApp } from './helpers/example-app';
import { startPrometheus, type Prometheus, type Series } from './helpers/prometheus';
import { waitFor } from './helpers/processes';

const RULES = join(__dirname, '..', '..', '..', 'prometheus', 'rules.yml');
const JOB = 'example-app';

/** The traffic of one round: [method, path, expected status]. */
const ROUND: Array<[string, string, number]> = [
  ...Array.from({ length: 7 }, (): [string, string, number] => ['GET', '/', 200]),
  ...Array.from({ length: 10 }, (_, i): [string, string, number] => [
    'GET',
    `/users/${i + 1}`,
    200,
  ]),
  ...Array.from({ length: 3 }, (): [string, string, number] => ['POST', '/users', 201]),
  ...Array.from({ length: 5 }, (_, i): [string, string, number] => [
    'GET',
    `/api/orders/${i}/items/${i * 7}`,
    200,
  ]),
  ...Array.from({ length: 3 }, (_, i): [string, string, number] => [
    'GET',
    `/no-such-page-${i}`,
    404,
  ]),
  ['DELETE', '/users/1', 404],
  ...Array.from({ length: 2 }, (): [string, string, number] => ['GET', '/error', 500]),
];
const SLOW_PER_ROUND = 2;
const SLOW_MS = 300;
const ROUNDS = 3;

let app: ExampleApp;
let prometheus: Prometheus;
let sent = 0;

const value = (series: Series[]): number => Number(series[0]?.value[1]);

async function drive(): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    const slow = Array.from({ length: SLOW_PER_ROUND }, async () => {
      const res = await fetch(`${app.url}/slow?ms=${SLOW_MS}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      sent++;
    });
    for (const [method, path, status] of ROUND) {
      const res = await fetch(`${app.url}${path}`, { method });
      await res.arrayBuffer();
      expect(res.status).toBe(status);
      sent++;
    }
    await Promise.all(slow);
    // Spread the rounds over several scrapes, so rates have points to work with.
    await new Promise((r) => setTimeout(r, 1500));
  }
}

beforeAll(async () => {
  app = await startExampleApp();
  prometheus = await startPrometheus({ jobs: { [JOB]: [app.metricsTarget] }, ruleFiles: [RULES] });
  const scraping = await waitFor(
    async () => value(await prometheus.query(`up{job="${JOB}"}`)) === 1,
    30000,
  );
  if (!scraping) throw new Error(`no successful scrape:\n${prometheus.output()}\n${app.output()}`);
  await drive();
  const counted = await waitFor(
    async () =>
      value(await prometheus.query(`sum(app_request_count_total{job="${JOB}"})`)) === sent,
    30000,
  );
  if (!counted) {
    const got = value(await prometheus.query(`sum(app_request_count_total{job="${JOB}"})`));
    throw new Error(`Prometheus counted ${got} requests of the ${sent} sent`);
  }
});

afterAll(async () => {
  await prometheus?.stop();
  await app?.stop();
});

describe('the example app scraped by a real Prometheus', () => {
  it('counts every request sent, exactly, with the right labels', async () => {
    const perRound = ROUND.length + SLOW_PER_ROUND;
    expect(sent).toBe(ROUNDS * perRound);
    expect(value(await prometheus.query(`sum(app_request_count_total{job="${JOB}"})`))).toBe(sent);
    const byStatus = await prometheus.query(
      `sum by (http_status) (app_request_count_total{job="${JOB}"})`,
    );
    const statuses = Object.fromEntries(
      byStatus.map((s) => [s.metric.http_status, Number(s.value[1])]),
    );
    expect(statuses).toEqual({
      '200': ROUNDS * 24,
      '201': ROUNDS * 3,
      '404': ROUNDS * 4,
      '500': ROUNDS * 2,
    });
    const routes = await prometheus.query(
      `sum by (method, endpoint) (app_request_count_total{job="${JOB}"})`,
    );
    const byRoute = Object.fromEntries(
      routes.map((s) => [`${s.metric.method} ${s.metric.endpoint}`, Number(s.value[1])]),
    );
    expect(byRoute).toEqual({
      'GET /': ROUNDS * 7,
      'GET /users/:id': ROUNDS * 10,
      'POST /users': ROUNDS * 3,
      'GET /api/orders/:orderId/items/:itemId': ROUNDS * 5,
      'GET <unmatched>': ROUNDS * 3,
      'DELETE <unmatched>': ROUNDS,
      'GET /error': ROUNDS * 2,
      'GET /slow': ROUNDS * SLOW_PER_ROUND,
    });
  });

  it('puts the p99 of the slow route in its bucket (0.25, 0.5]', async () => {
    const p99 = value(
      await prometheus.query(
        `histogram_quantile(0.99, sum by (le) (rate(app_request_latency_seconds_bucket{job="${JOB}",endpoint="/slow"}[1m])))`,
      ),
    );
    expect(p99).toBeGreaterThan(0.25);
    expect(p99).toBeLessThanOrEqual(0.5);
    const fast = value(
      await prometheus.query(
        `histogram_quantile(0.5, sum by (le) (rate(app_request_latency_seconds_bucket{job="${JOB}",endpoint="/users/:id"}[1m])))`,
      ),
    );
    expect(fast).toBeLessThan(0.1);
  });

  it('has process, version, GC and event-loop series with plausible values', async () => {
    const q = async (expr: string): Promise<number> => {
      const result = await prometheus.query(expr);
      if (result.length === 0) throw new Error(`no data for ${expr}`);
      return value(result);
    };
    const sel = `{job="${JOB}"}`;
    expect(await q(`rate(process_cpu_seconds_total${sel}[30s])`)).toBeGreaterThan(0);
    expect(await q(`process_resident_memory_bytes${sel}`)).toBeGreaterThan(20e6);
    expect(await q(`process_open_fds${sel}`)).toBeGreaterThan(5);
    expect(await q(`process_max_fds${sel}`)).toBeGreaterThan(await q(`process_open_fds${sel}`));
    const uptime = await q(`time() - process_start_time_seconds${sel}`);
    expect(uptime).toBeGreaterThan(1);
    expect(uptime).toBeLessThan(300);
    expect(await q(`app_version_info{job="${JOB}",version="v0.1.2",config="staging"}`)).toBe(1);
    expect(await q(`nodejs_version_info{job="${JOB}",version="${process.version}"}`)).toBe(1);
    expect(await q(`sum(nodejs_gc_duration_seconds_count${sel})`)).toBeGreaterThan(0);
    expect(await q(`nodejs_eventloop_lag_p99_seconds${sel}`)).toBeGreaterThanOrEqual(0);
    expect(await q(`nodejs_eventloop_utilization_ratio${sel}`)).toBeLessThanOrEqual(1);
    expect(await q(`nodejs_heap_size_used_bytes${sel}`)).toBeGreaterThan(1e6);
  });

  it('scrapes cleanly: up, and no sample rejected', async () => {
    expect(value(await prometheus.query(`up{job="${JOB}"}`))).toBe(1);
    expect(value(await prometheus.query(`scrape_samples_scraped{job="${JOB}"}`))).toBeGreaterThan(
      50,
    );
    for (const counter of [
      'prometheus_target_scrapes_sample_out_of_order_total',
      'prometheus_target_scrapes_sample_duplicate_timestamp_total',
      'prometheus_target_scrapes_sample_out_of_bounds_total',
      'prometheus_target_scrapes_exceeded_sample_limit_total',
      'prometheus_target_scrapes_exemplar_out_of_order_total',
    ]) {
      const result = await prometheus.query(`sum(${counter})`);
      expect(result).toHaveLength(1);
      expect(`${counter} ${value(result)}`).toBe(`${counter} 0`);
    }
  });

  it('evaluates the recording rules on the live series', async () => {
    const ok = await waitFor(
      async () =>
        (
          await prometheus.query(
            'job_endpoint:app_request_latency_seconds:p99_rate5m{endpoint="/slow"}',
          )
        ).length === 1,
      15000,
    );
    expect(ok).toBe(true);
    const ratio = value(
      await prometheus.query(`job:app_request_errors:ratio_rate5m{job="${JOB}"}`),
    );
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(0.2);
  });
});

describe('the Grafana dashboard', () => {
  it('has every panel query parse and return data against the live Prometheus', async () => {
    expect(templateVariables()).toEqual([
      'datasource',
      'job',
      'instance',
      'endpoint',
      'method',
      'quantile',
    ]);
    const queries = panelQueries({
      job: JOB,
      instance: app.metricsTarget,
      endpoint: '.*',
      method: '.*',
      quantile: '0.99',
      __rate_interval: '30s',
    });
    expect(queries.length).toBeGreaterThanOrEqual(15);
    const report: string[] = ['| panel | query | value returned |', '|---|---|---|'];
    const empty: string[] = [];
    for (const { panel, refId, expr } of queries) {
      const result = await prometheus.query(expr);
      if (result.length === 0) empty.push(`${panel} (${refId}): ${expr}`);
      const shown = result
        .slice(0, 4)
        .map(
          (s) =>
            `${
              Object.entries(s.metric)
                .filter(([k]) => !['job', 'instance', '__name__'].includes(k))
                .map(([k, v]) => `${k}=${v}`)
                .join(',') || '-'
            }: ${Number(s.value[1]).toPrecision(4)}`,
        )
        .join('; ');
      report.push(
        `| ${panel} | \`${expr.replace(/\|/g, '\\|')}\` | ${result.length} series; ${shown} |`,
      );
    }
    const out = join(__dirname, '..', '.out');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'dashboard-panels.md'), `${report.join('\n')}\n`);
    expect(empty).toEqual([]);
  });

  it('fails a panel whose query returns nothing', async () => {
    const [query] = panelQueries({
      job: 'no-such-job',
      instance: '.*',
      endpoint: '.*',
      method: '.*',
      quantile: '0.99',
      __rate_interval: '30s',
    });
    expect(await prometheus.query(query!.expr)).toEqual([]);
  });
});
