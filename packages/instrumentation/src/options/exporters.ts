/** Where the recorded metrics go, from the options `exporters` and `meterProvider` and `OTEL_*`. */

import type { MeterProvider } from '@opentelemetry/api';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Reporter } from '../report.js';
import { invalid, option, shown } from './checks.js';
import { envBoolean, envEnum, envValue, exportSchedule, type Env } from './environment.js';
import { EXPORTER_NAMES, type ExporterChoice, type ExporterName } from './types.js';

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

/**
 * What breaks the rules of a list of exporters, whether the option or `OTEL_METRICS_EXPORTER`
 * gives it: a name the package does not build, or `'none'` next to another.
 */
function exporterListProblem(
  list: readonly unknown[],
): { unknownName: string } | { noneNotAlone: true } | undefined {
  const unknownName = list.find(
    (e): e is string => typeof e === 'string' && !(EXPORTER_NAMES as readonly string[]).includes(e),
  );
  if (unknownName !== undefined) return { unknownName };
  if (list.includes('none') && new Set(list).size > 1) return { noneNotAlone: true };
  return undefined;
}

function exportersError(got: string): never {
  const names = EXPORTER_NAMES.map((name) => `'${name}'`).join(', ');
  invalid(
    option('exporters'),
    `${names}, a MetricReader, or a non-empty array of them ('none' alone)`,
    got,
  );
}

/** The option `exporters` as a list without repeats; undefined to let the environment decide. */
export function checkExporters(value: unknown): readonly ExporterChoice[] | undefined {
  if (value === undefined) return undefined;
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0) exportersError('an empty array');
  const notReader = list.find((e) => typeof e !== 'string' && !isReader(e));
  if (notReader !== undefined) {
    exportersError(
      typeof notReader === 'object' && notReader !== null
        ? `an object without ${READER_METHODS.join(', ')}`
        : String(notReader),
    );
  }
  const unique = [...new Set(list)] as ExporterChoice[];
  const problem = exporterListProblem(unique);
  if (problem !== undefined) {
    exportersError(
      'unknownName' in problem
        ? shown(problem.unknownName)
        : unique.map((e) => (typeof e === 'string' ? e : 'a MetricReader')).join(', '),
    );
  }
  return unique;
}

export function checkMeterProvider(value: unknown): MeterProvider | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null) {
    if (typeof (value as { getMeter?: unknown }).getMeter === 'function') {
      return value as MeterProvider;
    }
    value = 'an object without getMeter';
  }
  return invalid(
    option('meterProvider'),
    'a MeterProvider (an object with a getMeter method)',
    shown(value),
  );
}

/**
 * `OTEL_METRICS_EXPORTER`. The specification lets an SDK warn about a name it does not know and go
 * on without it; here it is an error, as a wrong option is: a misspelt `otlp` would otherwise leave
 * the app exporting nothing, to be noticed when the dashboards stay empty.
 */
function envExporters(env: Env): ExporterName[] | undefined {
  const name = 'OTEL_METRICS_EXPORTER';
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((n) => n.trim().toLowerCase())
        .filter((n) => n !== ''),
    ),
  ];
  const problem = exporterListProblem(names);
  if (problem === undefined) return names.length === 0 ? undefined : (names as ExporterName[]);
  if ('unknownName' in problem) {
    const which =
      names.length === 1 ? '' : ` (${JSON.stringify(problem.unknownName)} is not one of them)`;
    invalid(
      name,
      `a comma-separated list of ${EXPORTER_NAMES.join(', ')}`,
      `${JSON.stringify(raw)}${which}`,
    );
  }
  return invalid(name, "'none' alone or a list without it", JSON.stringify(raw));
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
  options: {
    exporters: readonly ExporterChoice[] | undefined;
    meterProvider: MeterProvider | undefined;
  },
  env: Env,
  report: Reporter,
): ResolvedExport {
  if (envBoolean(env, 'OTEL_SDK_DISABLED', report)) return { kind: 'disabled' };
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
