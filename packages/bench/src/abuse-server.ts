// The app under `pnpm bench:abuse`: `node abuse-server.js <series> [timeoutMs]`. It fills its request
// histogram with <series> label sets by real requests to itself, then tells its parent (over IPC)
// its ports and the size of its exposition, and answers `memory` with its RSS and peak RSS.
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import express from 'express';
import { registerMetrics } from 'express-otel-metrics';
import { memory } from './proc.js';
import { sendAll } from './scrape.js';

/** Each route is one series per method. */
const ABUSE_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

const series = Number(process.argv[2] ?? 0);
const timeout = Number(process.argv[3] ?? 10_000);
const routes = Math.ceil(series / ABUSE_METHODS.length);

const app = express();
const metrics = registerMetrics(app, {
  endpoint: { host: '127.0.0.1', port: 0, timeout },
  cardinalityLimit: Math.max(2000, series + 1),
});
app.get('/ping', (_req: Request, res: Response) => {
  res.send('pong');
});
for (let r = 0; r < routes; r++) {
  app.all(`/route${r}`, (_req: Request, res: Response) => {
    res.send('ok');
  });
}

function populate(base: string): Promise<void> {
  const jobs = Array.from({ length: series }, (_, n): [string, string] => [
    ABUSE_METHODS[n % ABUSE_METHODS.length] as string,
    `/route${Math.floor(n / ABUSE_METHODS.length)}`,
  ]);
  return sendAll(base, jobs);
}

const server = app.listen(0, '127.0.0.1', () => {
  void (async () => {
    await metrics.ready;
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await populate(base);
    const bytes = Buffer.byteLength(await metrics.scrape());
    process.send?.({ type: 'ready', app: base, metrics: metrics.url, bytes });
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});

process.on('message', (message) => {
  if (message === 'memory') process.send?.({ type: 'memory', ...memory(process.pid) });
});
process.on('disconnect', () => process.exit(0));
