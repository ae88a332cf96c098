/**
 * Traces, when `OTEL_TRACES_EXPORTER` asks for them (`otlp`, `console`): OpenTelemetry's NodeSDK
 * with the HTTP instrumentation, whose server span is active while Express handles a request, so
 * the package's latency histogram links the bucket each request fell into to its trace (an
 * exemplar, served in OpenMetrics). The metrics stay with the package: the SDK gets no metric
 * reader and no log processor. Imported by main.ts before anything loads `http` or Express, which
 * the instrumentation patches as they load.
 */
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SERVICE_NAME } from './service.js';

function startTracing(): NodeSDK | undefined {
  const exporter = process.env.OTEL_TRACES_EXPORTER;
  if (exporter === undefined || exporter === '' || exporter === 'none') return undefined;
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME || SERVICE_NAME,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [new HttpInstrumentation()],
  });
  sdk.start();
  return sdk;
}

/** The SDK, when tracing is on; shut it down last, so that it sends the spans it still holds. */
export const tracing = startTracing();
