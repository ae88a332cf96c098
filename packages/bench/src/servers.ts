import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isTraced, type Variant } from './variants.js';

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Server {
  variant: Variant;
  pid: number;
  url: string;
  /** Where its metrics are scraped (undefined for bare Express). */
  metricsUrl: string | undefined;
  /** Its event-loop probe (loop-probe.ts), in the series-count benchmark's apps. */
  probeUrl: string;
  stop(): Promise<void>;
}

/** Starts one variant on core `core`, as its own process, and waits until it listens. */
export async function startServer(variant: Variant, core: number, mode = ''): Promise<Server> {
  const [port, metricsPort, probePort] = [await freePort(), await freePort(), await freePort()];
  const series = mode.startsWith('series:') ? Number(mode.slice('series:'.length)) : 0;
  const preload =
    variant === 'otel-auto'
      ? ['--require', join(__dirname, 'otel-preload.js')]
      : isTraced(variant)
        ? ['--require', join(__dirname, 'otel-trace-preload.js')]
        : [];
  const child = spawn(
    'taskset',
    [
      '-c',
      String(core),
      process.execPath,
      ...preload,
      join(__dirname, 'server.js'),
      variant,
      String(port),
      String(metricsPort),
      mode,
    ],
    {
      env: {
        ...process.env,
        BENCH_METRICS_PORT: String(metricsPort),
        BENCH_PROBE_PORT: String(probePort),
        // Room for the counters' two statuses per histogram series (the stock exporter's).
        BENCH_CARDINALITY_LIMIT: series > 0 ? String(2 * series + 10) : '',
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  started.add(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`ready ${variant}`)) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`${variant} exited with ${code} before listening`)),
    );
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    variant,
    // taskset execs the program, so the pid is the server's own.
    pid: child.pid as number,
    url,
    probeUrl: `http://127.0.0.1:${probePort}`,
    metricsUrl:
      variant === 'bare' || variant === 'bare-traced'
        ? undefined
        : variant === 'prom-bundle'
          ? `${url}/metrics`
          : `http://127.0.0.1:${metricsPort}/metrics`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      started.delete(child);
    },
  };
}
