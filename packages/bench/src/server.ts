// One benchmark app: `node server.js <variant> <port> <metricsPort> [cardinality | series:N]`.
import type { Request, Response } from 'express';
import express from 'express';
import promBundle from 'express-prom-bundle';
import { registerMetrics } from 'express-otel-metrics';
import { installLoopProbe } from './loop-probe.js';
import { CARDINALITY, isScrapeVariant, seriesLayout, type Variant } from './variants.js';

const [variant, port, metricsPort, mode] = process.argv.slice(2) as [
  Variant,
  string,
  string,
  string?,
];
const app = express();
/** With `series:N`, the app of the series-count benchmark (scrape-series.ts). */
const series = mode?.startsWith('series:') ? Number(mode.slice('series:'.length)) : undefined;
if (series !== undefined) installLoopProbe(Number(process.env.BENCH_PROBE_PORT));

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
    // The counter has two statuses per label set of the histogram: every series fits.
    ...(series !== undefined && { cardinalityLimit: 2 * series + 10 }),
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

if (series !== undefined && isScrapeVariant(variant)) {
  // Route templates in routers of 100, so that matching a request tries about 200 layers, not
  // one per series.
  const { groups, perGroup } = seriesLayout(variant, series);
  for (let g = 0; g < groups; g++) {
    const router = express.Router();
    for (let r = 0; r < perGroup; r++) {
      router.all(`/r${r}`, (req: Request, res: Response) => {
        res.status(req.query.s === '500' ? 500 : 200).send('ok');
      });
    }
    app.use(`/g${g}`, router);
  }
}

app.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${variant}`);
});

// A clean exit on SIGTERM, so `--cpu-prof` can write its profile.
process.once('SIGTERM', () => process.exit(0));
