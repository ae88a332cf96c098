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

/**
 * Process series: the names every Prometheus client library uses, so existing dashboards work.
 * Counters are named without `_total`; the exporter adds it.
 */
export const PROCESS_METRICS = {
  /** Counter: user + system CPU seconds. */
  cpuSeconds: 'process_cpu_seconds',
  /** Counter: user CPU seconds. */
  cpuUserSeconds: 'process_cpu_user_seconds',
  /** Counter: system CPU seconds. */
  cpuSystemSeconds: 'process_cpu_system_seconds',
  /** Gauge: resident set size, in bytes (from OpenTelemetry's host metrics). */
  residentMemory: 'process_resident_memory_bytes',
  /** Gauge: virtual memory size, in bytes (Linux: VmSize). */
  virtualMemory: 'process_virtual_memory_bytes',
  /** Gauge: process start, in seconds since the epoch. */
  startTime: 'process_start_time_seconds',
  /** Gauge: open file descriptors (Linux). */
  openFds: 'process_open_fds',
  /** Gauge: the soft limit of open file descriptors (Linux). */
  maxFds: 'process_max_fds',
} as const;

/** Node.js runtime series: the counterparts of the seed's `python_info` and `python_gc_*`. */
export const NODEJS_METRICS = {
  /** Gauge: 1, labelled with the Node.js version. */
  versionInfo: 'nodejs_version_info',
  /** Histogram: GC pause durations in seconds, by `kind`. */
  gcDuration: 'nodejs_gc_duration_seconds',
  /** Gauges: event-loop delay statistics in seconds since the previous collection. */
  eventLoopLagMin: 'nodejs_eventloop_lag_min_seconds',
  eventLoopLagMax: 'nodejs_eventloop_lag_max_seconds',
  eventLoopLagMean: 'nodejs_eventloop_lag_mean_seconds',
  eventLoopLagStddev: 'nodejs_eventloop_lag_stddev_seconds',
  eventLoopLagP50: 'nodejs_eventloop_lag_p50_seconds',
  eventLoopLagP90: 'nodejs_eventloop_lag_p90_seconds',
  eventLoopLagP99: 'nodejs_eventloop_lag_p99_seconds',
  /** Gauge: share of time the event loop was busy since the previous collection, 0..1. */
  eventLoopUtilization: 'nodejs_eventloop_utilization_ratio',
  /** Gauges: V8 heap and external memory, in bytes. */
  heapSizeTotal: 'nodejs_heap_size_total_bytes',
  heapSizeUsed: 'nodejs_heap_size_used_bytes',
  externalMemory: 'nodejs_external_memory_bytes',
  /** Gauges: per V8 heap space, in bytes, by `space`. */
  heapSpaceSizeTotal: 'nodejs_heap_space_size_total_bytes',
  heapSpaceSizeUsed: 'nodejs_heap_space_size_used_bytes',
  heapSpaceSizeAvailable: 'nodejs_heap_space_size_available_bytes',
  /** Gauge: resources keeping the event loop alive, by `type` (Node's own resource names). */
  activeResources: 'nodejs_active_resources',
} as const;

/** Labels of the runtime series. */
export const RUNTIME_LABELS = {
  /** GC kind: one of {@link GC_KINDS}. */
  kind: 'kind',
  /** V8 heap space, without its `_space` suffix (`old`, `new`, `code`, ...). */
  space: 'space',
  /** Node's resource type (`TCPSocketWrap`, `Timeout`, ...). */
  type: 'type',
  /** Node.js version parts of `nodejs_version_info`. */
  version: 'version',
  major: 'major',
  minor: 'minor',
  patch: 'patch',
} as const;

/** The values of the GC `kind` label. */
export const GC_KINDS = ['major', 'minor', 'incremental', 'weakcb'] as const;

/** The host metrics instruments this package renames (OpenTelemetry semantic-convention names). */
export const HOST_METRICS = {
  meterName: '@opentelemetry/instrumentation-host-metrics',
  /** Resident memory of the process, observed by the host metrics instrumentation. */
  processMemoryUsage: 'process.memory.usage',
} as const;

/**
 * The naming schemes of option `naming`: the seed's Prometheus names, or OpenTelemetry's semantic
 * conventions.
 */
export const NAMINGS = ['prometheus', 'semconv'] as const;

export type Naming = (typeof NAMINGS)[number];

