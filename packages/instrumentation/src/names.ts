/**
 * Every metric, instrument and label name the package emits. Tests and the README table are
 * checked against this module, so a rename happens here or nowhere.
 */

/** The meter every instrument of the package is created on. */
export const METER_NAME = 'express-otel-metrics' as const;

/** Instrument names, as recorded through the OpenTelemetry API. */
export const INSTRUMENTS = {
  /** Histogram of request durations, in seconds. */
  requestLatency: 'app_request_latency',
  /** Counter of finished (or abandoned) requests. */
  requestCount: 'app_request_count',
  /** Observable gauge that is always 1 and carries the app's version and config. */
  versionInfo: 'app_version_info',
} as const;

/** Prometheus series names, as they appear in the exposition (counters gain `_total` there). */
export const METRICS = {
  /** Histogram: request latency in seconds, by method and endpoint. */
  requestLatency: 'app_request_latency_seconds',
  /** Counter: requests, by method, endpoint and status (exposed as `app_request_count_total`). */
  requestCount: 'app_request_count',
  /** Gauge: 1, labelled with the app's version and config. */
  versionInfo: 'app_version_info',
} as const;

/** Label (attribute) names. */
export const LABELS = {
  /** The request method, bounded to the standard methods plus {@link OTHER_METHOD}. */
  method: 'method',
  /** The route template that served the request, or {@link UNMATCHED_ENDPOINT}. */
  endpoint: 'endpoint',
  /** The status code sent, {@link CLIENT_CLOSED_STATUS} or {@link OTHER_STATUS}. */
  httpStatus: 'http_status',
  /** `appVersion` of the options. */
  version: 'version',
  /** `appConfig` of the options. */
  config: 'config',
} as const;

/** The `method` value of any method outside {@link KNOWN_METHODS} (OpenTelemetry's choice). */
export const OTHER_METHOD = '_OTHER' as const;

/** Methods kept as they are in the `method` label (RFC 9110, RFC 5789 and the QUERY method). */
export const KNOWN_METHODS: readonly string[] = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
];

/** The `endpoint` value of a request that no route matched (404s, static files, scanners). */
export const UNMATCHED_ENDPOINT = '<unmatched>' as const;

/**
 * The `http_status` of a request whose client went away before the response was complete
 * (the code nginx logs for the same event).
 */
export const CLIENT_CLOSED_STATUS = '499' as const;

/** The `http_status` of a status code outside 100-599, which Node allows but HTTP does not define. */
export const OTHER_STATUS = 'other' as const;
