/**
 * Every label (attribute) name the package records, and the values it gives them where it bounds
 * them. A rename happens here or nowhere; the series that carry them are in `catalogue.ts`.
 */

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

/** Labels of the endpoint's own series. */
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
