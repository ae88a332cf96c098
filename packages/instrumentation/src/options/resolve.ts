/**
 * The options merged with their defaults once and validated once, so that a wrong option fails at
 * setup with a TypeError naming it, never later on the request path. Each option is resolved by
 * one entry of {@link OPTIONS}, whose keys the compiler holds to those of the public interface.
 */

import { NAMINGS, type Naming } from '../catalogue.js';
import { SEMCONV_REQUEST_ATTRIBUTES, WORKER_LABEL } from '../labels.js';
import {
  boolean,
  buckets,
  integer,
  invalid,
  knownKeys,
  MILLISECONDS,
  MILLISECONDS_OR_OFF,
  NATIVE_MAX_SCALE,
  NATIVE_MAX_SIZE,
  oneOf,
  option,
  SERIES_LIMIT,
  shown,
  string,
  WORKER_INDEX,
} from './checks.js';
import {
  DEFAULT_CARDINALITY_LIMIT,
  DEFAULT_GATHER_INTERVAL_MS,
  DEFAULT_GC_DURATION_BUCKETS,
  DEFAULT_LATENCY_BUCKETS,
  DEFAULT_NATIVE_HISTOGRAM_MAX_SCALE,
  DEFAULT_NATIVE_HISTOGRAM_MAX_SIZE,
  DEFAULT_WORKER_TIMEOUT_MS,
  SEMCONV_DURATION_BUCKETS,
} from './defaults.js';
import { resolveEndpoint } from './endpoint.js';
import { checkExporters, checkMeterProvider } from './exporters.js';
import {
  LATENCY_HISTOGRAMS,
  TRANSLATION_STRATEGIES,
  type ClusterPrimaryOptions,
  type PrometheusReaderOptions,
  type CollectorGroup,
  type CollectorOptions,
  type ExtraLabelsOption,
  type RegisterMetricsOptions,
  type TranslationStrategy,
} from './types.js';

/** Every collector group, checked against the interface by the compiler. */
export const COLLECTOR_GROUPS = Object.keys({
  process: 0,
  runtime: 0,
  gc: 0,
  eventLoop: 0,
} satisfies Record<CollectorGroup, 0>) as CollectorGroup[];

function collectors(value: unknown): Required<CollectorOptions> {
  const given = knownKeys('collectors', value, COLLECTOR_GROUPS, 'group');
  const resolved = {} as Required<CollectorOptions>;
  for (const group of COLLECTOR_GROUPS) {
    resolved[group] = boolean(`collectors.${group}`, given[group] ?? true);
  }
  return resolved;
}

function excludePaths(value: unknown): ReadonlyArray<string | RegExp> {
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' || p instanceof RegExp)) {
    invalid(option('excludePaths'), 'an array of strings and RegExps', shown(value));
  }
  return [...(value as Array<string | RegExp>)];
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

function extraLabels(value: unknown, naming: Naming): ExtraLabelsOption | undefined {
  if (value === undefined) return undefined;
  const { names, values } = knownKeys('extraLabels', value, ['names', 'values']);
  if (!Array.isArray(names))
    invalid(option('extraLabels.names'), 'an array of label names', shown(names));
  for (const name of names) {
    if (typeof name !== 'string' || !LABEL_NAME.test(name) || name.startsWith('__')) {
      invalid(
        option('extraLabels.names'),
        'Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*, not __...)',
        shown(name),
      );
    }
    if (TAKEN_LABELS[naming].includes(name)) {
      invalid(option('extraLabels.names'), 'names the package does not use itself', shown(name));
    }
  }
  if (new Set(names).size !== names.length) {
    invalid(option('extraLabels.names'), 'distinct names', shown(names));
  }
  if (typeof values !== 'function') {
    invalid(option('extraLabels.values'), 'a function (req, res) => labels', shown(values));
  }
  return { names: [...(names as string[])], values: values as ExtraLabelsOption['values'] };
}

function translationStrategy(value: unknown, resolved: { naming: Naming }): TranslationStrategy {
  const strategy = oneOf(
    'translationStrategy',
    value ?? 'UnderscoreEscapingWithSuffixes',
    TRANSLATION_STRATEGIES,
  );
  // The 'prometheus' naming's names are the seed's, with no dots to keep.
  if (strategy !== 'UnderscoreEscapingWithSuffixes' && resolved.naming !== 'semconv') {
    invalid(
      option('translationStrategy'),
      "'UnderscoreEscapingWithSuffixes' unless naming is 'semconv'",
      shown(strategy),
    );
  }
  return strategy;
}

