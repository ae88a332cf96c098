import { panelQueries } from './helpers/dashboard';
import { startExampleApp, type ExampleApp } from './helpers/example-app';
import { startPrometheus, type Prometheus } from './helpers/prometheus';
import { waitFor } from './helpers/processes';

/*
 * Native histograms end to end: the example app with LATENCY_HISTOGRAM, scraped by Debian's
 * Prometheus 2.42 with `--enable-feature=native-histograms` (which asks for the protobuf format),
 * and, for `both`, by a second Prometheus without it (OpenMetrics, classic buckets only).
 */

/** Spread out over four octaves, five requests each: known quantiles, several scales apart. */
const SLEEPS_MS = [100, 200, 400, 800, 1600].flatMap((ms) => [ms, ms, ms, ms, ms]);
const SERIES = 'app_request_latency_seconds{endpoint="/slow"}';

interface NativeHistogram {
  count: string;
  sum: string;
  /** [boundary rule, lower, upper, count] */
  buckets?: Array<[number, string, string, string]>;
}

/** The q-quantile of sorted `values`, as the rank Prometheus interpolates towards. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

/** Sends the requests all at once; returns each one's time as the client saw it, in seconds. */
async function sendSlow(app: ExampleApp): Promise<number[]> {
  return Promise.all(
    SLEEPS_MS.map(async (ms) => {
      const started = performance.now();
      const res = await fetch(`${app.url}/slow?ms=${ms}`);
      await res.text();
      expect(res.status).toBe(200);
      return (performance.now() - started) / 1000;
    }),
  );
}

/** The app's own count and sum of the series, from its text exposition. */
async function recorded(app: ExampleApp): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`http://${app.metricsTarget}/metrics`)).text();
  const value = (name: string): number => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && l.includes('endpoint="/slow"'));
    if (line === undefined) throw new Error(`no ${name} for /slow in:\n${text}`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return {
    count: value('app_request_latency_seconds_count'),
    sum: value('app_request_latency_seconds_sum'),
  };
}

describe('LATENCY_HISTOGRAM=native scraped by Prometheus with native histograms', () => {
  let app: ExampleApp | undefined;
  let prometheus: Prometheus | undefined;
  afterAll(async () => {
    await prometheus?.stop();
    await app?.stop();
  });

  it('stores one native series whose count, sum and quantiles are the requests sent', async () => {
    app = await startExampleApp({ LATENCY_HISTOGRAM: 'native' });
    prometheus = await startPrometheus({
      jobs: { app: [app.metricsTarget] },
      flags: ['--enable-feature=native-histograms'],
    });
    const client = await sendSlow(app);
    const { count, sum } = await recorded(app);
    expect(count).toBe(SLEEPS_MS.length);

    // Once Prometheus has scraped the last request.
    const server = prometheus;
    let histogram: NativeHistogram | undefined;
    const stored = await waitFor(async () => {
      const [series] = await server.query(SERIES);
      histogram = (series as unknown as { histogram?: [number, NativeHistogram] } | undefined)
        ?.histogram?.[1];
      return histogram !== undefined && Number(histogram.count) === count;
    }, 20000);
    expect(stored).toBe(true);
    // One series: no classic buckets beside it.
    expect(await server.query('app_request_latency_seconds_bucket')).toEqual([]);
    const [countResult] = await server.query(`histogram_count(${SERIES})`);
    expect(Number(countResult?.value[1])).toBe(SLEEPS_MS.length);
    const [sumResult] = await server.query(`histogram_sum(${SERIES})`);
    expect(Number(sumResult?.value[1])).toBeCloseTo(sum, 9);

    // Each recorded latency lies between the sleep asked for and the time the client waited, so
    // each quantile of them lies between those of the two; Prometheus' estimate lies in the
    // bucket of the true one, whose width is the schema's relative error.
    const widest = Math.max(
      ...(histogram?.buckets ?? []).map(([, lower, upper]) =>
        Number(lower) > 0 ? Number(upper) / Number(lower) : 1,
      ),
    );
    expect(widest).toBeGreaterThan(1);
    expect(widest).toBeLessThan(1.2);
    const asked = SLEEPS_MS.map((ms) => ms / 1000).sort((a, b) => a - b);
    const waited = [...client].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const [estimate] = await server.query(`histogram_quantile(${q}, ${SERIES})`);
      const value = Number(estimate?.value[1]);
      expect([q, value]).toEqual([q, expect.any(Number)]);
      expect(value).toBeGreaterThanOrEqual(quantile(asked, q) / widest);
      expect(value).toBeLessThanOrEqual(quantile(waited, q) * widest);
    }
  });
});

describe('LATENCY_HISTOGRAM=both', () => {
  let app: ExampleApp | undefined;
  const servers: Prometheus[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await app?.stop();
  });

  it('gives the native series to a protobuf scrape and the classic buckets to a text one', async () => {
    app = await startExampleApp({ LATENCY_HISTOGRAM: 'both' });
    const native = await startPrometheus({
      jobs: { app: [app.metricsTarget] },
      flags: ['--enable-feature=native-histograms'],
    });
    servers.push(native);
    const text = await startPrometheus({ jobs: { app: [app.metricsTarget] } });
    servers.push(text);
    /** Whether both servers have scraped `count` requests. */
    const scraped = (count: number) =>
      waitFor(async () => {
        const [series] = await native.query(`histogram_count(${SERIES})`);
        const [classic] = await text.query(
          `app_request_latency_seconds_bucket{endpoint="/slow",le="+Inf"}`,
        );
        return Number(series?.value[1]) === count && Number(classic?.value[1]) === count;
      }, 20000);
    // Two rounds, a scrape apart, so that the dashboard's rates see the second one's increase.
    await sendSlow(app);
    expect(await scraped(SLEEPS_MS.length)).toBe(true);
    await sendSlow(app);
    const { count } = await recorded(app);
    expect(count).toBe(2 * SLEEPS_MS.length);
    expect(await scraped(count)).toBe(true);
    // The classic buckets, under their OpenMetrics bounds, count the 100 ms requests by 0.25 s.
    const [quarter] = await text.query(
      `app_request_latency_seconds_bucket{endpoint="/slow",le="0.25"}`,
    );
    expect(Number(quarter?.value[1])).toBeGreaterThanOrEqual(5);
    // The text scrape has no native series: its histogram_count is the classic _count's absence.
    expect(await text.query(`histogram_count(${SERIES})`)).toEqual([]);

    // The dashboard's native panels read the native series (and nothing of the text scrape's).
    const queries = panelQueries(
      {
        job: 'app',
        instance: app.metricsTarget,
        endpoint: '/slow',
        method: '.*',
        quantile: '0.9',
        __rate_interval: '1m',
      },
      true,
    );
    expect(queries.map((q) => q.panel)).toEqual([
      'Latency percentile ($quantile) by endpoint (native histograms)',
      'Average latency by endpoint (native histograms)',
    ]);
    for (const { panel, expr } of queries) {
      const [series] = await native.query(expr);
      expect([panel, series?.metric]).toEqual([panel, { endpoint: '/slow' }]);
      const seconds = Number(series?.value[1]);
      expect([panel, seconds > 0.1 && seconds < 3]).toEqual([panel, true]);
      expect(await text.query(expr)).toEqual([]);
    }
  });
});
