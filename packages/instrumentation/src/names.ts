/**
 * The public constants of the names the package emits, read from the catalogue (so they cannot
 * drift from what is recorded): each group maps a key to the series' Prometheus name, or, in
 * `SEMCONV_METRICS`, to its name under the semantic conventions.
 */

import {
  CATALOGUE,
  ENTRIES,
  NAMINGS,
  seriesOf,
  type CatalogueEntry,
  type ClusterMerge,
} from './catalogue.js';

export { METER_NAME, NAMINGS, type ClusterMerge, type Naming } from './catalogue.js';

type Group = Readonly<Record<string, CatalogueEntry>>;

type PrometheusNames<G> = {
  readonly [K in keyof G]: G[K] extends { prometheus: { name: infer N } } ? N : never;
};

type InstrumentNames<G> = {
  readonly [K in keyof G]: G[K] extends { prometheus: { instrument: infer I } }
    ? I
    : G[K] extends { prometheus: { name: infer N } }
      ? N
      : never;
};

function mapGroup<G extends Group>(group: G, name: (entry: CatalogueEntry) => string) {
  return Object.fromEntries(Object.entries(group).map(([key, entry]) => [key, name(entry)]));
}

const prometheusNames = <G extends Group>(group: G) =>
  mapGroup(group, (e) => e.prometheus.name) as PrometheusNames<G>;

/** Prometheus series names of the app, as they appear in the exposition (counters gain `_total`). */
export const METRICS: PrometheusNames<typeof CATALOGUE.app> = prometheusNames(CATALOGUE.app);

/** The app's instrument names, as recorded through the OpenTelemetry API (Views rename them). */
export const INSTRUMENTS: InstrumentNames<typeof CATALOGUE.app> = mapGroup(
  CATALOGUE.app,
  (e) => e.prometheus.instrument ?? e.prometheus.name,
) as InstrumentNames<typeof CATALOGUE.app>;

/** Series of the metrics endpoint about itself (the same names in both namings). */
export const ENDPOINT_METRICS: PrometheusNames<typeof CATALOGUE.endpoint> = prometheusNames(
  CATALOGUE.endpoint,
);

/** Series of the primary in cluster mode, about the workers it gathers from. */
export const CLUSTER_METRICS: PrometheusNames<typeof CATALOGUE.cluster> = prometheusNames(
  CATALOGUE.cluster,
);

/**
 * Process series: the names every Prometheus client library uses, so existing dashboards work.
 * Counters are named without `_total`; the exporter adds it.
 */
export const PROCESS_METRICS: PrometheusNames<typeof CATALOGUE.process> = prometheusNames(
  CATALOGUE.process,
);

/** Node.js runtime series: the counterparts of flask_prometheus_metrics' `python_info` and `python_gc_*`. */
export const NODEJS_METRICS: PrometheusNames<typeof CATALOGUE.nodejs> = prometheusNames(
  CATALOGUE.nodejs,
);

type Entries = {
  [G in keyof typeof CATALOGUE]: (typeof CATALOGUE)[G][keyof (typeof CATALOGUE)[G]];
}[keyof typeof CATALOGUE];

type SemconvPairs = Entries extends infer E
  ? E extends { semconv: { key: infer K extends string; name: infer N } }
    ? [K, N]
    : never
  : never;

/**
 * Instrument names of `naming: 'semconv'`, from OpenTelemetry's semantic conventions for HTTP
 * servers, processes, V8 and Node.js. The series that the conventions do not describe keep their
 * Prometheus names in that mode too (see the catalogue).
 */
export const SEMCONV_METRICS = Object.fromEntries(
  ENTRIES.flatMap((entry) =>
    typeof entry.semconv === 'object' && 'key' in entry.semconv
      ? [[entry.semconv.key, entry.semconv.name]]
      : [],
  ),
) as { readonly [P in SemconvPairs as P[0]]: P[1] };

/**
 * The gauges (and up-down counters) that are not per process, by the name they are exported
 * under, in both namings: how a cluster's primary merges them. Counters and histograms are always
 * `total`; any other gauge is `worker`.
 */
export const CLUSTER_GAUGE_MERGE: Readonly<Record<string, Exclude<ClusterMerge, 'total'>>> =
  Object.fromEntries(
    ENTRIES.flatMap((entry) =>
      NAMINGS.flatMap((naming) => {
        const series = seriesOf(entry, naming);
        return series !== undefined &&
          (series.kind === 'gauge' || series.kind === 'updown') &&
          entry.merge !== 'worker' &&
          entry.merge !== 'total'
          ? [[series.name, entry.merge]]
          : [];
      }),
    ),
  );
