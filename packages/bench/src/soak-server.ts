// The app under soak, forked by soak.ts with --expose-gc: it answers `measure` over IPC with its
// memory after a full GC, so the measurement adds no request of its own.
import type { Request, Response } from 'express';
import express from 'express';
import { registerMetrics } from 'express-otel-metrics';

const app = express();
const metrics = process.argv.includes('--bare')
  ? undefined
  : registerMetrics(app, { endpoint: { host: '127.0.0.1', port: 0 } });

app.get('/users/:id', (req: Request, res: Response) => {
  const id = String(req.params.id);
  res.json({ id, name: `user ${id}` });
});
app.post('/users/:id/orders', (_req: Request, res: Response) => {
  res.status(201).end();
});

const send = (message: unknown): void => {
  process.send?.(message);
};

const server = app.listen(0, '127.0.0.1', () => {
  (metrics?.ready ?? Promise.resolve()).then(
    () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      send({ type: 'ready', app: `http://127.0.0.1:${port}`, metrics: metrics?.url });
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});

process.on('message', (message) => {
  if (message !== 'measure') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('soak-server needs --expose-gc');
  gc();
  // A second pass after the event loop turns collects what the first one only queued.
  setImmediate(() => {
    gc();
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    send({ type: 'memory', rss, heapUsed, heapTotal, external });
  });
});
process.on('disconnect', () => {
  server.close();
  void (metrics?.shutdown() ?? Promise.resolve()).then(() => process.exit(0));
});
