import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { buildMain, childPids, freePort, sample, text, waitUntil } from './helpers';

/** The sum of every `app_request_count_total` sample of the exposition. */
function requestsCounted(exposition: string): number {
  return exposition
    .split('\n')
    .filter((l) => l.startsWith('app_request_count_total{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** `n` requests, ten at a time, each on a connection of its own so that the workers share them. */
async function send(base: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    const statuses = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, async (_, j) => {
        const { status } = await text(`${base}/users/${i + j}`);
        return status;
      }),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
  }
}

describe('the example app with WORKERS', () => {
  let main: string;
  beforeAll(() => {
    main = buildMain();
  });

  it('serves one exposition for the whole cluster, keeps the counts of a worker stopped with SIGTERM, and exits 0', async () => {
    const [appPort, metricsPort] = [await freePort(), await freePort()];
    const child: ChildProcess = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        WORKERS: '2',
        PORT: String(appPort),
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid as number;
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const base = `http://127.0.0.1:${appPort}`;
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    try {
      await waitUntil(() => out.includes('example app on') && out.includes('metrics on'), 10000);
      expect(out).toContain(`metrics on ${metricsUrl}`);
      expect(out).toContain(`example app on http://localhost:${appPort} (2 workers)`);
      const [first, second] = childPids(pid);
      expect(childPids(pid)).toHaveLength(2);

      // No scrape until the end: what the stopped worker counted reaches the primary only in the
      // last snapshot it sends on its way out.
      await send(base, 100);
      process.kill(first as number, 'SIGTERM');
      await waitUntil(() => {
        const now = childPids(pid);
        return now.length === 2 && !now.includes(first as number);
      });
      const now = childPids(pid);
      expect(now).toHaveLength(2);
      expect(now).toContain(second);
      expect(now).not.toContain(first);
      await waitUntil(() => out.includes('forking a replacement'));
      expect(out).toContain(`worker ${first} exited (code 0); forking a replacement`);
      await send(base, 100);

      let exposition = '';
      await waitUntil(async () => {
        exposition = (await text(metricsUrl)).body;
        return (
          requestsCounted(exposition) >= 200 && sample(exposition, 'app_cluster_workers') === 2
        );
      });
      expect(requestsCounted(exposition)).toBe(200);
      expect(
        sample(
          exposition,
          'app_request_count_total{method="GET",endpoint="/users/:id",http_status="200"}',
        ),
      ).toBe(200);
      expect(sample(exposition, 'app_cluster_workers')).toBe(2);
      expect(sample(exposition, 'app_cluster_workers_unresponsive')).toBe(0);
      for (const worker of ['primary', '0', '1']) {
        expect(
          sample(exposition, `process_start_time_seconds{worker="${worker}"}`),
        ).toBeGreaterThan(0);
      }
      expect(sample(exposition, 'app_version_info{version="v0.1.2",config="staging"}')).toBe(1);

      const workers = childPids(pid);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The primary waits for its workers: none is left behind.
      expect(workers.filter(isAlive)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it.each(['abc', '0', '1.5'])('refuses WORKERS=%s: says why and exits 1', (workers) => {
    const run = spawnSync(process.execPath, [main], {
      env: { ...process.env, WORKERS: workers, PORT: '0' },
      encoding: 'utf8',
      timeout: 10000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `WORKERS must be a whole number of worker processes, 1 or more; got "${workers}"\n`,
    );
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: no such process
  }
}
