/** Public options of {@link registerMetrics}, their defaults, and their validation. */

import { diag, type MeterProvider } from '@opentelemetry/api';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import { NAMINGS, SEMCONV_REQUEST_ATTRIBUTES, WORKER_LABEL, type Naming } from './names.js';

/** Latency buckets in seconds; the seed's, so its dashboards keep working. */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** GC pause buckets in seconds: pauses are short, and a long one is what matters. */
export const DEFAULT_GC_DURATION_BUCKETS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];

/**
 * The buckets, in seconds, that the semantic conventions advise for `v8js.gc.duration` (and for
 * `http.server.request.duration`, where they equal {@link DEFAULT_LATENCY_BUCKETS}).
 */
export const SEMCONV_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

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

/** The exporters the package builds itself: the values of `OTEL_METRICS_EXPORTER`. */
export const EXPORTER_NAMES = ['prometheus', 'otlp', 'console', 'none'] as const;

export type ExporterName = (typeof EXPORTER_NAMES)[number];

/** One exporter: one the package builds, by name, or a reader of your own. */
export type ExporterChoice = ExporterName | IMetricReader;

/** The exporters when neither the option nor `OTEL_METRICS_EXPORTER` names any. */
export const DEFAULT_EXPORTER: ExporterName = 'prometheus';

/** The OTLP transports, as `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` names them. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;

export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The specification's default protocol for OTLP exporters. */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';

/** The values of `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`. */
export const OTLP_TEMPORALITIES = ['cumulative', 'delta', 'lowmemory'] as const;

export type OtlpTemporality = (typeof OTLP_TEMPORALITIES)[number];

