import { HostMetricsInstrumentation } from '@opentelemetry/instrumentation-host-metrics';
import type { Collector } from './collector.js';

/**
 * `process_resident_memory_bytes`, from OpenTelemetry's host metrics instrumentation
 * (`process.memory.usage`, renamed by a View). Only its process memory group is enabled: the system
 * groups describe the machine, not the app, and its network group would spawn commands.
 */
export const processResidentMemoryCollector: Collector = {
  name: 'process-resident-memory',
  group: 'process',
  start(ctx) {
    const hostMetrics = new HostMetricsInstrumentation({
      enabled: false,
      metricGroups: ['process.memory'],
    });
    hostMetrics.setMeterProvider(ctx.meterProvider);
    hostMetrics.enable();
    return () => hostMetrics.disable();
  },
};
