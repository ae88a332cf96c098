/*
 * Cluster mode with the primary gathering on an interval (gatherInterval): scrapes served from
 * the last round without asking the workers, exact once an interval has passed, the same series
 * as when every scrape asks, and a worker killed outright losing only its last interval.
 */
import { request } from 'node:http';
import { serveClusterMetrics } from '../../src/index';
import { startCluster, type ClusterProcess } from '../helpers/cluster-process';
import { parseExposition, samplesOf, valueOf } from '../helpers/exposition';
import { sleep, until } from '../helpers/wait';

jest.setTimeout(120_000);

const INTERVAL = 1000;
/**
 * How long past the documented bound (gatherInterval plus one round) a test allows: the round
 * itself (a few ms here, more on a loaded machine) and the brief reuse of an HTTP answer.
 */
const SLACK_MS = 300;

interface Answer {
  /** When it was answered (`performance.now()`). */
  at: number;
  pid: string;
}

/**
 * GET /users/:id at `perSecond`, in a batch every 10 ms, for `ms`; `during` runs once the load
 * has run `at` ms. Every request that got no answer is counted in `failed`. A connection per
 * request, so that the primary deals the requests out to the workers in turn.
 */
async function steady(
  base: string,
  perSecond: number,
  ms: number,
  during?: { at: number; run: () => Promise<void> },
): Promise<{ answers: Answer[]; failed: number }> {
  const answers: Answer[] = [];
  let failed = 0;
  let sent = 0;
  const inFlight: Array<Promise<void>> = [];
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(`${base}/users/${sent++}`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => {
          answers.push({ at: performance.now(), pid: String(res.headers['x-worker-pid']) });
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      // One the kill cut off may otherwise wait for ever.
      req.setTimeout(5000, () => req.destroy());
      req.end();
    });
  const total = Math.round((perSecond * ms) / 1000);
  const start = performance.now();
  let ran: Promise<void> | undefined;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * perSecond) / 1000));
    while (sent < due) inFlight.push(one());
    if (during !== undefined && ran === undefined && performance.now() - start >= during.at) {
      ran = during.run();
    }
    await sleep(10);
  }
  await Promise.all([...inFlight, ran]);
  return { answers, failed };
}

async function scrape(cluster: ClusterProcess): Promise<string> {
  const res = await fetch(cluster.metricsUrl);
  expect(res.status).toBe(200);
  return res.text();
}

const requests = (text: string): number =>
  samplesOf(text, 'app_request_count_total').reduce((a, s) => a + s.value, 0);

