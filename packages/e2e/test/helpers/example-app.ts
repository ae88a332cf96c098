import { join } from 'node:path';
import { freePort, start, waitFor, type Started } from './processes';

export interface ExampleApp {
  url: string;
  metricsTarget: string;
  /** The process started: the app, or with `WORKERS` the cluster's primary. */
  pid: number;
  stop(): Promise<void>;
  output(): string;
}

/**
 * The example app as users run it (`node dist/main.js`), on free loopback ports. The tiny young
 * generation makes V8 collect often, so GC series have data within a short run.
 */
export async function startExampleApp(env: NodeJS.ProcessEnv = {}): Promise<ExampleApp> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const main = join(__dirname, '..', '..', '..', 'example-app', 'dist', 'main.js');
  const app: Started = start(process.execPath, ['--max-semi-space-size=1', main], {
    PORT: String(port),
    OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    NODE_ENV: 'production',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  // Readiness from the app's own words (it prints both once listening), not a request: every
  // request counts in the test.
  const up = await waitFor(
    async () => app.output().includes('example app on') && app.output().includes('metrics on'),
    20000,
  );
  if (!up) {
    await app.stop();
    throw new Error(`the example app did not start:\n${app.output()}`);
  }
  return {
    url,
    metricsTarget: `127.0.0.1:${metricsPort}`,
    pid: app.child.pid as number,
    stop: app.stop,
    output: app.output,
  };
}