/** `OTEL_METRIC_EXPORT_INTERVAL`'s default: one export a minute. */
export const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/** `OTEL_METRIC_EXPORT_TIMEOUT`'s default. */
export const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;

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
   * @default Number(process.env.OTEL_EXPORTER_PROMETHEUS_PORT) or 9464
   */
  port?: number;
  /**
   * Interface of the metrics server: loopback by default; `'0.0.0.0'` (all interfaces) for a
   * Prometheus in another container or on another host, with authentication or a network policy.
   * @default process.env.OTEL_EXPORTER_PROMETHEUS_HOST or '127.0.0.1'
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

/** The endpoint options after defaults and validation. */
export interface ResolvedEndpoint {
  mode: 'port' | 'app' | 'none';
  port: number;
  host: string;
  path: string;
  basicAuth: { username: string; password: string } | undefined;
  bearerToken: string | undefined;
  tls: { key: string | Buffer; cert: string | Buffer } | undefined;
  timeout: number;
  maxConcurrentScrapes: number;
  maxScrapesPerConnection: number;
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

const COLLECTOR_GROUPS: readonly CollectorGroup[] = ['process', 'runtime', 'gc', 'eventLoop'];

/** Options of {@link registerMetrics}. */
export interface RegisterMetricsOptions {
  /**
   * The `version` label of `app_version_info`.
   * @default 'unknown'
   */
  appVersion?: string;
  /**
   * The `config` label of `app_version_info` (the deploy environment, as in the seed).
   * @default 'unknown'
   */
  appConfig?: string;
  /**
   * Upper bounds, in seconds, of the `app_request_latency_seconds` buckets; strictly increasing.
   * @default DEFAULT_LATENCY_BUCKETS (0.005 ... 10)
   */
  latencyBuckets?: readonly number[];
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
  extraLabels?: {
    names: readonly string[];
    values: (req: ExpressRequest, res: ExpressResponse) => Record<string, string>;
  };
  /**
   * The most series each request metric keeps; label sets beyond it are counted in one series
   * labelled `otel_metric_overflow="true"`, and a warning names the metric and the limit.
   * @default 2000
   */
  cardinalityLimit?: number;
  /**
   * Where the exposition is served.
   * @default { mode: 'port', port: 9464, host: '127.0.0.1', path: '/metrics' }
   */
  endpoint?: EndpointOptions;
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
   * one to the other. `'none'` stands alone. The option wins over the variable.
   * @default process.env.OTEL_METRICS_EXPORTER (a comma-separated list of the names) or 'prometheus'
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
   * The names of the series: `'prometheus'`, the seed's (`app_request_latency_seconds{method,
   * endpoint}`, `process_cpu_seconds_total`, ...), whatever the exporter, so that dashboards keep
   * working when a Collector turns OTLP back into Prometheus series; or `'semconv'`,
   * OpenTelemetry's semantic conventions (`http.server.request.duration{http.request.method,
   * http.route, ...}`, `process.cpu.time{cpu.mode}`, `v8js.gc.duration{v8js.gc.type}`, ...), for
   * backends that expect them. The README maps every series between the two.
   * @default 'prometheus'
   */
  naming?: Naming;
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
   * How long a scrape waits for the workers' answers, in milliseconds; less than
   * `endpoint.timeout`. A worker that has not answered by then is counted in
   * `app_cluster_workers_unresponsive`, and its counters and histograms are served as it last
   * reported them.
   * @default 2000
   */
  workerTimeout?: number;
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
   * The names of the primary's own series; the same as the workers'.
   * @default 'prometheus'
   */
  naming?: Naming;
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

/** The options after defaults and validation; what the rest of the package reads. */
export interface ResolvedOptions {
  extraLabels: ResolvedExtraLabels | undefined;
  cardinalityLimit: number;
  appVersion: string;
  appConfig: string;
  latencyBuckets: readonly number[];
  gcDurationBuckets: readonly number[];
  collectors: Required<CollectorOptions>;
  excludePaths: ReadonlyArray<string | RegExp>;
  endpoint: ResolvedEndpoint;
  targetInfo: boolean;
  scopeInfo: boolean;
  /** The `exporters` option as a list without repeats; undefined to let the environment decide. */
  exporters: readonly ExporterChoice[] | undefined;
  meterProvider: MeterProvider | undefined;
  naming: Naming;
  cluster: boolean;
  workerIndex: number | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedExtraLabels {
  names: readonly string[];
  values: (req: ExpressRequest, res: ExpressResponse) => Record<string, string>;
}

/** Prometheus' label-name rule; `__` starts the names Prometheus keeps for itself. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The request series' own label names, as Prometheus shows them, and the bucket label. */
const TAKEN_LABELS: Readonly<Record<Naming, readonly string[]>> = {
  prometheus: ['method', 'endpoint', 'http_status', 'le', WORKER_LABEL],
  semconv: [
    ...SEMCONV_REQUEST_ATTRIBUTES.map((key) => key.replaceAll('.', '_')),
    'le',
    WORKER_LABEL,
  ],
};

function resolveExtraLabels(value: unknown, naming: Naming): ResolvedExtraLabels | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) fail('extraLabels', 'an object', value);
  const { names, values } = value as { names?: unknown; values?: unknown };
  if (!Array.isArray(names)) fail('extraLabels.names', 'an array of label names', names);
  for (const name of names) {
    if (typeof name !== 'string' || !LABEL_NAME.test(name) || name.startsWith('__')) {
      fail('extraLabels.names', 'Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*, not __...)', name);
    }
    if (TAKEN_LABELS[naming].includes(name))
      fail('extraLabels.names', 'names the package does not use itself', name);
  }
  if (new Set(names).size !== names.length)
    fail('extraLabels.names', 'distinct names', names.join(','));
  if (typeof values !== 'function')
    fail('extraLabels.values', 'a function (req, res) => labels', typeof values);
  return { names: [...(names as string[])], values: values as ResolvedExtraLabels['values'] };
}

/**
 * A misspelt option would otherwise be ignored, and its default silently used in its place.
 * `object` is known to be a non-null object.
 */
function checkKeys(option: string, object: object, known: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `express-otel-metrics: ${option === '' ? 'there is no option' : `option \`${option}\` has no key`} ${JSON.stringify(key)}; the known ones are ${known.join(', ')}`,
      );
    }
  }
}

const OPTION_KEYS = [
  'appVersion',
  'appConfig',
  'latencyBuckets',
  'gcDurationBuckets',
  'collectors',
  'excludePaths',
  'extraLabels',
  'cardinalityLimit',
  'endpoint',
  'targetInfo',
  'scopeInfo',
  'exporters',
  'meterProvider',
  'naming',
  'cluster',
  'workerIndex',
] as const satisfies ReadonlyArray<keyof RegisterMetricsOptions>;

const PRIMARY_OPTION_KEYS = [
  'endpoint',
  'workerTimeout',
  'collectors',
  'gcDurationBuckets',
  'naming',
  'targetInfo',
  'scopeInfo',
] as const satisfies ReadonlyArray<keyof ClusterPrimaryOptions>;

const ENDPOINT_KEYS = [
  'mode',
  'port',
  'host',
  'path',
  'basicAuth',
  'bearerToken',
  'tls',
  'timeout',
  'maxConcurrentScrapes',
  'maxScrapesPerConnection',
] as const satisfies ReadonlyArray<keyof EndpointOptions>;

function fail(option: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  throw new TypeError(
    `express-otel-metrics: option \`${option}\` must be ${expected}, got ${shown}`,
  );
}

