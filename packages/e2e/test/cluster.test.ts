import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startExampleApp, type ExampleApp } from './helpers/example-app';
import { steadyLoad, type LoadResult } from './helpers/load';
import { childPids, waitFor } from './helpers/processes';
import { startPrometheus, type Prometheus, type Series } from './helpers/prometheus';

const JOB = 'example-app-cluster';
const REQUESTS = `app_request_count_total{job="${JOB}"}`;
/** The load: GET /users/1 at RATE a second for LOAD_MS; one worker SIGKILLed KILL_AT_MS in. */
const RATE = 100;
const LOAD_MS = 36_000;
const KILL_AT_MS = 15_000;
/** The window of the rate check, in ms from the start of the load: inside it, around the kill. */
const WINDOW = { from: 8_000, to: 33_000 };
/** The scrape interval (helpers/prometheus.ts): what the primary holds of a worker is that old. */
const SCRAPE_MS = 1_000;

let app: ExampleApp;
let prometheus: Prometheus;
let load: LoadResult;
let loadStart: number;
let killed: number;
let killedAt: number;
let replacement: number | undefined;
let end: number;
/** Counter-like series (any `_total`, `_count`, `_sum`, `_bucket`) with resets() > 0. */
let allResets: string[] = [];

const value = (series: Series[]): number => Number(series[0]?.value[1]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Requests answered in the interval (from, to] of wall-clock ms. */
const answered = (from: number, to: number): number =>
  load.completed.filter((t) => t > from && t <= to).length;
/** A range that covers the whole run, for functions over time evaluated at `end`. */
const wholeRun = (): string => `${Math.ceil((end - loadStart) / 1000) + 10}s`;

beforeAll(async () => {
  // The latency as native histograms too, which this Prometheus scrapes (in the protobuf format):
  // the workers' exponential histograms merged by the primary, across the kill.
  app = await startExampleApp({ WORKERS: '2', LATENCY_HISTOGRAM: 'both' });
  prometheus = await startPrometheus({
    jobs: { [JOB]: [app.metricsTarget] },
    flags: ['--enable-feature=native-histograms'],
  });
  const scraping = await waitFor(
    async () => value(await prometheus.query(`up{job="${JOB}"}`)) === 1,
    30000,
  );
  if (!scraping) throw new Error(`no successful scrape:\n${prometheus.output()}\n${app.output()}`);
  const workers = childPids(app.pid);
  if (workers.length !== 2) throw new Error(`expected 2 workers, found ${workers.join(', ')}`);

  loadStart = Date.now();
  const running = steadyLoad({ url: `${app.url}/users/1`, perSecond: RATE, ms: LOAD_MS });
  await sleep(loadStart + KILL_AT_MS - Date.now());
  killed = workers[0] as number;
  killedAt = Date.now();
  process.kill(killed, 'SIGKILL');
  await waitFor(
    async () => {
      const now = childPids(app.pid);
      replacement = now.find((pid) => !workers.includes(pid));
      return now.length === 2 && replacement !== undefined;
    },
    10000,
    50,
  );
  load = await running;
  // A few more scrapes, so that the last requests are in.
  await sleep(3 * SCRAPE_MS);
  end = Date.now();
  await writeReport();
});

afterAll(async () => {
  await prometheus?.stop();
  await app?.stop();
});

/** The rate of requests answered over WINDOW, and the rate Prometheus gives for it. */
async function windowRates(): Promise<{ sent: number; prometheus: number }> {
  const [from, to] = [loadStart + WINDOW.from, loadStart + WINDOW.to];
  const seconds = (to - from) / 1000;
  const sent = answered(from, to) / seconds;
  const rate = value(await prometheus.query(`sum(rate(${REQUESTS}[${seconds}s]))`, to));
  return { sent, prometheus: rate };
}

/** The figures of the run, in .out/cluster-run.md, with the raw scrapes around the kill. */
async function writeReport(): Promise<void> {
  const at = killedAt + 6000;
  const counts = new Map<number, number>();
  for (const series of await prometheus.samples(`${REQUESTS}[12s]`, at)) {
    for (const [t, v] of series.values) counts.set(t, (counts.get(t) ?? 0) + Number(v));
  }
  const workers = new Map<number, string>();
  for (const series of await prometheus.samples(`app_cluster_workers{job="${JOB}"}[12s]`, at)) {
    for (const [t, v] of series.values) workers.set(t, v);
  }
  const rows = [...counts.keys()]
    .sort((a, b) => a - b)
    .map(
      (t) =>
        `| ${((t * 1000 - killedAt) / 1000).toFixed(3)} | ${counts.get(t)} | ${answered(0, t * 1000)} | ${workers.get(t) ?? ''} |`,
    );
  const counted = value(await prometheus.query(`sum(${REQUESTS})`, end));
  const rates = await windowRates();
  // resets() drops the names, so one query per name.
  const counters = await prometheus.query(
    `group by (__name__) ({job="${JOB}",__name__=~".+_total|.+_count|.+_sum|.+_bucket"})`,
    end,
  );
  const resets: string[] = [];
  for (const { metric } of counters) {
    const name = metric.__name__ as string;
    for (const s of await prometheus.query(`resets(${name}{job="${JOB}"}[${wholeRun()}]) > 0`, end))
      resets.push(`${name}${JSON.stringify(s.metric)} ${s.value[1]}`);
  }
  allResets = resets;
  const out = join(__dirname, '..', '.out');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'cluster-run.md'),
    [
      `load: ${load.completed.length} answered over ${LOAD_MS / 1000} s (${((load.completed.length * 1000) / LOAD_MS).toFixed(2)}/s), ${load.failed} failed (${[...load.errors].join('; ')})`,
      `worker ${killed} SIGKILLed ${((killedAt - loadStart) / 1000).toFixed(3)} s in; replacement ${replacement}`,
      `counted by Prometheus at the end: ${counted} (${load.completed.length - counted} fewer than answered)`,
      `answered in the ${SCRAPE_MS * 2} ms before the kill: ${answered(killedAt - 2 * SCRAPE_MS, killedAt)}`,
      `rate over the window: sent ${rates.sent.toFixed(2)}/s, Prometheus ${rates.prometheus.toFixed(2)}/s`,
      `counter-like series with resets() > 0: ${resets.join(', ') || 'none'} (of ${counters.length} names)`,
      '',
      '| scrape, s after the kill | sum(app_request_count_total) | answered by then | app_cluster_workers |',
      '|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

describe('the example app with WORKERS=2, scraped by a real Prometheus while a worker is killed', () => {
  it('replaces the SIGKILLed worker: app_cluster_workers is back to 2', async () => {
    expect(replacement).toBeDefined();
    expect(app.output()).toContain(`worker ${killed} exited (SIGKILL); forking a replacement`);
    expect(value(await prometheus.query(`app_cluster_workers{job="${JOB}"}`, end))).toBe(2);
    expect(
      value(
        await prometheus.query(
          `max_over_time(app_cluster_workers{job="${JOB}"}[${wholeRun()}])`,
          end,
        ),
      ),
    ).toBe(2);
  });

  it('never lets the cluster counter go down: resets() is 0 over the whole run', async () => {
    const perSeries = await prometheus.query(`resets(${REQUESTS}[${wholeRun()}])`, end);
    expect(perSeries.length).toBeGreaterThan(0);
    expect(perSeries.map((s) => [s.metric.endpoint, Number(s.value[1])])).toEqual(
      perSeries.map((s) => [s.metric.endpoint, 0]),
    );
    expect(value(await prometheus.query(`sum(resets(${REQUESTS}[${wholeRun()}]))`, end))).toBe(0);
    // Nor any other total: CPU seconds, GC and latency histograms.
    expect(allResets).toEqual([]);
  });

  it('gives sum(rate()) within 10% of the rate sent, over a window around the kill', async () => {
    expect(loadStart + WINDOW.from).toBeLessThan(killedAt);
    expect(loadStart + WINDOW.to).toBeGreaterThan(killedAt);
    const { sent, prometheus: measured } = await windowRates();
    expect(sent).toBeGreaterThan(RATE * 0.9);
    expect(Math.abs(measured - sent) / sent).toBeLessThan(0.1);
  });

  it('counts every request answered, less at most what the killed worker had not reported', async () => {
    const counted = value(await prometheus.query(`sum(${REQUESTS})`, end));
    const lost = load.completed.length - counted;
    expect(lost).toBeGreaterThanOrEqual(0);
    // The primary holds what a worker had at the last scrape: a kill loses at most what came after.
    expect(lost).toBeLessThanOrEqual(answered(killedAt - 2 * SCRAPE_MS, killedAt));
  });

  it('keeps the merged native latency histogram exact: it counts what the counter counts, and never goes down', async () => {
    const latency = `app_request_latency_seconds{job="${JOB}",endpoint="/users/:id"}`;
    const counter = `app_request_count_total{job="${JOB}",endpoint="/users/:id"}`;
    expect(value(await prometheus.query(`histogram_count(${latency})`, end))).toBe(
      value(await prometheus.query(`sum(${counter})`, end)),
    );
    const [series] = await prometheus.samples(`${latency}[${wholeRun()}]`, end);
    const counts = (
      (series as unknown as { histograms?: Array<[number, { count: string }]> })?.histograms ?? []
    ).map(([, h]) => Number(h.count));
    expect(counts.length).toBeGreaterThan(20);
    const drops = counts.filter((c, i) => i > 0 && c < (counts[i - 1] as number));
    expect(drops).toEqual([]);
  });

  it('is scraped without a failure, the kill included', async () => {
    expect(
      value(await prometheus.query(`min_over_time(up{job="${JOB}"}[${wholeRun()}])`, end)),
    ).toBe(1);
  });
});
