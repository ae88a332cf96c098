/**
 * OTLP export through OpenTelemetry's own exporters, loaded only when OTLP is chosen: loading the
 * gRPC one (`@grpc/grpc-js`, protobuf code) added about 5 MiB to the resident memory of an idle
 * app in our measurement, the protobuf one about 2.5 MiB, which an app that Prometheus only scrapes
 * should not carry. They are optional peer dependencies, so that such an app does not install them
 * either: together with the logs and trace SDKs they bring, they were 18 MB and 42 packages of an
 * install of 41 MB.
 */
import { createRequire } from 'node:module';
import { context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { OtlpProtocol, OtlpTemporality } from '../options/exporters.js';
import type { Reporter } from '../report.js';

/** OpenTelemetry's exporter package for each protocol. */
const OTLP_PACKAGES = {
  'http/protobuf': '@opentelemetry/exporter-metrics-otlp-proto',
  'http/json': '@opentelemetry/exporter-metrics-otlp-http',
  grpc: '@opentelemetry/exporter-metrics-otlp-grpc',
} as const satisfies Record<OtlpProtocol, string>;

/** The versions of those packages this one works with: its peer dependency range. */
export const OTLP_EXPORTER_RANGE = '~0.301.0';

/**
 * Resolves from this file, as loading the package will (the ES module build's `__filename` is a
 * shim of the bundler's).
 */
const lookup = createRequire(__filename);

/**
 * Throws when the exporter package of `protocol` is not installed, naming it and `askedBy` (what
 * chose the protocol), so that a missing one stops the app at setup rather than failing each
 * export later, where only a log line would say so.
 */
export function checkOtlpExporterInstalled(
  protocol: OtlpProtocol,
  askedBy: string,
  resolve: (specifier: string) => string = lookup.resolve,
): void {
  const specifier = OTLP_PACKAGES[protocol];
  try {
    resolve(specifier);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(
      `express-otel-metrics: ${askedBy} asks for ${specifier}, an optional peer dependency that is not installed: npm install ${specifier}@${OTLP_EXPORTER_RANGE}`,
    );
  }
}

type ExporterModule =
  | typeof import('@opentelemetry/exporter-metrics-otlp-proto')
  | typeof import('@opentelemetry/exporter-metrics-otlp-http')
  | typeof import('@opentelemetry/exporter-metrics-otlp-grpc');

/**
 * The CommonJS build (and the tests, which run the sources as CommonJS) `require` the package: an
 * `import()` there would load its ES module build, and with it a second copy of the SDK next to
 * the CommonJS one already loaded. The ES module build imports it. The test is on `module` rather
 * than on `require` because the bundler turns every `require` of the ES module build into a stub,
 * which exists there and throws.
 */
function loadModule(specifier: string): Promise<ExporterModule> {
  if (typeof module === 'object' && typeof module?.require === 'function') {
    return Promise.resolve().then(() => module.require(specifier) as ExporterModule);
  }
  return import(specifier) as Promise<ExporterModule>;
}

const cumulative = (): AggregationTemporality => AggregationTemporality.CUMULATIVE;

/**
 * The temporality of each instrument kind under each `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_
 * PREFERENCE`, from the specification's table. Gauges carry no temporality in OTLP; they stay
 * cumulative, as on the Prometheus side.
 */
const TEMPORALITY: Record<OtlpTemporality, (type: InstrumentType) => AggregationTemporality> = {
  cumulative,
  delta: (type) =>
    type === InstrumentType.COUNTER ||
    type === InstrumentType.OBSERVABLE_COUNTER ||
    type === InstrumentType.HISTOGRAM
      ? AggregationTemporality.DELTA
      : AggregationTemporality.CUMULATIVE,
  lowmemory: (type) =>
    type === InstrumentType.COUNTER || type === InstrumentType.HISTOGRAM
      ? AggregationTemporality.DELTA
      : AggregationTemporality.CUMULATIVE,
};

/**
 * Stands in for OpenTelemetry's OTLP exporter of one protocol and loads it on the first export.
 * The periodic reader asks its exporter for the temporality when it is built, before anything is
 * loaded, so that answer comes from the same variable the real exporter reads. Everything else
 * (endpoint, headers, timeout, compression, TLS) the real exporter reads from the
 * `OTEL_EXPORTER_OTLP_*` variables itself.
 */
export class LazyOtlpExporter implements PushMetricExporter {
  private readonly select: (type: InstrumentType) => AggregationTemporality;
  private loading: Promise<PushMetricExporter> | undefined;
  private stopped = false;

  constructor(
    private readonly protocol: OtlpProtocol,
    temporality: OtlpTemporality,
    private readonly report: Reporter,
  ) {
    this.select = TEMPORALITY[temporality];
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return this.select(type);
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    if (this.stopped) {
      done({ code: ExportResultCode.FAILED, error: new Error('the OTLP exporter is shut down') });
      return;
    }
    // The reader exports in a context that keeps tracing off, so that the exporter's own requests
    // are not traced by an app's HTTP instrumentation; it is carried over the load.
    const active = context.active();
    this.exporter().then(
      (exporter) => context.with(active, () => exporter.export(metrics, done)),
      (err: unknown) =>
        done({
          code: ExportResultCode.FAILED,
          error: err instanceof Error ? err : new Error(String(err)),
        }),
    );
  }

  async forceFlush(): Promise<void> {
    await (await this.loaded())?.forceFlush();
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await (await this.loaded())?.shutdown();
  }

  private exporter(): Promise<PushMetricExporter> {
    const specifier = OTLP_PACKAGES[this.protocol];
    this.loading ??= loadModule(specifier).then(
      (pkg) => new pkg.OTLPMetricExporter(),
      (err: unknown) => {
        this.report.error(
          'otlp-load',
          `loading ${specifier} failed, so no metrics are exported over OTLP`,
          err,
        );
        throw err;
      },
    );
    return this.loading;
  }

  /** The exporter, if one was loaded; nothing was sent otherwise, so nothing is pending. */
  private async loaded(): Promise<PushMetricExporter | undefined> {
    // A failed load was reported when it happened.
    return this.loading?.catch(() => undefined);
  }
}