function checkString(option: string, value: unknown): string {
  if (typeof value !== 'string') fail(option, 'a string', value);
  return value;
}

function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(option, 'a boolean', value);
  return value;
}

function checkPort(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    fail(option, 'an integer port from 0 to 65535', value);
  }
  return value;
}

function checkBuckets(option: string, value: unknown): readonly number[] {
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (b, i) =>
        typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > (value[i - 1] as number)),
    );
  if (!ok) fail(option, 'a non-empty, strictly increasing array of finite numbers', value);
  return [...(value as number[])];
}

function checkLimit(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2) {
    fail('cardinalityLimit', 'an integer of at least 2', value);
  }
  return value;
}

function checkExcludePaths(value: unknown): ReadonlyArray<string | RegExp> {
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' || p instanceof RegExp)) {
    fail('excludePaths', 'an array of strings and RegExps', value);
  }
  return [...(value as Array<string | RegExp>)];
}

function resolveCollectors(value: unknown): Required<CollectorOptions> {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null) fail('collectors', 'an object', value);
  const given = value as Record<string, unknown>;
  // A misspelt group would otherwise be ignored and its series silently kept.
  for (const key of Object.keys(given)) {
    if (!(COLLECTOR_GROUPS as readonly string[]).includes(key)) {
      throw new TypeError(
        `express-otel-metrics: option \`collectors\` has no group "${key}"; the groups are ${COLLECTOR_GROUPS.join(', ')}`,
      );
    }
  }
  const resolved = {} as Required<CollectorOptions>;
  for (const group of COLLECTOR_GROUPS) {
    resolved[group] = checkBoolean(`collectors.${group}`, given[group] ?? true);
  }
  return resolved;
}

function envPort(env: Env): number | undefined {
  const raw = env.OTEL_EXPORTER_PROMETHEUS_PORT;
  if (raw === undefined || raw.trim() === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `express-otel-metrics: OTEL_EXPORTER_PROMETHEUS_PORT must be an integer port from 0 to 65535, got ${JSON.stringify(raw)}`,
    );
  }
  return port;
}

function resolveEndpoint(value: unknown, env: Env): ResolvedEndpoint {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null) fail('endpoint', 'an object', value);
  checkKeys('endpoint', value, ENDPOINT_KEYS);
  const e = value as EndpointOptions;
  const mode = e.mode ?? 'port';
  if (mode !== 'port' && mode !== 'app' && mode !== 'none') {
    fail('endpoint.mode', "'port', 'app' or 'none'", mode);
  }
  const path = checkString('endpoint.path', e.path ?? DEFAULT_METRICS_PATH);
  if (!path.startsWith('/')) fail('endpoint.path', "a path starting with '/'", path);
  const envHost = env.OTEL_EXPORTER_PROMETHEUS_HOST?.trim();
  return {
    mode,
    port: checkPort('endpoint.port', e.port ?? envPort(env) ?? DEFAULT_METRICS_PORT),
    host: checkString('endpoint.host', e.host ?? (envHost || DEFAULT_METRICS_HOST)),
    path,
    basicAuth: resolveBasicAuth(e.basicAuth),
    bearerToken:
      e.bearerToken === undefined ? undefined : checkSecret('endpoint.bearerToken', e.bearerToken),
    tls: resolveTls(e.tls, mode),
    timeout: checkTimeout(e.timeout ?? DEFAULT_SCRAPE_TIMEOUT_MS),
    maxConcurrentScrapes: checkCount(
      'endpoint.maxConcurrentScrapes',
      e.maxConcurrentScrapes ?? DEFAULT_MAX_CONCURRENT_SCRAPES,
    ),
    maxScrapesPerConnection: checkCount(
      'endpoint.maxScrapesPerConnection',
      e.maxScrapesPerConnection ?? DEFAULT_MAX_SCRAPES_PER_CONNECTION,
    ),
  };
}

