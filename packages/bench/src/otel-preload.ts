// The way a user "just uses OpenTelemetry" for HTTP metrics: the http and express
// instrumentations with a Prometheus exporter, and a tracer provider with no exporter (as NodeSDK
// sets up): without one there is no context propagation, and the metrics lose `http.route`.
// Loaded with `--require` before the app, because the instrumentations patch modules as they are
// first required.
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const exporter = new PrometheusExporter({
  host: '127.0.0.1',
  port: Number(process.env.BENCH_METRICS_PORT),
});
new NodeTracerProvider().register();
// The series-count benchmark raises the SDK's limit of 2,000 series per metric, as a user with
// that many would.
const limit = Number(process.env.BENCH_CARDINALITY_LIMIT ?? '');
metrics.setGlobalMeterProvider(
  new MeterProvider({
    readers: [exporter],
    ...(limit > 0 && { views: [{ instrumentName: '*', aggregationCardinalityLimit: limit }] }),
  }),
);
registerInstrumentations({
  instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
});
