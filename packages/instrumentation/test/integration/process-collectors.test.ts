import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MetricsHandle } from '../../src/index';
import { hasProc } from '../../src/platform/proc';
import { valueOf } from '../helpers/exposition';
import { read, standalone } from '../helpers/metrics';

const linux = hasProc();
const onLinux = linux ? it : it.skip;

function busy(ms: number): void {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  if (x < 0) throw new Error('unreachable');
}

describe('process series', () => {
  let metrics: MetricsHandle;
  beforeEach(() => {
    metrics = standalone();
  });
  afterEach(() => metrics.shutdown());

  it('process_cpu_seconds_total is user + system, matches process.cpuUsage() and grows when busy', async () => {
    const before = process.cpuUsage();
    const text1 = await metrics.scrape();
    const after = process.cpuUsage();
    const total = valueOf(text1, 'process_cpu_seconds_total');
    const user = valueOf(text1, 'process_cpu_user_seconds_total');
    const system = valueOf(text1, 'process_cpu_system_seconds_total');
    expect(total).toBeCloseTo(user + system, 6);
    expect(total).toBeGreaterThanOrEqual((before.user + before.system) / 1e6);
    expect(total).toBeLessThanOrEqual((after.user + after.system) / 1e6);
    expect(user).toBeGreaterThanOrEqual(before.user / 1e6);
    expect(user).toBeLessThanOrEqual(after.user / 1e6);

    busy(300);
    const grown = await read(metrics, 'process_cpu_seconds_total');
    // 300 ms of wall time on one thread; the machine may steal some of it.
    expect(grown - total).toBeGreaterThan(0.15);
    expect(grown - total).toBeLessThan(2);
  });

  it('process_resident_memory_bytes is the RSS', async () => {
    const rss = await read(metrics, 'process_resident_memory_bytes');
    const now = process.memoryUsage.rss();
    expect(Math.abs(rss - now) / now).toBeLessThan(0.2);
  });

  it('process_start_time_seconds is within a second of the real process start', async () => {
    const start = await read(metrics, 'process_start_time_seconds');
    // The value is the wall clock at start and stays fixed, so that changes() counts restarts only.
    // The references below read the wall clock now: a step of it since the start (a fresh machine
    // setting its clock, once 12.5 s in CI) moves them and not the value, so it is taken out.
    const step = (Date.now() - (performance.timeOrigin + performance.now())) / 1000;
    if (linux) {
      // Field 22 of /proc/self/stat: start time in clock ticks after boot.
      const stat = readFileSync('/proc/self/stat', 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[19]);
      const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
      const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
      expect(Math.abs(start + step - (btime + ticks / hz))).toBeLessThan(1);
    }
    expect(Math.abs(start + step - (Date.now() / 1000 - process.uptime()))).toBeLessThan(1);
  });

  onLinux('process_open_fds rises by N when N files are opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fds-'));
    const n = 25;
    const before = await read(metrics, 'process_open_fds');
    const fds = Array.from({ length: n }, (_, i) => openSync(join(dir, `f${i}`), 'w'));
    try {
      expect(await read(metrics, 'process_open_fds')).toBe(before + n);
    } finally {
      for (const fd of fds) closeSync(fd);
      rmSync(dir, { recursive: true });
    }
    expect(await read(metrics, 'process_open_fds')).toBe(before);
  });

  onLinux('process_max_fds is the soft limit prlimit reports', async () => {
    const soft = spawnSync(
      'prlimit',
      ['--pid', String(process.pid), '--nofile', '--output=SOFT', '--noheadings'],
      {
        encoding: 'utf8',
      },
    );
    expect(soft.status).toBe(0);
    expect(await read(metrics, 'process_max_fds')).toBe(Number(soft.stdout.trim()));
  });

  onLinux('process_virtual_memory_bytes is VmSize', async () => {
    const vm = await read(metrics, 'process_virtual_memory_bytes');
    const vmSize =
      Number(/^VmSize:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
    expect(Math.abs(vm - vmSize) / vmSize).toBeLessThan(0.05);
    expect(vm).toBeGreaterThan(process.memoryUsage.rss());
  });
});