function checkCount(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(option, 'a positive integer', value);
  }
  return value;
}

function checkTimeout(value: unknown): number {
  // setTimeout's ceiling (about 24.8 days); above it Node fires at once.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    fail('endpoint.timeout', 'an integer number of milliseconds from 1 to 2147483647', value);
  }
  return value;
}

function checkSecret(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') fail(option, 'a non-empty string', typeof value);
  return value;
}

function resolveBasicAuth(value: unknown): ResolvedEndpoint['basicAuth'] {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) fail('endpoint.basicAuth', 'an object', value);
  const { username, password } = value as { username?: unknown; password?: unknown };
  // A colon ends the user name in the Basic scheme, so a name containing one could never match.
  if (typeof username !== 'string' || username === '' || username.includes(':')) {
    fail('endpoint.basicAuth.username', 'a non-empty string without ":"', username);
  }
  return { username, password: checkSecret('endpoint.basicAuth.password', password) };
}

function resolveTls(value: unknown, mode: string): ResolvedEndpoint['tls'] {
  if (value === undefined) return undefined;
  if (mode !== 'port') fail('endpoint.tls', "used with endpoint.mode 'port' only", `mode ${mode}`);
  if (typeof value !== 'object' || value === null) fail('endpoint.tls', 'an object', value);
  const { key, cert } = value as { key?: unknown; cert?: unknown };
  const pem = (option: string, v: unknown): string | Buffer => {
    if (typeof v !== 'string' && !Buffer.isBuffer(v))
      fail(option, 'a PEM string or Buffer', typeof v);
    return v;
  };
  return { key: pem('endpoint.tls.key', key), cert: pem('endpoint.tls.cert', cert) };
}

/**
 * What the SDK calls on a reader it is given. They are looked for rather than `instanceof
 * MetricReader`, which would refuse a reader made by another copy of the SDK (an ES module app
 * next to this package's CommonJS build, or another release).
 */
const READER_METHODS = ['setMetricProducer', 'collect', 'forceFlush', 'shutdown'] as const;

function isReader(value: unknown): value is IMetricReader {
  if (typeof value !== 'object' || value === null) return false;
  const reader = value as Record<string, unknown>;
  return READER_METHODS.every((method) => typeof reader[method] === 'function');
}

function exportersError(got: string): never {
  const names = EXPORTER_NAMES.map((name) => `'${name}'`).join(', ');
  throw new TypeError(
    `express-otel-metrics: option \`exporters\` must be ${names}, a MetricReader, or a non-empty array of them ('none' alone), got ${got}`,
  );
}

function resolveExporterOption(value: unknown): readonly ExporterChoice[] | undefined {
  if (value === undefined) return undefined;
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0) exportersError('an empty array');
  for (const entry of list) {
    if (typeof entry === 'string') {
      if (!(EXPORTER_NAMES as readonly string[]).includes(entry)) {
        exportersError(JSON.stringify(entry));
      }
    } else if (!isReader(entry)) {
      exportersError(
        typeof entry === 'object' && entry !== null
          ? `an object without ${READER_METHODS.join(', ')}`
          : String(entry),
      );
    }
  }
  const unique = [...new Set(list)] as ExporterChoice[];
  if (unique.includes('none') && unique.length > 1) {
    exportersError(unique.map((e) => (typeof e === 'string' ? e : 'a MetricReader')).join(', '));
  }
  return unique;
}

function checkMeterProvider(value: unknown): MeterProvider | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null) {
    if (typeof (value as { getMeter?: unknown }).getMeter === 'function') {
      return value as MeterProvider;
    }
    value = 'an object without getMeter';
  }
  return fail('meterProvider', 'a MeterProvider (an object with a getMeter method)', value);
}