function serviceName(value: unknown): string {
  const name = string('serviceName', value);
  if (name === '') invalid(option('serviceName'), 'a non-empty string', shown(name));
  return name;
}

/**
 * How each option is resolved from its given value (undefined when absent) and the options
 * resolved before it (`naming` comes first: two defaults and a check depend on it).
 */
const OPTIONS = {
  appVersion: (v: unknown) => string('appVersion', v ?? 'unknown'),
  appConfig: (v: unknown) => string('appConfig', v ?? 'unknown'),
  latencyBuckets: (v: unknown) => buckets('latencyBuckets', v ?? DEFAULT_LATENCY_BUCKETS),
  latencyHistogram: (v: unknown) => oneOf('latencyHistogram', v ?? 'classic', LATENCY_HISTOGRAMS),
  nativeHistogramMaxSize: (v: unknown) =>
    integer('nativeHistogramMaxSize', v ?? DEFAULT_NATIVE_HISTOGRAM_MAX_SIZE, NATIVE_MAX_SIZE),
  nativeHistogramMaxScale: (v: unknown) =>
    integer('nativeHistogramMaxScale', v ?? DEFAULT_NATIVE_HISTOGRAM_MAX_SCALE, NATIVE_MAX_SCALE),
  gcDurationBuckets: (v: unknown, r: { naming: Naming }) =>
    buckets(
      'gcDurationBuckets',
      v ?? (r.naming === 'semconv' ? SEMCONV_DURATION_BUCKETS : DEFAULT_GC_DURATION_BUCKETS),
    ),
  collectors,
  excludePaths: (v: unknown) => excludePaths(v ?? []),
  extraLabels: (v: unknown, r: { naming: Naming }) => extraLabels(v, r.naming),
  cardinalityLimit: (v: unknown) =>
    integer('cardinalityLimit', v ?? DEFAULT_CARDINALITY_LIMIT, SERIES_LIMIT),
  exemplars: (v: unknown) => boolean('exemplars', v ?? true),
  inFlight: (v: unknown) => boolean('inFlight', v ?? false),
  bodySizes: (v: unknown) => boolean('bodySizes', v ?? false),
  endpoint: resolveEndpoint,
  serviceName: (v: unknown) => (v === undefined ? undefined : serviceName(v)),
  targetInfo: (v: unknown) => boolean('targetInfo', v ?? false),
  scopeInfo: (v: unknown) => boolean('scopeInfo', v ?? false),
  exporters: checkExporters,
  meterProvider: checkMeterProvider,
  naming: (v: unknown) => oneOf('naming', v ?? 'prometheus', NAMINGS),
  translationStrategy,
  cluster: (v: unknown) => boolean('cluster', v ?? false),
  workerIndex: (v: unknown) =>
    v === undefined ? undefined : integer('workerIndex', v, WORKER_INDEX),
} satisfies Record<
  keyof RegisterMetricsOptions,
  (value: unknown, resolved: { naming: Naming }) => unknown
>;

/** The options after defaults and validation; what the rest of the package reads. */
export type ResolvedOptions = { [K in keyof typeof OPTIONS]: ReturnType<(typeof OPTIONS)[K]> };

/** The names of the options, in the order of the README's table. */
export const OPTION_KEYS = Object.keys(OPTIONS) as Array<keyof RegisterMetricsOptions>;

