/**
 * An OTLP exporter package that is installed but fails to load (a broken install, a version
 * whose code throws) fails each export, which the SDK's reader reports, and is reported once by
 * the package, naming it; the app and its other exporters go on.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { LazyOtlpExporter } from '../../../src/export/otlp';
import { createReporter } from '../../../src/report';

jest.mock('@opentelemetry/exporter-metrics-otlp-proto', () => {
  throw new Error('a broken install');
});

const NOTHING = { resource: { attributes: {} }, scopeMetrics: [] } as unknown as ResourceMetrics;

function exportOnce(exporter: LazyOtlpExporter): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(NOTHING, resolve));
}

it('fails every export and reports the package once', async () => {
  const errors: string[] = [];
  diag.setLogger(
    {
      error: (message: string, ...args: unknown[]) =>
        errors.push(
          [message, ...args.map((a) => (a instanceof Error ? a.message : String(a)))].join(' | '),
        ),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.ERROR,
  );
  try {
    const exporter = new LazyOtlpExporter('http/protobuf', 'cumulative', createReporter());
    for (let i = 0; i < 2; i++) {
      const result = await exportOnce(exporter);
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(result.error?.message).toBe('a broken install');
    }
    expect(errors).toEqual([
      'express-otel-metrics: loading @opentelemetry/exporter-metrics-otlp-proto failed, so no metrics are exported over OTLP | a broken install',
    ]);
    // Nothing was loaded, so flushing and shutting down have nothing to wait for.
    await expect(exporter.forceFlush()).resolves.toBeUndefined();
    await expect(exporter.shutdown()).resolves.toBeUndefined();
  } finally {
    diag.disable();
  }
});
