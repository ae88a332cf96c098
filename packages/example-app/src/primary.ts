import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics, type ClusterPrimaryOptions } from 'express-otel-metrics';

/**
 * The primary of `WORKERS=N`: serves the metrics of the whole cluster on the metrics port, keeps
 * N workers running the app on `port`, and on SIGINT or SIGTERM lets them finish before exiting.
 */
export function runPrimary(count: number, port: number, options: ClusterPrimaryOptions): void {
  const metrics = serveClusterMetrics(options);
  metrics.ready.then(
    () => {
      if (metrics.url !== undefined) console.log(`metrics on ${metrics.url}`);
    },
    // The workers keep serving without the metrics endpoint; the reason was already printed.
    () => undefined,
  );

  const live = new Set<Worker>();
  const listened = new WeakSet<Worker>();
  let started = 0;
  let stopping = false;
  let allGone = (): void => undefined;
  const gone = new Promise<void>((resolve) => (allGone = resolve));

  function fork(): void {
    const worker = cluster.fork();
    live.add(worker);
    worker.once('listening', () => {
      listened.add(worker);
      if (++started === count) {
        console.log(`example app on http://localhost:${port} (${count} workers)`);
      }
    });
  }

  function stop(exitCode: number): void {
    if (stopping) return;
    stopping = true;
    // SIGTERM rather than worker.kill(), which would first close the channel that the workers
    // send their last counts over.
    for (const worker of live) worker.process.kill('SIGTERM');
    if (live.size === 0) allGone();
    Promise.all([metrics.shutdown(), gone]).then(
      () => process.exit(exitCode),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  }

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    if (stopping) {
      if (live.size === 0) allGone();
      return;
    }
    const how = signal ?? `code ${code}`;
    if (!listened.has(worker)) {
      // It would fail the same way again (a port in use, a bad setting): stop rather than fork
      // in a loop.
      console.error(`worker ${worker.process.pid} exited (${how}) before it listened; stopping`);
      stop(1);
      return;
    }
    console.error(`worker ${worker.process.pid} exited (${how}); forking a replacement`);
    fork();
  });
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));

  for (let i = 0; i < count; i++) fork();
}