/** Options that only shape the Prometheus exposition. */
const PROMETHEUS_ONLY = [
  'endpoint',
  'translationStrategy',
  'nativeHistogramMaxScale',
  'exemplars',
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
function checkCombinations(given: Record<string, unknown>, r: ResolvedOptions): void {
  if (r.meterProvider !== undefined && r.exporters !== undefined) {
    throw new TypeError(
      'express-otel-metrics: options `exporters` and `meterProvider` exclude each other; the readers of your provider export its metrics',
    );
  }
  const reason =
    r.meterProvider !== undefined
      ? 'with `meterProvider` the package serves no exposition'
      : r.exporters !== undefined && !r.exporters.includes('prometheus')
        ? "`exporters` leaves 'prometheus' out"
        : undefined;
  if (r.meterProvider !== undefined && r.serviceName !== undefined) {
    throw new TypeError(
      "express-otel-metrics: option `serviceName` names the package's own provider, but with `meterProvider` the resource is your provider's",
    );
  }
  if (reason !== undefined) {
    // With `meterProvider`, the exemplars go to createPrometheusReader's exposition (shared.ts).
    const key = PROMETHEUS_ONLY.find(
      (k) => given[k] !== undefined && !(k === 'exemplars' && r.meterProvider !== undefined),
    );
    if (key !== undefined) {
      throw new TypeError(
        `express-otel-metrics: option \`${key}\` shapes the Prometheus exposition, but ${reason}`,
      );
    }
  }
  if (r.cluster && r.workerIndex !== undefined) {
    throw new TypeError(
      'express-otel-metrics: options `cluster` and `workerIndex` exclude each other: in cluster mode the primary serves every worker on one port',
    );
  }
  for (const key of ['translationStrategy', 'nativeHistogramMaxScale'] as const) {
    if (r.cluster && given[key] !== undefined) {
      throw new TypeError(
        `express-otel-metrics: option \`${key}\` has no effect with \`cluster: true\`, where the primary writes the exposition; pass it to serveClusterMetrics() in the primary`,
      );
    }
  }
  if (r.cluster && given.endpoint !== undefined) {
    throw new TypeError(
      'express-otel-metrics: option `endpoint` has no effect with `cluster: true`, where the primary serves the metrics; pass it to serveClusterMetrics() in the primary',
    );
  }
}

export function resolveOptions(options: unknown): ResolvedOptions {
  const given = knownKeys('', options, OPTION_KEYS);
  const naming = OPTIONS.naming(given.naming);
  const resolved = {} as Record<string, unknown>;
  for (const key of OPTION_KEYS) resolved[key] = OPTIONS[key](given[key], { naming });
  checkCombinations(given, resolved as ResolvedOptions);
  return resolved as ResolvedOptions;
}

/** The primary's options after defaults and validation. */
export interface ResolvedPrimaryOptions {
  /** The options its own collectors and exposition read, as `registerMetrics` resolves them. */
  base: ResolvedOptions;
  workerTimeout: number;
  /** `0`: every scrape asks the workers. */
  gatherInterval: number;
}

/** Every key of {@link ClusterPrimaryOptions}, checked against the interface by the compiler. */
const PRIMARY_OPTION_KEYS = Object.keys({
  endpoint: 0,
  workerTimeout: 0,
  gatherInterval: 0,
  collectors: 0,
  gcDurationBuckets: 0,
  naming: 0,
  translationStrategy: 0,
  nativeHistogramMaxScale: 0,
  targetInfo: 0,
  scopeInfo: 0,
} satisfies Record<keyof ClusterPrimaryOptions, 0>);

export function resolvePrimaryOptions(options: unknown): ResolvedPrimaryOptions {
  const { workerTimeout, gatherInterval, ...rest } = knownKeys('', options, PRIMARY_OPTION_KEYS);
  const base = resolveOptions(rest);
  if (base.endpoint.mode === 'app') {
    invalid(
      option('endpoint.mode'),
      "'port' or 'none' (the primary has no app to mount it on)",
      shown('app'),
    );
  }
  const timeout = integer(
    'workerTimeout',
    workerTimeout ?? DEFAULT_WORKER_TIMEOUT_MS,
    MILLISECONDS,
  );
  if (timeout >= base.endpoint.timeout) {
    invalid(
      option('workerTimeout'),
      `less than endpoint.timeout (${base.endpoint.timeout} ms), so that a scrape is answered before it is cut off`,
      shown(timeout),
    );
  }
  const interval = integer(
    'gatherInterval',
    gatherInterval ?? DEFAULT_GATHER_INTERVAL_MS,
    MILLISECONDS_OR_OFF,
  );
  return { base, workerTimeout: timeout, gatherInterval: interval };
}

/** Every key of {@link PrometheusReaderOptions}, checked against the interface by the compiler. */
const READER_OPTION_KEYS = Object.keys({
  endpoint: 0,
  naming: 0,
  translationStrategy: 0,
  nativeHistogramMaxScale: 0,
  targetInfo: 0,
  scopeInfo: 0,
} satisfies Record<keyof PrometheusReaderOptions, 0>);

/** The reader's options after defaults and validation, in the form `registerMetrics` reads. */
export function resolveReaderOptions(options: unknown): ResolvedOptions {
  const given = knownKeys('', options, READER_OPTION_KEYS);
  const resolved = resolveOptions({ ...given, scopeInfo: given.scopeInfo ?? true });
  if (resolved.endpoint.mode === 'app') {
    invalid(
      option('endpoint.mode'),
      "'port' or 'none' (the reader has no app to mount it on; mount its handler instead)",
      shown('app'),
    );
  }
  return resolved;
}
