/** The defaults of the options and of the variables the package reads, each written once. */

/**
 * Latency buckets in seconds: flask_prometheus_metrics' own, so that its dashboards keep working.
 * They are also what the semantic conventions advise for `http.server.request.duration`.
 */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** OpenTelemetry's default `maxSize` of an exponential histogram: 160 buckets a side. */
export const DEFAULT_NATIVE_HISTOGRAM_MAX_SIZE = 160;

/**
 * The highest schema Prometheus accepts for a native histogram with exponential buckets
 * (prometheus/prometheus model/histogram: schemas -4 to 8): 2^(1/256) wide buckets, about 0.14%
 * of relative error.
 */
export const DEFAULT_NATIVE_HISTOGRAM_MAX_SCALE = 8;

/** GC pause buckets in seconds: pauses are short, and a long one is what matters. */
export const DEFAULT_GC_DURATION_BUCKETS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];

/**
 * The buckets, in seconds, that the semantic conventions advise for `v8js.gc.duration` and
 * `http.server.request.duration`: the same bounds as {@link DEFAULT_LATENCY_BUCKETS}.
 */
export const SEMCONV_DURATION_BUCKETS: readonly number[] = DEFAULT_LATENCY_BUCKETS;

/**
 * Body size buckets in bytes (`app_request_size_bytes`, `app_response_size_bytes` and their
 * semantic-convention counterparts, which advise none): powers of 4 from 64 B to 16 MiB. Sizes span
 * six orders of magnitude, from an empty or tiny JSON answer to an upload, so the bounds grow
 * geometrically; a factor of 4 keeps ten bounds, fewer than the latency histogram's fourteen, while
 * `histogram_quantile` still lands within a factor of 4. Beyond 16 MiB, `+Inf` and the `_sum` tell
 * enough.
 */
export const BODY_SIZE_BUCKETS: readonly number[] = Array.from(
  { length: 10 },
  (_, i) => 64 * 4 ** i,
);

/** The Prometheus default port of OpenTelemetry's exporter (Prometheus' port allocation list). */
export const DEFAULT_METRICS_PORT = 9464;

/**
 * Loopback only, as OpenTelemetry's specification asks of a Prometheus exporter (`localhost`) and
 * OpenTelemetry JS's exporter does since 0.301: an endpoint that anyone on the network can reach
 * and that answers without credentials is not a safe default. Written as the IPv4 address rather
 * than the name, because `localhost` may resolve to `::1` alone, and a scrape of `127.0.0.1`
 * would then be refused. Prometheus in another container or host needs `0.0.0.0` (see the README's
 * "A secured endpoint").
 */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export const DEFAULT_METRICS_PATH = '/metrics';

/** Prometheus' default `scrape_timeout`. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

/**
 * Scrapes in flight at once over all connections: a pair of Prometheus servers, an agent and a
 * person with curl, with room to spare. Every scrape in flight may hold an answer (the exposition's
 * size) until it ends, so this bounds that memory.
 */
export const DEFAULT_MAX_CONCURRENT_SCRAPES = 10;

/**
 * Scrapes in flight at once on one connection. Scrapers send one request at a time; a second
 * one on the same connection before the first is answered is pipelining, which no scraper does.
 */
export const DEFAULT_MAX_SCRAPES_PER_CONNECTION = 1;

/** The most series each request metric keeps (the SDK's own default limit is 2000 too). */
export const DEFAULT_CARDINALITY_LIMIT = 2000;

/** The default of `workerTimeout`: well inside Prometheus' default scrape timeout of 10 s. */
export const DEFAULT_WORKER_TIMEOUT_MS = 2000;

/**
 * The default of `gatherInterval`: a second, far below Prometheus' usual scrape intervals, so the
 * cluster's exposition is as current as the workers' own would be, and a worker killed outright
 * loses about a second of counts.
 */
export const DEFAULT_GATHER_INTERVAL_MS = 1000;

/** `OTEL_METRIC_EXPORT_INTERVAL`'s default: one export a minute. */
export const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/** `OTEL_METRIC_EXPORT_TIMEOUT`'s default. */
export const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;
