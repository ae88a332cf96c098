import { STATUS_CODES } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import {
  registerMetrics,
  type MetricsHandle,
  type RegisterMetricsOptions,
} from 'express-otel-metrics';
import { SERVICE_NAME } from './service.js';

/** The longest `/slow?ms=` the app agrees to sleep, so a request cannot hold it up for long. */
const MAX_SLOW_MS = 5000;

/** The status an error asks for (`err.status`, as Express' own errors carry it), else 500. */
function statusOf(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599
    ? status
    : 500;
}

/**
 * Answers an error with its status and the status' name, as a service in production should: no
 * stack trace or file path for a client to read, and nothing on stderr for a client's bad input
 * (a malformed percent-encoding is a 400); a server error is logged, as Express logs it (not
 * under NODE_ENV=test). With NODE_ENV=development Express' own page, with the stack, is shown.
 */
function answerErrors(err: unknown, req: Request, res: Response, next: NextFunction): void {
  if (process.env.NODE_ENV === 'development' || res.headersSent) {
    next(err);
    return;
  }
  const status = statusOf(err);
  if (status >= 500 && req.app.get('env') !== 'test') console.error(err);
  res
    .status(status)
    .type('text/plain')
    .send(`${STATUS_CODES[status] ?? 'Error'}\n`);
}

/**
 * The example app: the counterpart of the seed's example, with a parameterised route, a POST route,
 * a nested router with parameters, a route that throws and a slow route.
 */
export function createApp(options: RegisterMetricsOptions = {}): {
  app: Express;
  metrics: MetricsHandle;
} {
  const app = express();
  const metrics = registerMetrics(app, {
    appVersion: 'v0.1.2',
    appConfig: 'staging',
    // The service's name in OTLP exports and `target_info`; the deployment may rename it.
    serviceName: process.env.OTEL_SERVICE_NAME || SERVICE_NAME,
    // Off by default; on here so that the dashboard's panels for them have data.
    inFlight: true,
    bodySizes: true,
    ...options,
  });

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

  app.use(answerErrors);

  return { app, metrics };
}
