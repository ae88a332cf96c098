import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { api, exemplars, startPrometheus, type Prometheus } from './helpers/prometheus';
import { start, waitFor, type Started } from './helpers/processes';

/*
 * A real Prometheus (Debian's 2.42) scraping the package's endpoint negotiates OpenMetrics, parses
 * it without an error, and keeps what only OpenMetrics carries: the exemplars and the units. The
 * targets (fixtures/openmetrics-target.mjs, one per naming) serve the built library through
 * createPrometheusReader, with exemplars planted on their request series.
 */

const TARGET = join(__dirname, 'fixtures', 'openmetrics-target.mjs');
/** Planted by the fixture. */
const TRACE_ID = {
  bucket: '4bf92f3577b34da6a3ce929d0e0e4736',
  counter: '0af7651916cd43dd8448eb211c80319c',
};
/** What Prometheus 2.x asks for (prometheus/prometheus scrape/scrape.go `scrapeAcceptHeader`). */
const PROMETHEUS_2_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const OPENMETRICS =
  'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores';
const JOBS = {
  prometheus: 'om-prometheus',
  semconv: 'om-semconv',
  utf8: 'om-semconv-utf8',
} as const;
type Naming = keyof typeof JOBS;
/** The fixture's environment for each target. */
const SETTINGS: Record<Naming, Record<string, string>> = {
  prometheus: { NAMING: 'prometheus' },
  semconv: { NAMING: 'semconv' },
  // Dotted names, which Prometheus 2 (no UTF-8, no `escaping` asked) must get escaped.
  utf8: { NAMING: 'semconv', TRANSLATION_STRATEGY: 'NoUTF8EscapingWithSuffixes' },
};

interface Target {
  started: Started;
  url: string;
  /** Host and port, as Prometheus' config lists it. */
  address: string;
  /** The Accept header and Content-Type of each scrape so far. */
  scrapes(): Array<{ accept: string | null; type: string | null }>;
}

async function startTarget(naming: Naming): Promise<Target> {
  const started = start(process.execPath, [TARGET], SETTINGS[naming]);
  const url = (): string | undefined => /^metrics on (\S+)$/m.exec(started.output())?.[1];
  if (!(await waitFor(async () => url() !== undefined, 15000, 50))) {
    await started.stop();
    throw new Error(`the ${naming} target did not start:\n${started.output()}`);
  }
  return {
    started,
    url: url() as string,
    address: new URL(url() as string).host,
    scrapes: () =>
      [...started.output().matchAll(/^scrape (.*)$/gm)].map(
        (m) => JSON.parse(m[1] as string) as { accept: string | null; type: string | null },
      ),
  };
}

const targets = {} as Record<Naming, Target>;
let prometheus: Prometheus;

beforeAll(async () => {
  targets.prometheus = await startTarget('prometheus');
  targets.semconv = await startTarget('semconv');
  targets.utf8 = await startTarget('utf8');
  prometheus = await startPrometheus({
    jobs: {
      [JOBS.prometheus]: [targets.prometheus.address],
      [JOBS.semconv]: [targets.semconv.address],
      [JOBS.utf8]: [targets.utf8.address],
    },
    flags: ['--enable-feature=exemplar-storage'],
  });
  const up = await waitFor(async () => {
    const series = await prometheus.query(`up{job=~"om-.*"} == 1`);
    return series.length === 3;
  }, 30000);
  if (!up) {
    throw new Error(
      `no successful scrape:\n${prometheus.output()}\n${targets.prometheus.started.output()}`,
    );
  }
});

afterAll(async () => {
  await prometheus?.stop();
  await targets.prometheus?.started.stop();
  await targets.semconv?.started.stop();
  await targets.utf8?.started.stop();
});

