/**
 * The public options, each documented once with its `@default`. The lists of keys that the
 * validation checks are typed against these interfaces (`options/resolve.ts`), and a test checks
 * the README's tables against both, so an option is added here, there, and in the README, or the
 * build or the tests fail.
 */

import type { MeterProvider } from '@opentelemetry/api';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { Naming } from '../catalogue.js';

/** The exporters the package builds itself: the values of `OTEL_METRICS_EXPORTER`. */
export const EXPORTER_NAMES = ['prometheus', 'otlp', 'console', 'none'] as const;

export type ExporterName = (typeof EXPORTER_NAMES)[number];

/**
 * How the exposition writes the names of `naming: 'semconv'`, by the translation strategies of
 * Prometheus' OTLP receiver and of OpenTelemetry's configuration schema (the Prometheus exporter's
 * `translation_strategy`).
 */
export const TRANSLATION_STRATEGIES = [
  'UnderscoreEscapingWithSuffixes',
  'NoUTF8EscapingWithSuffixes',
] as const;

export type TranslationStrategy = (typeof TRANSLATION_STRATEGIES)[number];

/** The forms of the request latency histogram (option `latencyHistogram`). */
export const LATENCY_HISTOGRAMS = ['classic', 'native', 'both'] as const;

export type LatencyHistogram = (typeof LATENCY_HISTOGRAMS)[number];

/** One exporter: one the package builds, by name, or a reader of your own. */
export type ExporterChoice = ExporterName | IMetricReader;

/** Where the Prometheus exposition is served. */
export interface EndpointOptions {
  /**
   * `'port'`: a server of its own on `host`:`port`. `'app'`: on the Express app itself, at `path`
   * (requests to it are not counted). `'none'`: nowhere; read it with `scrape()` or mount `handler`.
   * @default 'port'
   */
  mode?: 'port' | 'app' | 'none';
  /**
   * Port of the metrics server (`0` picks a free one; see `url` on the handle).
   * @default OTEL_EXPORTER_PROMETHEUS_PORT, else 9464
   */
  port?: number;
  /**
   * Interface of the metrics server: loopback by default; `'0.0.0.0'` (all interfaces) for a
   * Prometheus in another container or on another host, with authentication or a network policy.
   * @default OTEL_EXPORTER_PROMETHEUS_HOST, else '127.0.0.1'
   */
  host?: string;
  /**
   * Path of the exposition, on the metrics server or on the app.
   * @default '/metrics'
   */
  path?: string;
  /**
   * Require HTTP basic authentication on the exposition (Prometheus: `basic_auth`).
   * @default undefined (no authentication)
   */
  basicAuth?: { username: string; password: string };
  /**
   * Require `Authorization: Bearer <token>` on the exposition (Prometheus: `authorization`).
   * With `basicAuth` as well, either is accepted.
   * @default undefined (no authentication)
   */
  bearerToken?: string;
  /**
   * Serve the metrics port over HTTPS with this key and certificate (PEM); `'port'` mode only
   * (Prometheus: `scheme: https` and `tls_config`).
   * @default undefined (plain HTTP)
   */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Milliseconds a scrape may take, from its request to the last byte sent; a scraper still
   * reading then (or still sending its request, on the metrics port) is disconnected, so a slow
   * or stuck client holds neither a socket nor a copy of the exposition. Prometheus' own
   * `scrape_timeout` defaults to 10 s.
   * @default 10000
   */
  timeout?: number;
  /**
   * Scrapes in flight at once, over all connections; a scrape beyond it is answered `503` with
   * `Retry-After`, its connection closed, and counted in
   * `app_scrapes_rejected_total{limit="concurrent"}`. Scrapes that arrive while a collection runs
   * share it, so this bounds the sockets and answers held, not the work.
   * @default 10
   */
  maxConcurrentScrapes?: number;
  /**
   * Scrapes in flight at once on one connection; a scrape pipelined beyond it is answered `503`
   * (counted with `limit="per_connection"`) and the connection is closed after that answer, so
   * nothing more it queued is read.
   * @default 1
   */
  maxScrapesPerConnection?: number;
}

/** The groups of series read at collection time; each can be switched off. */
export interface CollectorOptions {
  /**
   * `process_*`: CPU, resident and virtual memory, start time, open and max file descriptors.
   * @default true
   */
  process?: boolean;
  /**
   * `nodejs_version_info`, V8 heap and heap spaces, external memory, active resources.
   * @default true
   */
  runtime?: boolean;
  /**
   * `nodejs_gc_duration_seconds` (a GC observer, always on while enabled).
   * @default true
   */
  gc?: boolean;
  /**
   * `nodejs_eventloop_lag_*_seconds` (an event-loop delay monitor, always on while enabled) and
   * `nodejs_eventloop_utilization_ratio`.
   * @default true
   */
  eventLoop?: boolean;
}

