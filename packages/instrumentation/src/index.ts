export { registerMetrics, type MetricsHandle } from './register.js';
export { createViews } from './views.js';
export { createPrometheusReader, type PrometheusReader } from './prometheus-reader.js';
export { serveClusterMetrics, type ClusterMetricsHandle } from './cluster/primary.js';
export {
  DEFAULT_GC_DURATION_BUCKETS,
  DEFAULT_LATENCY_BUCKETS,
  DEFAULT_MAX_CONCURRENT_SCRAPES,
  DEFAULT_MAX_SCRAPES_PER_CONNECTION,
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PATH,
  DEFAULT_METRICS_PORT,
  SEMCONV_DURATION_BUCKETS,
  DEFAULT_WORKER_TIMEOUT_MS,
  DEFAULT_GATHER_INTERVAL_MS,
} from './options/defaults.js';
export type {
  ClusterPrimaryOptions,
  CollectorOptions,
  EndpointOptions,
  ExporterChoice,
  ExporterName,
  PrometheusReaderOptions,
  RegisterMetricsOptions,
  TranslationStrategy,
} from './options/types.js';
export {
  CLUSTER_GAUGE_MERGE,
  CLUSTER_METRICS,
  ENDPOINT_METRICS,
  INSTRUMENTS,
  METER_NAME,
  METRICS,
  NODEJS_METRICS,
  PROCESS_METRICS,
  SEMCONV_METRICS,
  type ClusterMerge,
  type Naming,
} from './names.js';
export {
  CLIENT_CLOSED_ERROR,
  CLIENT_CLOSED_STATUS,
  ENDPOINT_LABELS,
  GC_KINDS,
  KNOWN_METHODS,
  LABELS,
  OTHER_METHOD,
  OTHER_STATUS,
  RUNTIME_LABELS,
  SCRAPE_LIMITS,
  SEMCONV_ATTRIBUTES,
  PRIMARY_WORKER,
  UNMATCHED_ENDPOINT,
  WORKER_LABEL,
  type ScrapeLimit,
} from './labels.js';
export { EXPOSITION_CONTENT_TYPE } from './export/exposition.js';
