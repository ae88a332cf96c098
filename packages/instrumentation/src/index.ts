export { registerMetrics, type MetricsHandle } from './register.js';
export {
  DEFAULT_LATENCY_BUCKETS,
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PATH,
  DEFAULT_METRICS_PORT,
  type EndpointOptions,
  type RegisterMetricsOptions,
} from './options.js';
export {
  CLIENT_CLOSED_STATUS,
  INSTRUMENTS,
  KNOWN_METHODS,
  LABELS,
  METER_NAME,
  METRICS,
  OTHER_METHOD,
  OTHER_STATUS,
  UNMATCHED_ENDPOINT,
} from './names.js';
export { EXPOSITION_CONTENT_TYPE } from './export/exposition.js';
