/** The apps under test with no tracer provider, in the order they run in each round. */
export const VARIANTS = ['bare', 'prom-bundle', 'otel-auto', 'ours'] as const;
/**
 * The apps under test with a tracer provider and the http instrumentation (otel-trace-preload.ts),
 * so that every request ends inside a sampled server span: what exemplars cost, against bare
 * Express traced alike, and ours with exemplars off, which looks up no span. They run after the
 * untraced ones in each round, in this order.
 */
export const TRACED_VARIANTS = ['bare-traced', 'ours-traced', 'ours-traced-no-exemplars'] as const;
export type UntracedVariant = (typeof VARIANTS)[number];
export type TracedVariant = (typeof TRACED_VARIANTS)[number];
export type Variant = UntracedVariant | TracedVariant;

export const LABELS: Record<Variant, string> = {
  bare: 'bare Express',
  'prom-bundle': 'express-prom-bundle + default metrics',
  'otel-auto': 'OTel http + express auto-instrumentation',
  ours: 'express-otel-metrics (defaults)',
  'bare-traced': 'bare Express + tracing',
  'ours-traced': 'express-otel-metrics (defaults, exemplars on) + tracing',
  'ours-traced-no-exemplars': 'express-otel-metrics (exemplars: false) + tracing',
};

/** Whether the app is started with the tracing preload. */
export const isTraced = (v: Variant): v is TracedVariant =>
  (TRACED_VARIANTS as readonly Variant[]).includes(v);

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

/** Whether the app serves the scrape benchmark's routes (the traced variants do not scrape). */
export const isScrapeVariant = (v: Variant): v is ScrapeVariant =>
  (SCRAPE_VARIANTS as readonly Variant[]).includes(v);

/** Route templates per router in the series-count benchmark. */
const ROUTES_PER_GROUP = 100;

/**
 * The routes of the series-count benchmark for `series` latency-histogram series: a label set of
 * ours is a route and a method, of the stock OTel exporter likewise (one status), of prom-client
 * a route, a method and one of two statuses, so prom-client has half the routes.
 */
export function seriesLayout(
  variant: ScrapeVariant,
  series: number,
): { groups: number; perGroup: number; statuses: readonly number[] } {
  const statuses = variant === 'prom-bundle' ? [200, 500] : [200];
  const routes = Math.max(1, Math.round(series / CARDINALITY.methods.length / statuses.length));
  const perGroup = Math.min(ROUTES_PER_GROUP, routes);
  return { groups: Math.ceil(routes / perGroup), perGroup, statuses };
}