/** Options that only shape the Prometheus exposition. */
const PROMETHEUS_ONLY = [
  'endpoint',
  'targetInfo',
  'scopeInfo',
  'cluster',
  'workerIndex',
] as const satisfies ReadonlyArray<keyof RegisterMetricsOptions>;

/**
 * Options that contradict each other in code are refused, so that a setting that can never take
 * effect does not pass unnoticed. Exporters chosen by `OTEL_METRICS_EXPORTER` are not held against
 * the Prometheus options: moving to OTLP stays a change of one variable, and the code's endpoint
 * settings wait unused meanwhile.
 */
function checkExportConflicts(
  o: RegisterMetricsOptions,
  exporters: readonly ExporterChoice[] | undefined,
  meterProvider: MeterProvider | undefined,
): void {
  if (meterProvider !== undefined && exporters !== undefined) {
    throw new TypeError(
      'express-otel-metrics: options `exporters` and `meterProvider` exclude each other; the readers of your provider export its metrics',
    );
  }
  let reason: string | undefined;
  if (meterProvider !== undefined) {
    reason = 'with `meterProvider` the package serves no exposition';
  } else if (exporters !== undefined && !exporters.includes('prometheus')) {
    reason = "`exporters` leaves 'prometheus' out";
  }
  if (reason === undefined) return;
  for (const key of PROMETHEUS_ONLY) {
    if (o[key] !== undefined) {
      throw new TypeError(
        `express-otel-metrics: option \`${key}\` shapes the Prometheus exposition, but ${reason}`,
      );
    }
  }
}

/**
 * Merges the defaults once and validates once, so that a wrong option fails at setup with a
 * TypeError naming it, never later on the request path.
 */
export function resolveOptions(options: unknown, env: Env = process.env): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  checkKeys('', options, OPTION_KEYS);
  const o = options as RegisterMetricsOptions;
  const exporters = resolveExporterOption(o.exporters);
  const meterProvider = checkMeterProvider(o.meterProvider);
  checkExportConflicts(o, exporters, meterProvider);
  const naming = checkNaming(o.naming ?? 'prometheus');
  const cluster = checkBoolean('cluster', o.cluster ?? false);
  const workerIndex = checkWorkerIndex(o.workerIndex);
  if (cluster && workerIndex !== undefined) {
    throw new TypeError(
      'express-otel-metrics: options `cluster` and `workerIndex` exclude each other: in cluster mode the primary serves every worker on one port',
    );
  }
  if (cluster && o.endpoint !== undefined) {
    throw new TypeError(
      'express-otel-metrics: option `endpoint` has no effect with `cluster: true`, where the primary serves the metrics; pass it to serveClusterMetrics() in the primary',
    );
  }
  const endpoint = resolveEndpoint(o.endpoint, env);
  if (workerIndex !== undefined && endpoint.mode === 'port' && endpoint.port !== 0) {
    const port = endpoint.port + workerIndex;
    if (port > 65535) {
      fail(
        'workerIndex',
        `at most ${65535 - endpoint.port} with endpoint.port ${endpoint.port}`,
        workerIndex,
      );
    }
    endpoint.port = port;
  }
  return {
    appVersion: checkString('appVersion', o.appVersion ?? 'unknown'),
    appConfig: checkString('appConfig', o.appConfig ?? 'unknown'),
    latencyBuckets: checkBuckets('latencyBuckets', o.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS),
    gcDurationBuckets: checkBuckets(
      'gcDurationBuckets',
      o.gcDurationBuckets ??
        (naming === 'semconv' ? SEMCONV_DURATION_BUCKETS : DEFAULT_GC_DURATION_BUCKETS),
    ),
    collectors: resolveCollectors(o.collectors),
    excludePaths: checkExcludePaths(o.excludePaths ?? []),
    extraLabels: resolveExtraLabels(o.extraLabels, naming),
    cardinalityLimit: checkLimit(o.cardinalityLimit ?? 2000),
    endpoint,
    targetInfo: checkBoolean('targetInfo', o.targetInfo ?? false),
    scopeInfo: checkBoolean('scopeInfo', o.scopeInfo ?? false),
    exporters,
    meterProvider,
    naming,
    cluster,
    workerIndex,
  };
}

function checkWorkerIndex(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    fail('workerIndex', 'an integer from 0 to 65535', value);
  }
  return value;
}

