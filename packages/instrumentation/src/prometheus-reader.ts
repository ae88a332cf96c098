import type { RequestListener } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { withAuthentication } from './export/auth.js';
import { openReader, withSharedExemplars } from './exemplars/shared.js';
import { createExposition } from './export/exposition.js';
import { startMetricsServer, type MetricsServer } from './export/server.js';
import { endpointAddress } from './options/endpoint.js';
import { resolveReaderOptions, type ResolvedOptions } from './options/resolve.js';
import type { PrometheusReaderOptions } from './options/types.js';
import { withExemplars } from './pipeline.js';
import { createReporter, type Reporter } from './report.js';

/**
 * A metric reader for a `MeterProvider` of yours that serves what it reads as the package's own
 * endpoint does: the package's writer, gzip, authentication, TLS, the scrape limits, and with
 * `naming: 'semconv'` the names Prometheus' OTLP receiver gives. It is OpenTelemetry's
 * `PrometheusExporter` (its server never started), so the SDK takes it wherever it takes that.
 */
export interface PrometheusReader extends PrometheusExporter {
  /** Settles when the endpoint listens (at once with `endpoint.mode: 'none'`); rejects if it cannot. */
  readonly ready: Promise<void>;
  /** `http://host:port/path` once listening; undefined with `endpoint.mode: 'none'`. */
  readonly url: string | undefined;
  /** The exposition behind its authentication, to mount on a server of yours. */
  readonly handler: RequestListener;
}

class ExpositionReader extends PrometheusExporter implements PrometheusReader {
  readonly ready: Promise<void>;
  readonly handler: RequestListener;
  readonly #server: MetricsServer | undefined;
  readonly #close: () => void;

  constructor(options: ResolvedOptions, report: Reporter) {
    super({ preventServerStart: true });
    this.#close = openReader();
    // With the exemplars of the app's requests, kept by registerMetrics with `meterProvider`.
    const source = withExemplars(this, withSharedExemplars, report);
    const exposition = createExposition(source, options, report);
    const { endpoint } = options;
    this.handler = withAuthentication(exposition.handler, endpoint);
    if (endpoint.mode === 'port') {
      const address = endpointAddress(endpoint, undefined, process.env);
      this.#server = startMetricsServer({ ...endpoint, ...address }, this.handler);
    }
    this.ready = this.#server?.ready ?? Promise.resolve();
    // As for registerMetrics: reported, never an unhandled rejection that ends the app.
    this.ready.catch((err: Error) => report.alert('endpoint:listen', err.message, err.cause));
  }

  get url(): string | undefined {
    return this.#server?.url();
  }

  override async onShutdown(): Promise<void> {
    this.#close();
    await this.#server?.close();
    await super.onShutdown();
  }
}

/**
 * Creates the reader; options are checked here, a wrong one throws a `TypeError` naming it
 * before anything listens. The endpoint stops when the provider shuts the reader down.
 *
 * ```ts
 * new NodeSDK({ views: createViews(options), metricReaders: [createPrometheusReader({ naming })] });
 * ```
 */
export function createPrometheusReader(options: PrometheusReaderOptions = {}): PrometheusReader {
  return new ExpositionReader(resolveReaderOptions(options), createReporter());
}