export type CollectorGroup = keyof CollectorOptions;

/** The user's labels on the request series. */
export interface ExtraLabelsOption {
  names: readonly string[];
  values: (req: ExpressRequest, res: ExpressResponse) => Record<string, string>;
}

/** Options of {@link registerMetrics}. */
export interface RegisterMetricsOptions {
  /**
   * The `version` label of `app_version_info`.
   * @default 'unknown'
   */
  appVersion?: string;
  /**
   * The `config` label of `app_version_info` (the deploy environment, as in
   * flask_prometheus_metrics).
   * @default 'unknown'
   */
  appConfig?: string;
  /**
   * Upper bounds, in seconds, of the `app_request_latency_seconds` buckets; strictly increasing.
   * @default DEFAULT_LATENCY_BUCKETS (0.005 ... 10)
   */
  latencyBuckets?: readonly number[];
  /**
   * The form of the request latency histogram (`app_request_latency_seconds`, or
   * `http.server.request.duration` with `naming: 'semconv'`): `'classic'`, the buckets of
   * `latencyBuckets`; `'native'`, OpenTelemetry's base-2 exponential histogram, which Prometheus
   * scrapes as a native histogram (one series per histogram, a few percent of relative error at
   * any latency; a scraper of the text formats gets its count and sum only); or `'both'`, the
   * classic buckets beside the native ones, as Prometheus' own clients offer.
   * @default 'classic'
   */
  latencyHistogram?: LatencyHistogram;
  /**
   * The most buckets of each side of a native latency histogram (OpenTelemetry's `maxSize`): the
   * SDK lowers the scale, halving the resolution, whenever the observations would need more.
   * @default 160
   */
  nativeHistogramMaxSize?: number;
  /**
   * The highest schema (scale) the Prometheus exposition writes a native histogram in, from -4 to
   * 8: buckets finer than it are merged at a scrape. OpenTelemetry JS' aggregation (sdk-metrics
   * 3.1) has no maximum scale of its own, so OTLP carries the SDK's scale whatever this is.
   * @default 8
   */
  nativeHistogramMaxScale?: number;
  /**
   * Upper bounds, in seconds, of the `nodejs_gc_duration_seconds` buckets; strictly increasing.
   * @default DEFAULT_GC_DURATION_BUCKETS (0.001, 0.01, 0.1, 1, 2, 5); with `naming: 'semconv'`,
   * SEMCONV_DURATION_BUCKETS (0.005 ... 10), the conventions' advice
   */
  gcDurationBuckets?: readonly number[];
  /**
   * Which groups of process and runtime series are collected.
   * @default { process: true, runtime: true, gc: true, eventLoop: true }
   */
  collectors?: CollectorOptions;
  /**
   * Request paths that are not measured (health checks): a string matches the path exactly
   * (without the query string), a RegExp is tested against it.
   * @default []
   */
  excludePaths?: ReadonlyArray<string | RegExp>;
  /**
   * Labels of your own on the request series: their names, fixed here, and a function that gives
   * their values for each request (a missing or non-string value is ''; values are cut at 128
   * characters). If it throws, the values are '' and the error is reported once.
   * @default undefined (no extra labels)
   */
  extraLabels?: ExtraLabelsOption;
  /**
   * The most series each request metric keeps; label sets beyond it are counted in one series
   * labelled `otel_metric_overflow="true"`, and a warning names the metric and the limit.
   * @default 2000
   */
  cardinalityLimit?: number;
  /**
   * Keep exemplars: a request that ends inside a sampled span (instrumentation-http's server span,
   * or one of the app's own) links its latency bucket, and its count, to that trace (`trace_id`,
   * `span_id`), the latest one per bucket of each series. The OpenMetrics exposition shows them
   * (with `meterProvider`, that of `createPrometheusReader`); OTLP carries none (OpenTelemetry JS'
   * metrics SDK has no exemplars to export). With no tracer, or no sampled span, there are none
   * and the request path costs what it does without them.
   * @default true
   */
  exemplars?: boolean;
  /**
   * Record the requests being handled now: `app_requests_in_flight{method}` (a gauge), or with
   * `naming: 'semconv'` `http.server.active_requests{http.request.method, url.scheme}` (an
   * UpDownCounter). A request counts from when the package starts timing it until its response
   * closes, however it ends (sent, client gone, handler failed); `excludePaths` and the metrics
   * endpoint never count. Off, the request path does no more than without it.
   * @default false
   */
  inFlight?: boolean;
  /**
   * Record request and response body sizes in bytes: `app_request_size_bytes` and
   * `app_response_size_bytes` by the latency histogram's labels, or with `naming: 'semconv'`
   * `http.server.request.body.size` and `http.server.response.body.size` by
   * `http.server.request.duration`'s, in the buckets of `BODY_SIZE_BUCKETS` (64 B to 16 MiB). The
   * request's is its `Content-Length`, 0 with no body, and not observed for a chunked body (the app
   * reads it, the package does not). The response's is the bytes the app writes, counted by a
   * wrapper of `res.write` and `res.end`, and 0 for `HEAD`, 1xx, 204 and 304.
   * @default false
   */
  bodySizes?: boolean;
  /**
   * Where the exposition is served.
   * @default { mode: 'port', port: 9464, host: '127.0.0.1', path: '/metrics' }
   */
  endpoint?: EndpointOptions;
  /**
   * The resource's `service.name`, which OTLP exports carry and `target_info` shows. Set here, it
   * wins over `OTEL_SERVICE_NAME`, as code does over the environment in OpenTelemetry's
   * configuration.
   * @default undefined (`OTEL_SERVICE_NAME`, else the SDK's `unknown_service:<process>`)
   */
  serviceName?: string;
  /**
   * Emit `target_info` with the resource attributes (service name, SDK version).
   * @default false
   */
  targetInfo?: boolean;
  /**
   * Add `otel_scope_name` / `otel_scope_version` labels to every series.
   * @default false
   */
  scopeInfo?: boolean;
  /**
   * Where the metrics go: `'prometheus'` (the exposition, see `endpoint`), `'otlp'` (pushed to an
   * OpenTelemetry Collector or an OTLP backend, set up by the `OTEL_EXPORTER_OTLP_*` variables),
   * `'console'` (printed at each export interval, to debug), `'none'` (recorded, not exported), a
   * `MetricReader` of your own, or several of these, e.g. `['prometheus', 'otlp']` while moving from
   * one to the other. `'none'` stands alone. The option wins over the variable, a comma-separated
   * list of the names.
   * @default OTEL_METRICS_EXPORTER, else 'prometheus'
   */
  exporters?: ExporterChoice | readonly ExporterChoice[];
  /**
   * Record into this provider (one that `NodeSDK` built, say) instead of one of the package's own.
   * The package then starts no exporter and no endpoint and reads no `OTEL_METRICS_EXPORTER`: the
   * provider's readers export. Build the provider with `createViews(options)` so that the series
   * keep their names and buckets. `shutdown()` leaves the provider running; it is yours.
   * @default undefined (a provider of the package's own, exporting to `exporters`)
   */
  meterProvider?: MeterProvider;
  /**
   * The names of the series: `'prometheus'`, flask_prometheus_metrics' own
   * (`app_request_latency_seconds{method, endpoint}`, `process_cpu_seconds_total`, ...), whatever
   * the exporter, so that dashboards keep working when a Collector turns OTLP back into Prometheus
   * series; or `'semconv'`, OpenTelemetry's semantic conventions
   * (`http.server.request.duration{http.request.method, http.route, ...}`,
   * `process.cpu.time{cpu.mode}`, `v8js.gc.duration{v8js.gc.type}`, ...), for backends that expect
   * them; the package's endpoint then writes them under the names Prometheus' OTLP receiver gives
   * them (`http_server_request_duration_seconds`, `process_cpu_time_seconds_total`, ...), so that
   * dashboards read one name whether the app is scraped or pushes OTLP. The README maps every
   * series between the two.
   * @default 'prometheus'
   */
  naming?: Naming;
  /**
   * With `naming: 'semconv'`, how names are written: `'UnderscoreEscapingWithSuffixes'`, as
   * Prometheus' OTLP receiver does by default (`http_server_request_duration_seconds`
   * `{http_request_method}`), for every scraper; or `'NoUTF8EscapingWithSuffixes'`, the
   * semantic conventions' dotted names with the same suffixes
   * (`http.server.request.duration_seconds{"http.request.method"}`), to a scraper that accepts
   * UTF-8 names (Prometheus 3, which asks for OpenMetrics with `escaping=allow-utf-8`), and
   * escaped as each other scraper asks (Prometheus 2 gets the default's names).
   * @default 'UnderscoreEscapingWithSuffixes'
   */
  translationStrategy?: TranslationStrategy;
  /**
   * This process is a worker of `node:cluster`, and the primary serves the metrics of the whole
   * cluster (`serveClusterMetrics()` in the primary): the worker opens no endpoint, and answers the
   * primary's requests for its series over the cluster's IPC channel. For the Prometheus exposition
   * only; the endpoint options belong to `serveClusterMetrics()`.
   * @default false
   */
  cluster?: boolean;
  /**
   * This process is worker number `workerIndex` (0, 1, ...) of a process manager that shares no
   * primary with you (pm2: `Number(process.env.NODE_APP_INSTANCE)`): the endpoint listens on
   * `endpoint.port + workerIndex`, and every series of the exposition carries `worker="<index>"`.
   * @default undefined (one process, no `worker` label)
   */
  workerIndex?: number;
}