/** The primary's options after defaults and validation. */
export interface ResolvedPrimaryOptions {
  /** The options its own collectors and exposition read, as `registerMetrics` resolves them. */
  base: ResolvedOptions;
  workerTimeout: number;
}

/** The default of `workerTimeout`: well inside Prometheus' default scrape timeout of 10 s. */
export const DEFAULT_WORKER_TIMEOUT_MS = 2000;

export function resolvePrimaryOptions(
  options: unknown,
  env: Env = process.env,
): ResolvedPrimaryOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  checkKeys('', options, PRIMARY_OPTION_KEYS);
  const { workerTimeout, ...rest } = options as ClusterPrimaryOptions;
  const base = resolveOptions(rest, env);
  if (base.endpoint.mode === 'app') {
    fail('endpoint.mode', "'port' or 'none' (the primary has no app to mount it on)", 'app');
  }
  const timeout = workerTimeout ?? DEFAULT_WORKER_TIMEOUT_MS;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1) {
    fail('workerTimeout', 'a positive integer number of milliseconds', timeout);
  }
  if (timeout >= base.endpoint.timeout) {
    fail(
      'workerTimeout',
      `less than endpoint.timeout (${base.endpoint.timeout} ms), so that a scrape is answered before it is cut off`,
      timeout,
    );
  }
  return { base, workerTimeout: timeout };
}

function checkNaming(value: unknown): Naming {
  if (!(NAMINGS as readonly unknown[]).includes(value))
    fail('naming', "'prometheus' or 'semconv'", value);
  return value as Naming;
}

/** An exporter the package builds, with its settings from the environment, or the user's reader. */
export type ResolvedExporter =
  | { type: 'prometheus' }
  | {
      type: 'otlp';
      protocol: OtlpProtocol;
      /** What chose the protocol, for the message when its exporter package is missing. */
      askedBy: string;
      temporality: OtlpTemporality;
      interval: number;
      timeout: number;
    }
  | { type: 'console'; interval: number; timeout: number }
  | { type: 'reader'; reader: IMetricReader };

/** Where the recorded metrics go. */
export type ResolvedExport =
  /** `OTEL_SDK_DISABLED=true`: nothing is recorded. */
  | { kind: 'disabled' }
  /** The user's provider, whose own readers export. */
  | { kind: 'provider'; meterProvider: MeterProvider }
  /**
   * A provider of the package's own, read by these exporters (none for `'none'`); `summary`
   * names them and where they were chosen, for messages.
   */
  | { kind: 'own'; exporters: ResolvedExporter[]; summary: string };

/** A variable's value, trimmed; undefined when unset or empty, which the specification treats alike. */
function envValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function envFail(name: string, expected: string, got: string): never {
  throw new TypeError(
    `express-otel-metrics: ${name} must be ${expected}, got ${JSON.stringify(got)}`,
  );
}

/**
 * `OTEL_SDK_DISABLED` and the like, as the specification reads booleans: "true" in any case is
 * true, anything else false. A value other than "false" is reported, as it was probably meant.
 */
function envBoolean(env: Env, name: string): boolean {
  const raw = envValue(env, name);
  if (raw === undefined) return false;
  const value = raw.toLowerCase();
  if (value === 'true') return true;
  if (value !== 'false') {
    diag.warn(
      `express-otel-metrics: ${name} is ${JSON.stringify(raw)}; only "true" and "false" are understood, so it counts as false`,
    );
  }
  return false;
}

/** One of `allowed`, in any case; undefined when the variable is unset or empty. */
function envEnum<T extends string>(env: Env, name: string, allowed: readonly T[]): T | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const value = raw.toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    envFail(name, `one of ${allowed.join(', ')}`, raw);
  }
  return value as T;
}

/**
 * `OTEL_METRICS_EXPORTER`. The specification lets an SDK warn about a name it does not know and go
 * on without it; here it is an error, as a wrong option is: a misspelt `otlp` would otherwise leave
 * the app exporting nothing, to be noticed when the dashboards stay empty.
 */