describe('cluster mode with gatherInterval', () => {
  let cluster: ClusterProcess | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('serves the counts from its rounds, exact an interval after the last request, asking no worker at a scrape', async () => {
    cluster = await startCluster({ workers: 2, gatherInterval: INTERVAL });
    const { answers, failed } = await steady(cluster.appUrl, 400, 1500);
    expect(failed).toBe(0);
    const last = performance.now();
    const before = await cluster.snapshots();
    const scrapes: Array<{ at: number; count: number }> = [];
    while (performance.now() - last < 2.5 * INTERVAL) {
      const at = performance.now() - last;
      scrapes.push({ at, count: requests(await scrape(cluster)) });
      await sleep(50);
    }
    const asked = (await cluster.snapshots()) - before;

    expect(scrapes.length).toBeGreaterThan(25);
    // Never more than was answered; all of it once the bound has passed, and from then on.
    expect(scrapes.filter((s) => s.count > answers.length)).toEqual([]);
    const exact = scrapes.findIndex((s) => s.count === answers.length);
    expect(scrapes[exact]?.at).toBeLessThanOrEqual(INTERVAL + SLACK_MS);
    expect(scrapes.slice(exact).map((s) => s.count)).toEqual(
      scrapes.slice(exact).map(() => answers.length),
    );
    // The rounds of the timer, one about every interval, each answered by both workers; a scrape
    // that asked would have added two more.
    expect(asked).toBeLessThanOrEqual(2 * 4);
    expect(asked).toBeLessThan(scrapes.length);
  });

  it('gives the series and counts that asking at each scrape gives', async () => {
    const texts: string[] = [];
    for (const gatherInterval of [0, INTERVAL]) {
      const running = await startCluster({ workers: 2, gatherInterval });
      try {
        const { answers } = await steady(running.appUrl, 400, 1000);
        expect(answers).toHaveLength(400);
        await sleep(INTERVAL + SLACK_MS);
        texts.push(await scrape(running));
      } finally {
        await running.stop();
      }
    }
    // Every series, by name and labels: those per process included (worker="0", "1", "primary");
    // but the kinds of handles open at the moment, which come and go, and the kinds of garbage
    // collection that have run so far (a major one in one run and not in the other).
    const series = (text: string): string[] =>
      parseExposition(text)
        .filter(
          (s) =>
            s.name !== 'nodejs_active_resources' &&
            !s.name.startsWith('nodejs_gc_duration_seconds'),
        )
        .map((s) => `${s.name}${JSON.stringify(s.labels)}`)
        .sort();
    const [asking, gathering] = texts as [string, string];
    expect(series(gathering)).toEqual(series(asking));
    expect(samplesOf(gathering, 'process_start_time_seconds').map((s) => s.labels.worker)).toEqual(
      expect.arrayContaining(['0', '1', 'primary']),
    );
    // The values that do not depend on the processes' timing.
    for (const name of [
      'app_request_count_total',
      'app_request_latency_seconds_count',
      'app_version_info',
      'nodejs_version_info',
      'app_cluster_workers',
      'app_cluster_workers_unresponsive',
    ]) {
      expect([name, samplesOf(gathering, name)]).toEqual([name, samplesOf(asking, name)]);
    }
    expect(requests(gathering)).toBe(400);
  });

  it('loses only the last interval of a worker killed outright, where asking at scrapes loses all since the last one', async () => {
    const RATE = 200;
    const KILL_AT_MS = 4000;
    cluster = await startCluster({ workers: 2, gatherInterval: INTERVAL });
    const running = cluster;
    const [victim] = (await running.pids()).map(String);
    // The last scrape before the kill: all that asking at scrapes would keep of the victim.
    expect(requests(await scrape(running))).toBe(0);
    let killedAt = 0;
    const { answers, failed } = await steady(running.appUrl, RATE, KILL_AT_MS + 1000, {
      at: KILL_AT_MS,
      run: async () => {
        killedAt = performance.now();
        await running.kill(0);
      },
    });
    // The replacement reports, and a round past the bound has the survivor's counts.
    await until(
      () => scrape(running),
      (text) => valueOf(text, 'app_cluster_workers') === 2,
      15_000,
    );
    await sleep(INTERVAL + SLACK_MS);
    const counted = requests(await scrape(running));

    const byVictim = answers.filter((a) => a.pid === victim);
    const lost = answers.length - counted;
    // A request in flight at the kill may have been counted and never answered.
    expect(counted).toBeLessThanOrEqual(answers.length + failed);
    // At most what the victim answered in the interval (and one round) before it died ...
    const lastInterval = byVictim.filter((a) => a.at > killedAt - INTERVAL - SLACK_MS).length;
    expect(lost).toBeLessThanOrEqual(lastInterval);
    // ... a fraction of what it answered since the last scrape, which asking at scrapes loses.
    expect(byVictim.length).toBeGreaterThan(0.4 * RATE * (KILL_AT_MS / 1000));
    expect(lost).toBeLessThan(byVictim.length / 2);
  });
});

describe('the gatherInterval option', () => {
  it.each<[unknown, string]>([
    [-1, '-1'],
    [0.5, '0.5'],
    ['1000', '"1000"'],
  ])('refuses %p with a TypeError that names it', (gatherInterval, shown) => {
    const setup = (): unknown => serveClusterMetrics({ gatherInterval } as never);
    expect(setup).toThrow(TypeError);
    expect(setup).toThrow(
      `\`gatherInterval\` must be an integer number of milliseconds from 0 (off) to 2147483647, got ${shown}`,
    );
  });
});
