// Tracing alone, as an app that traces has it: a tracer provider and the http instrumentation,
// whose server span is active while the app handles each request. Every span is sampled (the
// sampler is named, so that an OTEL_TRACES_SAMPLER in the environment cannot thin the spans
// that exemplars are taken from) and none is exported (no span processor), so the figures hold
// the cost of making spans and of the exemplars, not of an exporter. No metrics part: the app's
// metrics, if any, are its own. Loaded with `--require` before the app, because the
// instrumentation patches `http` as it is first required.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { AlwaysOnSampler, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

new NodeTracerProvider({ sampler: new AlwaysOnSampler() }).register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
