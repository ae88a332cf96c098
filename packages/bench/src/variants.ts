/** The apps under test, in the order they run in each round. */
export const VARIANTS = ['bare', 'prom-bundle', 'otel-auto', 'ours'] as const;
export type Variant = (typeof VARIANTS)[number];

export const LABELS: Record<Variant, string> = {
  bare: 'bare Express',
  'prom-bundle': 'express-prom-bundle + default metrics',
  'otel-auto': 'OTel http + express auto-instrumentation',
  ours: 'express-otel-metrics (defaults)',
};

/** Routes, methods and statuses of the high-cardinality scrape benchmark. */
export const CARDINALITY = {
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  observations: 10,
  /** prom-client's histogram has a status label: 200 routes x 5 methods x 2 statuses. */
  'prom-bundle': { routes: 200, statuses: [200, 500] },
  /** The stock OTel exporter's histogram also keeps the status: 400 x 5 x 1. */
  'otel-auto': { routes: 400, statuses: [200] },
  /** Ours has no status on the histogram: 400 x 5, two statuses on the counter. */
  ours: { routes: 400, statuses: [200, 500] },
} as const;

export type ScrapeVariant = 'prom-bundle' | 'otel-auto' | 'ours';
export const SCRAPE_VARIANTS: readonly ScrapeVariant[] = ['prom-bundle', 'otel-auto', 'ours'];
