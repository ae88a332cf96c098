import { diag } from '@opentelemetry/api';

/**
 * Reports a failure inside the package through OpenTelemetry's `diag`, once per `key`, so a fault
 * hit on every request neither floods the log nor goes unseen.
 */
export function createReporter(
  level: 'error' | 'warn' = 'error',
): (key: string, message: string, err?: unknown) => void {
  const seen = new Set<string>();
  return (key, message, err) => {
    if (seen.has(key)) return;
    seen.add(key);
    diag[level](`express-otel-metrics: ${message}`, ...(err === undefined ? [] : [err]));
  };
}

export type Reporter = ReturnType<typeof createReporter>;
