/**
 * The `OTEL_*` variables the package reads, as the specification defines them
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/). A variable
 * is read only where it takes effect: the OTLP ones when OTLP is chosen, the Prometheus endpoint's
 * when an endpoint listens on a port, none at all while `OTEL_SDK_DISABLED` is true. A wrong value
 * is then a `TypeError` naming the variable, at setup, as a wrong option is.
 */

import type { Reporter } from '../report.js';
import { inRange, invalid, MILLISECONDS, type IntegerRange } from './checks.js';
import { DEFAULT_EXPORT_INTERVAL_MS, DEFAULT_EXPORT_TIMEOUT_MS } from './defaults.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A variable's value, trimmed; undefined when unset or empty, which the specification treats alike. */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** An integer from a variable, in `range`; undefined when the variable is unset. */
export function envInteger(env: Env, name: string, range: IntegerRange): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!inRange(value, range)) invalid(name, range.expected, JSON.stringify(raw));
  return value;
}

/** One of `allowed`, in any case; undefined when the variable is unset. */
export function envEnum<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const value = raw.toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) {
    invalid(name, `one of ${allowed.join(', ')}`, JSON.stringify(raw));
  }
  return value as T;
}

/**
 * `OTEL_SDK_DISABLED` and the like, as the specification reads booleans: "true" in any case is
 * true, anything else false. A value other than "false" is reported, as it was probably meant.
 */
export function envBoolean(env: Env, name: string, report: Reporter): boolean {
  const raw = envValue(env, name);
  if (raw === undefined) return false;
  const value = raw.toLowerCase();
  if (value === 'true') return true;
  if (value !== 'false') {
    report.warn(
      `env:${name}`,
      `${name} is ${JSON.stringify(raw)}; only "true" and "false" are understood, so it counts as false`,
    );
  }
  return false;
}

/**
 * The schedule of the push exporters. An export may not outlast its interval (the SDK's reader
 * refuses that), so a short interval set alone, as in a test, shortens the default timeout with it;
 * a timeout set above the interval is refused, as any other wrong value is.
 */
export function exportSchedule(env: Env): { interval: number; timeout: number } {
  const interval =
    envInteger(env, 'OTEL_METRIC_EXPORT_INTERVAL', MILLISECONDS) ?? DEFAULT_EXPORT_INTERVAL_MS;
  const timeout = envInteger(env, 'OTEL_METRIC_EXPORT_TIMEOUT', {
    min: MILLISECONDS.min,
    max: interval,
    expected: `an integer number of milliseconds from 1 to ${interval}, the export interval`,
  });
  return { interval, timeout: timeout ?? Math.min(DEFAULT_EXPORT_TIMEOUT_MS, interval) };
}
