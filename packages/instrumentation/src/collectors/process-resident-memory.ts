import { HostMetricsInstrumentation } from '@opentelemetry/instrumentation-host-metrics';
import { SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector, type CollectorContext } from './collector.js';

/**
 * `process_resident_memory_bytes`, from OpenTelemetry's host metrics instrumentation
 * (`process.memory.usage`, renamed by a View). Only its process memory group is enabled: the system
 * groups describe the machine, not the app, and its network group would spawn commands.
 *
 * With the semantic conventions the package records `process.memory.usage` itself: host metrics
 * makes it a gauge without a unit, where the conventions ask for an UpDownCounter in bytes.
 */
export const processResidentMemoryCollector: Collector = {
  name: 'process-resident-memory',
  group: 'process',
  start(ctx) {
    if (ctx.options.naming === 'semconv') return startSemconv(ctx);
    const hostMetrics = new HostMetricsInstrumentation({
      enabled: false,
      metricGroups: ['process.memory'],
    });
    hostMetrics.setMeterProvider(ctx.meterProvider);
    hostMetrics.enable();
    return () => hostMetrics.disable();
  },
};

function startSemconv(ctx: CollectorContext): () => void {
  const usage = ctx.meter.createObservableUpDownCounter(SEMCONV_METRICS.memoryUsage, {
    description: 'The amount of physical memory in use.',
    unit: 'By',
  });
  return observeBatch(ctx, [usage], (result) => result.observe(usage, process.memoryUsage.rss()));
}
