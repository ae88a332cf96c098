/** Public options of {@link registerMetrics}, their defaults, and their validation. */

import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';

/** Latency buckets in seconds; the seed's, so its dashboards keep working. */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** GC pause buckets in seconds: pauses are short, and a long one is what matters. */
export const DEFAULT_GC_DURATION_BUCKETS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];

/** The Prometheus default port of OpenTelemetry's exporter (Prometheus' port allocation list). */
export const DEFAULT_METRICS_PORT = 9464;

/**
 * All interfaces, because Prometheus scrapes from another host or container; an app in a
 * container that listened on loopback only would be unreachable.
 */
export const DEFAULT_METRICS_HOST = '0.0.0.0';

export const DEFAULT_METRICS_PATH = '/metrics';

/** Prometheus' default `scrape_timeout`. */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

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
   * Interface of the metrics server.
   * @default process.env.OTEL_EXPORTER_PROMETHEUS_HOST or '0.0.0.0'
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
   * @default DEFAULT_GC_DURATION_BUCKETS (0.001, 0.01, 0.1, 1, 2, 5)
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
   * @default { mode: 'port', port: 9464, host: '0.0.0.0', path: '/metrics' }
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
}

type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedExtraLabels {
  names: readonly string[];
  values: (req: ExpressRequest, res: ExpressResponse) => Record<string, string>;
}

/** Prometheus' label-name rule; `__` starts the names Prometheus keeps for itself. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TAKEN_LABELS = ['method', 'endpoint', 'http_status', 'le'];

function resolveExtraLabels(value: unknown): ResolvedExtraLabels | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) fail('extraLabels', 'an object', value);
  const { names, values } = value as { names?: unknown; values?: unknown };
  if (!Array.isArray(names)) fail('extraLabels.names', 'an array of label names', names);
  for (const name of names) {
    if (typeof name !== 'string' || !LABEL_NAME.test(name) || name.startsWith('__')) {
      fail('extraLabels.names', 'Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*, not __...)', name);
    }
    if (TAKEN_LABELS.includes(name))
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
] as const satisfies ReadonlyArray<keyof RegisterMetricsOptions>;

const ENDPOINT_KEYS = [
  'mode',
  'port',
  'host',
  'path',
  'basicAuth',
  'bearerToken',
  'tls',
  'timeout',
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
  };
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
 * Merges the defaults once and validates once, so that a wrong option fails at setup with a
 * TypeError naming it, never later on the request path.
 */
export function resolveOptions(options: unknown, env: Env = process.env): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  checkKeys('', options, OPTION_KEYS);
  const o = options as RegisterMetricsOptions;
  return {
    appVersion: checkString('appVersion', o.appVersion ?? 'unknown'),
    appConfig: checkString('appConfig', o.appConfig ?? 'unknown'),
    latencyBuckets: checkBuckets('latencyBuckets', o.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS),
    gcDurationBuckets: checkBuckets(
      'gcDurationBuckets',
      o.gcDurationBuckets ?? DEFAULT_GC_DURATION_BUCKETS,
    ),
    collectors: resolveCollectors(o.collectors),
    excludePaths: checkExcludePaths(o.excludePaths ?? []),
    extraLabels: resolveExtraLabels(o.extraLabels),
    cardinalityLimit: checkLimit(o.cardinalityLimit ?? 2000),
    endpoint: resolveEndpoint(o.endpoint, env),
    targetInfo: checkBoolean('targetInfo', o.targetInfo ?? false),
    scopeInfo: checkBoolean('scopeInfo', o.scopeInfo ?? false),
  };
}