/**
 * Instrument names of `naming: 'semconv'`, from OpenTelemetry's semantic conventions for HTTP
 * servers, processes, V8 and Node.js. The series that the conventions do not describe
 * (`app_version_info`, `nodejs_version_info`, `process_max_fds`, `nodejs_external_memory_bytes`)
 * keep their Prometheus names in that mode too: a dotted name of ours under `process.`, `v8js.` or
 * `nodejs.` would squat on a namespace the conventions own, and could later clash with a metric
 * they define differently.
 */
export const SEMCONV_METRICS = {
  /**
   * Histogram, `s`: request durations. The conventions define no request counter; the histogram's
   * count is the number of requests.
   */
  requestDuration: 'http.server.request.duration',
  /** Counter, `s`: CPU time, by `cpu.mode` (`user`, `system`). */
  cpuTime: 'process.cpu.time',
  /** UpDownCounter, `By`: resident set size. */
  memoryUsage: 'process.memory.usage',
  /** UpDownCounter, `By`: virtual memory size (Linux). */
  memoryVirtual: 'process.memory.virtual',
  /** Gauge, `s`: time since the process started. */
  uptime: 'process.uptime',
  /** UpDownCounter, `{file_descriptor}`: open file descriptors (Linux). */
  fileDescriptorCount: 'process.unix.file_descriptor.count',
  /** Histogram, `s`: GC pauses, by `v8js.gc.type`. */
  gcDuration: 'v8js.gc.duration',
  /** UpDownCounters, `By`: per V8 heap space, by `v8js.heap.space.name`. */
  heapUsed: 'v8js.memory.heap.used',
  heapSpaceSize: 'v8js.memory.heap.space.size',
  heapSpaceAvailableSize: 'v8js.memory.heap.space.available_size',
  /** Gauge, `{resource}`: resources keeping the event loop alive, by `v8js.resource.type`. */
  resourceActive: 'v8js.resource.active',
  /** Gauges, `s`: event-loop delay statistics since the previous collection. */
  eventLoopDelayMin: 'nodejs.eventloop.delay.min',
  eventLoopDelayMax: 'nodejs.eventloop.delay.max',
  eventLoopDelayMean: 'nodejs.eventloop.delay.mean',
  eventLoopDelayStddev: 'nodejs.eventloop.delay.stddev',
  eventLoopDelayP50: 'nodejs.eventloop.delay.p50',
  eventLoopDelayP90: 'nodejs.eventloop.delay.p90',
  eventLoopDelayP99: 'nodejs.eventloop.delay.p99',
  /** Gauge, `1`: share of time the event loop was busy since the previous collection. */
  eventLoopUtilization: 'nodejs.eventloop.utilization',
} as const;

/** Attribute keys of `naming: 'semconv'`. */
export const SEMCONV_ATTRIBUTES = {
  /** The request method, bounded like `method` ({@link KNOWN_METHODS}, else {@link OTHER_METHOD}). */
  httpRequestMethod: 'http.request.method',
  /** The route template; absent when no route matched (where `endpoint` is `<unmatched>`). */
  httpRoute: 'http.route',
  /** The status code sent, as a number; absent when none was sent (the client went away first). */
  httpResponseStatusCode: 'http.response.status_code',
  /** Set only on failures: the status code of a 5xx, or {@link CLIENT_CLOSED_ERROR}. */
  errorType: 'error.type',
  /** `http` or `https`, from the connection the request came on. */
  urlScheme: 'url.scheme',
  /** The HTTP version of the request (`1.0`, `1.1`, `2`). */
  networkProtocolVersion: 'network.protocol.version',
  /** CPU mode of `process.cpu.time`. */
  cpuMode: 'cpu.mode',
  /** GC kind: one of {@link GC_KINDS}. */
  gcType: 'v8js.gc.type',
  /** V8 heap space, as V8 names it (`old_space`, `new_space`, ...). */
  heapSpaceName: 'v8js.heap.space.name',
  /** Node's resource type (`TCPSocketWrap`, `Timeout`, ...). */
  resourceType: 'v8js.resource.type',
} as const;

/**
 * `error.type` of a request whose client went away before the response was complete (the event
 * `http_status="499"` stands for in the Prometheus naming). The conventions leave such a
 * component-specific value to the instrumentation.
 */
export const CLIENT_CLOSED_ERROR = 'client_closed' as const;