function envExporters(env: Env): ExporterName[] | undefined {
  const raw = envValue(env, 'OTEL_METRICS_EXPORTER');
  if (raw === undefined) return undefined;
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter((name) => name !== ''),
    ),
  ];
  for (const name of names) {
    if (!(EXPORTER_NAMES as readonly string[]).includes(name)) {
      envFail(
        'OTEL_METRICS_EXPORTER',
        `a comma-separated list of ${EXPORTER_NAMES.join(', ')} (not ${JSON.stringify(name)})`,
        raw,
      );
    }
  }
  if (names.includes('none') && names.length > 1) {
    envFail('OTEL_METRICS_EXPORTER', "'none' alone or a list without it", raw);
  }
  return names.length === 0 ? undefined : (names as ExporterName[]);
}

/** A duration in milliseconds from a variable: a positive integer that a timer can hold. */
function envMillis(env: Env, name: string, fallback: number): number {
  const raw = envValue(env, name);
  if (raw === undefined) return fallback;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    envFail(name, 'an integer number of milliseconds from 1 to 2147483647', raw);
  }
  return ms;
}

function exportSchedule(env: Env): { interval: number; timeout: number } {
  const interval = envMillis(env, 'OTEL_METRIC_EXPORT_INTERVAL', DEFAULT_EXPORT_INTERVAL_MS);
  const timeout = envMillis(env, 'OTEL_METRIC_EXPORT_TIMEOUT', DEFAULT_EXPORT_TIMEOUT_MS);
  // An export may not outlast its interval (the SDK's reader refuses that), so a short interval
  // set alone, as in a test, shortens the default timeout with it.
  return { interval, timeout: Math.min(timeout, interval) };
}

/** The OTLP protocol, and what chose it; the variable for metrics wins over the one for every signal. */
function otlpProtocol(env: Env, chosenBy: string): { protocol: OtlpProtocol; askedBy: string } {
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = envEnum(env, name, OTLP_PROTOCOLS);
    if (protocol !== undefined) return { protocol, askedBy: `${name}=${protocol}` };
  }
  return {
    protocol: DEFAULT_OTLP_PROTOCOL,
    askedBy: `${chosenBy}, with OTLP's default protocol ${DEFAULT_OTLP_PROTOCOL},`,
  };
}

function resolveExporter(choice: ExporterChoice, env: Env, chosenBy: string): ResolvedExporter[] {
  switch (choice) {
    case 'none':
      return [];
    case 'prometheus':
      return [{ type: 'prometheus' }];
    case 'otlp':
      return [
        {
          type: 'otlp',
          ...otlpProtocol(env, chosenBy),
          temporality:
            envEnum(env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', OTLP_TEMPORALITIES) ??
            'cumulative',
          ...exportSchedule(env),
        },
      ];
    case 'console':
      return [{ type: 'console', ...exportSchedule(env) }];
    default:
      return [{ type: 'reader', reader: choice }];
  }
}

/**
 * Where the metrics go, from the options and the `OTEL_*` variables; only the variables of the
 * exporters in use are read (and validated), and none at all once `OTEL_SDK_DISABLED` is true.
 */
export function resolveExport(
  options: Pick<ResolvedOptions, 'exporters' | 'meterProvider'>,
  env: Env = process.env,
): ResolvedExport {
  if (envBoolean(env, 'OTEL_SDK_DISABLED')) return { kind: 'disabled' };
  if (options.meterProvider !== undefined) {
    return { kind: 'provider', meterProvider: options.meterProvider };
  }
  const fromEnv = options.exporters === undefined ? envExporters(env) : undefined;
  const chosen = options.exporters ?? fromEnv ?? [DEFAULT_EXPORTER];
  const source =
    options.exporters !== undefined
      ? 'option exporters'
      : fromEnv !== undefined
        ? 'OTEL_METRICS_EXPORTER'
        : 'the default';
  const names = chosen.map((c) => (typeof c === 'string' ? c : 'a MetricReader')).join(', ');
  const chosenBy =
    source === 'OTEL_METRICS_EXPORTER'
      ? `OTEL_METRICS_EXPORTER=${envValue(env, 'OTEL_METRICS_EXPORTER') as string}`
      : `the option exporters`;
  return {
    kind: 'own',
    exporters: chosen.flatMap((choice) => resolveExporter(choice, env, chosenBy)),
    summary: `${names} (${source})`,
  };
}
