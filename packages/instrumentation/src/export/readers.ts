import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  ConsoleMetricExporter,
  PeriodicExportingMetricReader,
  type IMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { ResolvedExporter } from '../options/exporters.js';
import type { Reporter } from '../report.js';
import { LazyOtlpExporter } from './otlp.js';

export interface Readers {
  /** Every reader, for the provider. */
  all: IMetricReader[];
  /** The Prometheus reader, which the package's exposition reads, when Prometheus is chosen. */
  prometheus: PrometheusExporter | undefined;
}

/** The readers of the chosen exporters; nothing is loaded or started for an exporter not chosen. */
export function createReaders(exporters: readonly ResolvedExporter[], report: Reporter): Readers {
  const all: IMetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  for (const exporter of exporters) {
    switch (exporter.type) {
      case 'prometheus':
        // The package serves the exposition itself (src/export/server.ts, writer.ts).
        prometheus = new PrometheusExporter({ preventServerStart: true });
        all.push(prometheus);
        break;
      case 'otlp':
        all.push(
          new PeriodicExportingMetricReader({
            exporter: new LazyOtlpExporter(exporter.protocol, exporter.temporality, report),
            exportIntervalMillis: exporter.interval,
            exportTimeoutMillis: exporter.timeout,
          }),
        );
        break;
      case 'console':
        all.push(
          new PeriodicExportingMetricReader({
            exporter: new ConsoleMetricExporter(),
            exportIntervalMillis: exporter.interval,
            exportTimeoutMillis: exporter.timeout,
          }),
        );
        break;
      case 'reader':
        all.push(exporter.reader);
        break;
    }
  }
  return { all, prometheus };
}
