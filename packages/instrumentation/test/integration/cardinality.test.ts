import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { KNOWN_METHODS, OTHER_METHOD, UNMATCHED_ENDPOINT } from '../../src/labels';
import { DEFAULT_LATENCY_BUCKETS } from '../../src/options/defaults';
import { labelValues, samplesOf, type Sample } from '../helpers/exposition';
import type { LoadOptions, LoadResult } from '../helpers/unmatched-load';

const MIB = 1024 * 1024;
const RSS_GROWTH_LIMIT = 20 * MIB;
const TIMEOUT_MS = 120_000;

// A failure names its seed; CARDINALITY_SEED replays that run.
const SEED = Number(process.env.CARDINALITY_SEED ?? Date.now()) >>> 0;

const OPTIONS: LoadOptions = {
  seed: SEED,
  total: 100_000,
  warmUp: 5_000,
  concurrency: 16,
  connectEvery: 1_000,
  instrumented: true,
};

/**
 * Runs the load in a Node process of its own. In the test process, jest's open-handle tracker
 * takes a stack trace for each async resource: the run would take minutes, and its bookkeeping
 * would be in the memory measured.
 */
function runLoad(options: LoadOptions): Promise<{ result?: LoadResult; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--require',
        join(__dirname, '..', 'helpers', 'ts-child.cjs'),
        join(__dirname, '..', 'helpers', 'unmatched-load.ts'),
        JSON.stringify(options),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let result: LoadResult | undefined;
    // It ends by itself only once everything it opened is closed; still running is a leak.
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS - 5_000);
    child.on('message', (message) => (result = message as LoadResult));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(result === undefined ? { code } : { result, code });
    });
  });
}

const byLabels = (a: Pick<Sample, 'labels'>, b: Pick<Sample, 'labels'>): number =>
  JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels));

const known = new Set(KNOWN_METHODS);

describe('cardinality under random unmatched traffic', () => {
  let run: { result?: LoadResult; code: number | null };
  let bare: { result?: LoadResult; code: number | null };
  beforeAll(async () => {
    run = await runLoad(OPTIONS);
    bare = await runLoad({ ...OPTIONS, instrumented: false });
  }, 2 * TIMEOUT_MS);

  const loaded = (): LoadResult => {
    expect({ seed: SEED, code: run.code, reported: run.result !== undefined }).toEqual({
      seed: SEED,
      code: 0,
      reported: true,
    });
    return run.result as LoadResult;
  };

  it('keeps one series per method label and status, all of them <unmatched>, counting every request', () => {
    const { seen, exposition } = loaded();
    const counts = samplesOf(exposition, 'app_request_count_total');
    const expected = seen.map(([method, status, value]) => ({
      name: 'app_request_count_total',
      labels: { method, endpoint: UNMATCHED_ENDPOINT, http_status: String(status) },
      value,
    }));
    expect([...counts].sort(byLabels)).toEqual(expected.sort(byLabels));
    expect(counts.reduce((n, s) => n + s.value, 0)).toBe(OPTIONS.total);

    const methods = labelValues(exposition, 'app_request_count_total', 'method');
    expect(methods.filter((m) => m !== OTHER_METHOD && !known.has(m))).toEqual([]);
    // Node's list has more methods than the package keeps, so some must have been folded.
    expect(methods).toContain(OTHER_METHOD);
    console.log(
      `cardinality: ${counts.length} count series for ${OPTIONS.total} requests (seed ${SEED})`,
    );
  });

  it('keeps one latency series per method label, with every request in it', () => {
    const { seen, exposition } = loaded();
    const perMethod = new Map<string, number>();
    for (const [method, , n] of seen) perMethod.set(method, (perMethod.get(method) ?? 0) + n);
    const latencyCounts = samplesOf(exposition, 'app_request_latency_seconds_count');
    expect(latencyCounts.map((s) => ({ labels: s.labels, value: s.value })).sort(byLabels)).toEqual(
      [...perMethod]
        .map(([method, value]) => ({ labels: { method, endpoint: UNMATCHED_ENDPOINT }, value }))
        .sort(byLabels),
    );
    expect(labelValues(exposition, 'app_request_latency_seconds_bucket', 'endpoint')).toEqual([
      UNMATCHED_ENDPOINT,
    ]);
    expect(samplesOf(exposition, 'app_request_latency_seconds_bucket')).toHaveLength(
      perMethod.size * (DEFAULT_LATENCY_BUCKETS.length + 1),
    );
  });

  it('never lets a CONNECT reach the app (Node drops it), so none is counted', () => {
    const { connects, exposition } = loaded();
    expect(connects).toHaveLength(OPTIONS.total / OPTIONS.connectEvery);
    expect(connects.filter((c) => c.reply !== '')).toEqual([]);
    expect(samplesOf(exposition, 'app_request_count_total', { method: 'CONNECT' })).toEqual([]);
  });

  // Node itself may grow under this load: Node 22 took about 60 MiB more RSS between the
  // warm-up and the end with or without the package (Node 24: none), outside the V8 heap. The
  // limit is on what the package adds to what the same app and load take without it.
  it(`adds no more than ${RSS_GROWTH_LIMIT / MIB} MiB of resident memory after the warm-up`, () => {
    const { rssAfterWarmUp, rssAtEnd, seconds } = loaded();
    expect({ code: bare.code, reported: bare.result !== undefined }).toEqual({
      code: 0,
      reported: true,
    });
    const without = bare.result as LoadResult;
    const mib = (bytes: number): number => Number((bytes / MIB).toFixed(1));
    const growth = rssAtEnd - rssAfterWarmUp;
    const bareGrowth = without.rssAtEnd - without.rssAfterWarmUp;
    const memory = {
      seed: SEED,
      requests: OPTIONS.total,
      seconds: Number(seconds.toFixed(1)),
      rssAfterWarmUpMiB: mib(rssAfterWarmUp),
      rssAtEndMiB: mib(rssAtEnd),
      growthMiB: mib(growth),
      withoutThePackageGrowthMiB: mib(bareGrowth),
    };
    console.log(`cardinality memory: ${JSON.stringify(memory)}`);
    // The figures are part of the compared value, so a failure prints them.
    expect({
      ...memory,
      withinLimit: growth - Math.max(bareGrowth, 0) <= RSS_GROWTH_LIMIT,
    }).toEqual({ ...memory, withinLimit: true });
  });
});
