import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkOtlpExporterInstalled, OTLP_EXPORTER_RANGE } from '../../../src/export/otlp';
import { exportersFor } from '../../helpers/exporters';

describe('an OTLP exporter package that is not installed', () => {
  const missing = (specifier: string): string => {
    throw Object.assign(new Error(`Cannot find module '${specifier}'`), {
      code: 'MODULE_NOT_FOUND',
    });
  };

  it('is named at setup, with what asked for it and how to install it', () => {
    expect(() =>
      checkOtlpExporterInstalled('grpc', 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc', missing),
    ).toThrow(
      new Error(
        'express-otel-metrics: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc asks for @opentelemetry/exporter-metrics-otlp-grpc, an optional peer dependency that is not installed: npm install @opentelemetry/exporter-metrics-otlp-grpc@~0.301.0',
      ),
    );
    const [askedBy] = exportersFor({}, { OTEL_METRICS_EXPORTER: 'otlp' }).map((e) =>
      e.type === 'otlp' ? e.askedBy : '',
    );
    expect(() => checkOtlpExporterInstalled('http/protobuf', askedBy as string, missing)).toThrow(
      "OTEL_METRICS_EXPORTER=otlp, with OTLP's default protocol http/protobuf, asks for @opentelemetry/exporter-metrics-otlp-proto,",
    );
  });

  it('is looked for where the package is, and found when installed', () => {
    for (const protocol of ['grpc', 'http/json', 'http/protobuf'] as const) {
      expect(() => checkOtlpExporterInstalled(protocol, 'a test')).not.toThrow();
    }
    // Any other failure to resolve is not taken for a missing package.
    const broken = (): string => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    };
    expect(() => checkOtlpExporterInstalled('grpc', 'a test', broken)).toThrow('EACCES');
  });

  it('has the peer dependency range the package declares', () => {
    const manifest = JSON.parse(
      readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'),
    ) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    for (const name of [
      '@opentelemetry/exporter-metrics-otlp-grpc',
      '@opentelemetry/exporter-metrics-otlp-http',
      '@opentelemetry/exporter-metrics-otlp-proto',
    ]) {
      expect([name, manifest.peerDependencies[name], manifest.peerDependenciesMeta[name]]).toEqual([
        name,
        OTLP_EXPORTER_RANGE,
        { optional: true },
      ]);
    }
  });
});