describe('Prometheus 2.42 scraping the endpoint', () => {
  it('asks for OpenMetrics, gets it, and parses it without an error', async () => {
    const { activeTargets } = await api<{
      activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }>;
    }>(prometheus, '/api/v1/targets?state=active');
    for (const job of Object.values(JOBS)) {
      const target = activeTargets.find((t) => t.labels.job === job);
      expect({ job, health: target?.health, lastError: target?.lastError }).toEqual({
        job,
        health: 'up',
        lastError: '',
      });
    }
    for (const naming of Object.keys(JOBS) as Naming[]) {
      const scrapes = targets[naming].scrapes();
      expect(scrapes.length).toBeGreaterThan(0);
      expect(scrapes[0]).toEqual({ accept: PROMETHEUS_2_ACCEPT, type: OPENMETRICS });
    }
  });

  it('keeps the exemplars planted on a bucket and a counter', async () => {
    const found = await waitFor(async () => {
      const [bucket, counter, semconv] = await Promise.all([
        exemplars(prometheus, `app_request_latency_seconds_bucket{job="${JOBS.prometheus}"}`),
        exemplars(prometheus, `app_request_count_total{job="${JOBS.prometheus}"}`),
        exemplars(prometheus, `http_server_request_duration_seconds_bucket{job="${JOBS.semconv}"}`),
      ]);
      return bucket.length > 0 && counter.length > 0 && semconv.length > 0;
    }, 15000);
    expect(found).toBe(true);
    const [bucket] = await exemplars(
      prometheus,
      `app_request_latency_seconds_bucket{job="${JOBS.prometheus}"}`,
    );
    expect(bucket?.seriesLabels).toMatchObject({ le: '0.5', endpoint: '/users/:id' });
    expect(bucket?.exemplars[0]).toMatchObject({
      labels: { trace_id: TRACE_ID.bucket, span_id: '00f067aa0ba902b7' },
      value: '0.3',
    });
    const [counter] = await exemplars(
      prometheus,
      `app_request_count_total{job="${JOBS.prometheus}"}`,
    );
    expect(counter?.exemplars[0]?.labels.trace_id).toBe(TRACE_ID.counter);
    const [semconv] = await exemplars(
      prometheus,
      `http_server_request_duration_seconds_bucket{job="${JOBS.semconv}"}`,
    );
    expect(semconv?.seriesLabels).toMatchObject({ http_route: '/users/:id', le: '0.5' });
    expect(semconv?.exemplars[0]?.labels.trace_id).toBe(TRACE_ID.bucket);
  });

  it('stores the dotted names of NoUTF8EscapingWithSuffixes under the default names', async () => {
    const series = async (job: string) =>
      (await prometheus.query(`{__name__=~"http_server_request_duration_seconds.*",job="${job}"}`))
        .map(({ metric: { job: _job, instance: _instance, ...labels }, value }) => ({
          labels,
          value: value[1],
        }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const utf8 = await series(JOBS.utf8);
    expect(utf8.length).toBeGreaterThan(3);
    expect(utf8).toEqual(await series(JOBS.semconv));
    expect(utf8).toContainEqual({
      labels: {
        __name__: 'http_server_request_duration_seconds_count',
        http_request_method: 'GET',
        http_response_status_code: '200',
        http_route: '/users/:id',
        otel_scope_name: 'express-otel-metrics',
      },
      value: '1',
    });
  });

  it('stores the units and types of OpenMetrics, and the canonical le', async () => {
    type Metadata = Record<string, Array<{ type: string; unit: string; help: string }>>;
    const metadata = await api<Metadata>(prometheus, '/api/v1/metadata');
    expect(metadata.app_request_latency_seconds?.[0]).toMatchObject({
      type: 'histogram',
      unit: 'seconds',
    });
    expect(metadata.http_server_request_duration_seconds?.[0]).toMatchObject({
      type: 'histogram',
      unit: 'seconds',
    });
    expect(metadata.app_request_count?.[0]).toMatchObject({ type: 'counter', unit: '' });
    expect(metadata.target?.[0]).toMatchObject({ type: 'info' });
    const one = await prometheus.query(
      `app_request_latency_seconds_bucket{job="${JOBS.prometheus}",le="1.0"}`,
    );
    expect(one.map((s) => s.value[1])).toEqual(['1']);
    const info = await prometheus.query(`target_info{job="${JOBS.semconv}"}`);
    expect(info[0]?.metric.telemetry_sdk_language).toBe('nodejs');
  });
});

describe('the text format of the same targets', () => {
  it.each(Object.keys(JOBS) as Naming[])(
    'passes promtool check metrics in the %s naming, with no exemplar',
    async (naming) => {
      const res = await fetch(targets[naming].url);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      expect(text).not.toContain(' # {');
      const checked = spawnSync('promtool', ['check', 'metrics'], {
        input: text,
        encoding: 'utf8',
      });
      expect({
        status: checked.status,
        output: `${checked.stdout}${checked.stderr}`.trim(),
      }).toEqual({ status: 0, output: '' });
    },
  );
});
