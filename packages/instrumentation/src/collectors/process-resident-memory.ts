import { HostMetricsInstrumentation } from '@opentelemetry/instrumentation-host-metrics';
import { CATALOGUE, HOST_METRICS_METER } from '../catalogue.js';
import { observableOf, observeBatch, seriesIn, type Collector } from './collector.js';

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
    const entry = CATALOGUE.process.residentMemory;
    if (seriesIn(ctx, entry)?.meter === HOST_METRICS_METER) {
      const hostMetrics = new HostMetricsInstrumentation({
        enabled: false,
        metricGroups: ['process.memory'],
      });
      hostMetrics.setMeterProvider(ctx.meterProvider);
      hostMetrics.enable();
      return () => hostMetrics.disable();
    }
    const { instrument } = observableOf(ctx, entry);
    return observeBatch(ctx, [instrument], (result) =>
      result.observe(instrument, process.memoryUsage.rss()),
    );
  },
};
