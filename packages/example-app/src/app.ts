import express, { type Express } from 'express';
import {
  registerMetrics,
  type MetricsHandle,
  type RegisterMetricsOptions,
} from 'express-otel-metrics';

/** The longest `/slow?ms=` the app agrees to sleep, so a request cannot hold it up for long. */
const MAX_SLOW_MS = 5000;

/**
 * The example app: the counterpart of the seed's example, with a parameterised route, a POST route,
 * a nested router with parameters, a route that throws and a slow route.
 */
export function createApp(options: RegisterMetricsOptions = {}): {
  app: Express;
  metrics: MetricsHandle;
} {
  const app = express();
  const metrics = registerMetrics(app, { appVersion: 'v0.1.2', appConfig: 'staging', ...options });

  app.get('/', (_req, res) => {
    res.send('Test');
  });

  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });

  app.post('/users', (_req, res) => {
    res.status(201).json({ created: true });
  });

  const items = express.Router({ mergeParams: true });
  items.get('/items/:itemId', (req, res) => {
    const { orderId, itemId } = req.params as Record<string, string>;
    res.json({ orderId, itemId });
  });
  app.use('/api/orders/:orderId', items);

  app.get('/error', () => {
    throw new Error('the example route that fails');
  });

  app.get('/slow', (req, res) => {
    const asked = Number(req.query.ms ?? 300);
    const ms = Number.isFinite(asked) ? Math.min(Math.max(asked, 0), MAX_SLOW_MS) : 300;
    setTimeout(() => res.send(`slept ${ms} ms`), ms);
  });

  return { app, metrics };
}