/** Options of {@link serveClusterMetrics}, the primary's half of cluster mode. */
export interface ClusterPrimaryOptions {
  /**
   * Where the cluster's exposition is served: as for `registerMetrics`, but on a port of its own
   * (`'port'`) or nowhere (`'none'`: `handler` and `scrape()` only); the primary has no app.
   * @default { mode: 'port', port: 9464, host: '127.0.0.1', path: '/metrics' }
   */
  endpoint?: EndpointOptions;
  /**
   * How long a round of gathering waits for the workers' answers, in milliseconds; less than
   * `endpoint.timeout`, since a scrape may wait for a round. A worker that has not answered by then
   * is counted in `app_cluster_workers_unresponsive`, and its counters and histograms are served as
   * it last reported them.
   * @default 2000
   */
  workerTimeout?: number;
  /**
   * How often the primary gathers the workers' series between scrapes, in milliseconds, so that a
   * scrape merges what is already in instead of asking every worker and waiting. A scrape serves
   * the last round of gathering if it ended at most `gatherInterval` ms before; otherwise it asks
   * the workers itself, as with `0`. So a worker's counts reach the exposition at most
   * `gatherInterval` ms plus one round (the workers' answers, at most `workerTimeout`) after they
   * were recorded, and a worker killed outright loses at most that much. A round that takes long
   * (many series on busy cores) puts the next one off to 4 times its duration after it, so
   * gathering never takes more than a fifth of the time. `0`: every scrape asks the workers.
   * @default 1000
   */
  gatherInterval?: number;
  /**
   * Which groups of the primary's own process and runtime series are collected.
   * @default { process: true, runtime: true, gc: true, eventLoop: true }
   */
  collectors?: CollectorOptions;
  /**
   * Buckets of the primary's own `nodejs_gc_duration_seconds`; the same as the workers' (they
   * are added up).
   * @default DEFAULT_GC_DURATION_BUCKETS; with `naming: 'semconv'`, SEMCONV_DURATION_BUCKETS
   */
  gcDurationBuckets?: readonly number[];
  /**
   * The names of the primary's own series, and how the cluster's exposition writes every name
   * (with `'semconv'`, as Prometheus' OTLP receiver does); the same as the workers'.
   * @default 'prometheus'
   */
  naming?: Naming;
  /**
   * How the cluster's exposition writes the names of `naming: 'semconv'`, as for
   * `registerMetrics`.
   * @default 'UnderscoreEscapingWithSuffixes'
   */
  translationStrategy?: TranslationStrategy;
  /**
   * The highest schema the cluster's exposition writes the workers' native histograms in, as
   * for `registerMetrics`.
   * @default 8
   */
  nativeHistogramMaxScale?: number;
  /**
   * Emit `target_info` with the primary's resource attributes.
   * @default false
   */
  targetInfo?: boolean;
  /**
   * Add `otel_scope_name` / `otel_scope_version` labels to every series.
   * @default false
   */
  scopeInfo?: boolean;
}

