import { diag } from '@opentelemetry/api';

/**
 * How the package tells of what goes wrong after setup (a wrong option is a TypeError at setup
 * instead). Every report goes through OpenTelemetry's `diag` once per `key`, so that a fault met on
 * every request neither floods the log nor goes unseen; the level says who has to act:
 */
export interface Reporter {
  /**
   * Something failed and the package carries on without it (a collector, a callback of the
   * app's, a collection for a scrape, a message to the cluster's primary): `diag.error`.
   */
  error(key: string, message: string, err?: unknown): void;
  /**
   * The data cannot be shown as it was recorded (a series limit reached, a name that two
   * instruments claim with two types, a variable with a value that counts as its default):
   * `diag.warn`.
   */
  warn(key: string, message: string): void;
  /**
   * The package cannot do what it was set up to do (the endpoint cannot listen): `diag.error`,
   * and a process warning, which Node writes to stderr even where no `diag` logger is set.
   */
  alert(key: string, message: string, err?: unknown): void;
}

const PREFIX = 'express-otel-metrics: ';

export function createReporter(): Reporter {
  const seen = new Set<string>();
  const first = (key: string): boolean => {
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  // An error's message made for a caller of the package may carry the prefix already.
  const text = (message: string): string =>
    message.startsWith(PREFIX) ? message : `${PREFIX}${message}`;
  const extra = (err: unknown): unknown[] => (err === undefined ? [] : [err]);
  return {
    error(key, message, err) {
      if (first(key)) diag.error(text(message), ...extra(err));
    },
    warn(key, message) {
      if (first(key)) diag.warn(text(message));
    },
    alert(key, message, err) {
      if (!first(key)) return;
      diag.error(text(message), ...extra(err));
      process.emitWarning(text(message), 'ExpressOtelMetricsWarning');
    },
  };
}
