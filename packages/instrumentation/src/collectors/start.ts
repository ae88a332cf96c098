import type { Meter, MeterProvider } from '@opentelemetry/api';
import type { ResolvedOptions } from '../options/resolve.js';
import type { Reporter } from '../report.js';
import type { Collector } from './collector.js';

/**
 * Starts the collectors whose group is on; one that fails to start, or whose callback throws, is
 * reported once by name and the others carry on. Returns their stops.
 */
export function startCollectors(
  collectors: readonly Collector[],
  context: { meter: Meter; meterProvider: MeterProvider; options: ResolvedOptions },
  report: Reporter,
): Array<() => void> {
  const stops: Array<() => void> = [];
  for (const collector of collectors) {
    if (collector.group !== undefined && !context.options.collectors[collector.group]) continue;
    const key = `collector:${collector.name}`;
    try {
      stops.push(
        collector.start({
          ...context,
          guard:
            (fn) =>
            (...args) => {
              try {
                fn(...args);
              } catch (err) {
                report.error(key, `the ${collector.name} collector failed`, err);
              }
            },
        }),
      );
    } catch (err) {
      report.error(key, `the ${collector.name} collector failed to start`, err);
    }
  }
  return stops;
}
