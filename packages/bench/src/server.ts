// One benchmark app: `node server.js <variant> <port> <metricsPort> [cardinality]`.
import type { Request, Response } from 'express';
import express from 'express';
import promBundle from 'express-prom-bundle';
import { registerMetrics } from 'express-otel-metrics';
import { CARDINALITY, isScrapeVariant, type Variant } from './variants.js';

const [variant, port, metricsPort, mode] = process.argv.slice(2) as [
  Variant,
  string,
  string,
  string?,
];
const app = express();

if (variant === 'prom-bundle') {
  app.use(
    promBundle({
      includeMethod: true,
      includePath: true,
      includeStatusCode: true,
      promClient: { collectDefaultMetrics: {} },
    }),
  );
} else if (
  variant === 'ours' ||
  variant === 'ours-traced' ||
  variant === 'ours-traced-no-exemplars'
) {
  const handle = registerMetrics(app, {
    endpoint: { host: '127.0.0.1', port: Number(metricsPort) },
    // Off, no span is looked up: what a traced app saves by turning exemplars off.
    ...(variant === 'ours-traced-no-exemplars' && { exemplars: false }),
  });
  handle.ready.catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

app.get('/users/:id', (req: Request, res: Response) => {
  const id = String(req.params.id);
  res.json({ id, name: `user ${id}`, email: `user${id}@example.com` });
});

if (mode === 'cardinality' && isScrapeVariant(variant)) {
  // Distinct route templates, so each one is a series of its own.
  for (let i = 0; i < CARDINALITY[variant].routes; i++) {
    app.all(`/route${i}`, (req: Request, res: Response) => {
      res.status(req.query.s === '500' ? 500 : 200).send('ok');
    });
  }
}

app.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${variant}`);
});

// A clean exit on SIGTERM, so `--cpu-prof` can write its profile.
process.once('SIGTERM', () => process.exit(0));