/** Every attribute key the request histogram can carry in `naming: 'semconv'`, besides extra labels. */
export const SEMCONV_REQUEST_ATTRIBUTES: readonly string[] = [
  SEMCONV_ATTRIBUTES.httpRequestMethod,
  SEMCONV_ATTRIBUTES.httpRoute,
  SEMCONV_ATTRIBUTES.httpResponseStatusCode,
  SEMCONV_ATTRIBUTES.errorType,
  SEMCONV_ATTRIBUTES.urlScheme,
  SEMCONV_ATTRIBUTES.networkProtocolVersion,
];

/**
 * The label that tells processes apart: the worker's slot in cluster mode (`0`, `1`, ..., reused
 * by a replacement; `primary` for the primary's own series), the `workerIndex` option otherwise.
 */
export const WORKER_LABEL = 'worker' as const;

/** The `worker` value of the primary's own series in cluster mode. */
export const PRIMARY_WORKER = 'primary' as const;

/** Series of the primary in cluster mode, about the workers it gathers from. */
export const CLUSTER_METRICS = {
  /** Gauge: live workers that have reported to the primary. */
  workers: 'app_cluster_workers',
  /** Gauge: of those, the workers that did not answer the current scrape within `workerTimeout`. */
  unresponsive: 'app_cluster_workers_unresponsive',
} as const;

/** Series of the metrics endpoint about itself. */
export const ENDPOINT_METRICS = {
  /**
   * Counter: scrapes answered `503` because a limit on scrapes in flight was reached, by `limit`
   * (exposed as `app_scrapes_rejected_total`; the same name in both namings).
   */
  scrapesRejected: 'app_scrapes_rejected',
} as const;

/** Labels of {@link ENDPOINT_METRICS}. */
export const ENDPOINT_LABELS = {
  /** Which limit refused the scrape: one of {@link SCRAPE_LIMITS}. */
  limit: 'limit',
} as const;

/**
 * The limits on scrapes in flight: `endpoint.maxConcurrentScrapes` over all connections, and
 * `endpoint.maxScrapesPerConnection` on one connection (pipelined scrapes).
 */
export const SCRAPE_LIMITS = ['concurrent', 'per_connection'] as const;

export type ScrapeLimit = (typeof SCRAPE_LIMITS)[number];

/**
 * How the primary combines a series that every process reports, in cluster mode:
 * - `total`: added up, and what a worker counted stays in the total after it exits, so a counter
 *   never goes down (every counter and histogram);
 * - `sum`: added up over the live processes, the primary included (memory, descriptors, handles);
 * - `once`: each distinct label set once, with its value (the info series);
 * - `worker`: one series per process, labelled `worker` (everything that is per process by
 *   nature: start time, limits, event-loop delay and utilization; also any gauge not listed here).
 */
export type ClusterMerge = 'total' | 'sum' | 'once' | 'worker';

/** The gauges (and up-down counters) that are not per process, by the name they are exported under. */
export const CLUSTER_GAUGE_MERGE: Readonly<Record<string, Exclude<ClusterMerge, 'total'>>> = {
  [METRICS.versionInfo]: 'once',
  [CLUSTER_METRICS.workers]: 'once',
  [CLUSTER_METRICS.unresponsive]: 'once',
  [NODEJS_METRICS.versionInfo]: 'once',
  [PROCESS_METRICS.residentMemory]: 'sum',
  [PROCESS_METRICS.virtualMemory]: 'sum',
  [PROCESS_METRICS.openFds]: 'sum',
  [NODEJS_METRICS.heapSizeTotal]: 'sum',
  [NODEJS_METRICS.heapSizeUsed]: 'sum',
  [NODEJS_METRICS.externalMemory]: 'sum',
  [NODEJS_METRICS.heapSpaceSizeTotal]: 'sum',
  [NODEJS_METRICS.heapSpaceSizeUsed]: 'sum',
  [NODEJS_METRICS.heapSpaceSizeAvailable]: 'sum',
  [NODEJS_METRICS.activeResources]: 'sum',
  [SEMCONV_METRICS.memoryUsage]: 'sum',
  [SEMCONV_METRICS.memoryVirtual]: 'sum',
  [SEMCONV_METRICS.fileDescriptorCount]: 'sum',
  [SEMCONV_METRICS.heapUsed]: 'sum',
  [SEMCONV_METRICS.heapSpaceSize]: 'sum',
  [SEMCONV_METRICS.heapSpaceAvailableSize]: 'sum',
  [SEMCONV_METRICS.resourceActive]: 'sum',
};