/**
 * Options of {@link createPrometheusReader}: the package's exposition as a reader of a
 * `MeterProvider` of yours (OpenTelemetry's NodeSDK).
 */
export interface PrometheusReaderOptions {
  /**
   * Where the exposition is served: on a port of its own (`'port'`), or nowhere (`'none'`: mount
   * the reader's `handler` yourself).
   * @default { mode: 'port', port: 9464, host: '127.0.0.1', path: '/metrics' }
   */
  endpoint?: EndpointOptions;
  /**
   * How the exposition writes every metric's name: with `'semconv'`, as Prometheus' OTLP receiver
   * does (`http_server_request_duration_seconds`); give it the naming of `createViews`.
   * @default 'prometheus'
   */
  naming?: Naming;
  /**
   * How the exposition writes the names of `naming: 'semconv'`, as for `registerMetrics`.
   * @default 'UnderscoreEscapingWithSuffixes'
   */
  translationStrategy?: TranslationStrategy;
  /**
   * The highest schema the exposition writes native histograms in, as for `registerMetrics`.
   * @default 8
   */
  nativeHistogramMaxScale?: number;
  /**
   * Emit `target_info` with the provider's resource attributes.
   * @default false
   */
  targetInfo?: boolean;
  /**
   * Add `otel_scope_name` / `otel_scope_version` labels to every series, as OpenTelemetry's
   * exporter does: a provider of yours holds other libraries' meters, which may use one name.
   * @default true
   */
  scopeInfo?: boolean;
}
