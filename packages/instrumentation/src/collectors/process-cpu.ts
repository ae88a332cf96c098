import { PROCESS_METRICS, SEMCONV_ATTRIBUTES, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector, type CollectorContext } from './collector.js';

/**
 * `process_cpu_seconds_total` and its user and system parts, from one `process.cpuUsage()` per
 * collection. Host metrics' `process.cpu.time` carries the same numbers split by `cpu.mode`, but the
 * SDK (3.1) keeps only the last of several observations that a View's attribute filter makes
 * identical, so a View cannot sum the two modes; they are recorded here under the standard names.
 * With the semantic conventions it is `process.cpu.time{cpu.mode}` alone, whose sum is the total.
 */
export const processCpuCollector: Collector = {
  name: 'process-cpu',
  group: 'process',
  start(ctx) {
    if (ctx.options.naming === 'semconv') return startSemconv(ctx);
    const { meter } = ctx;
    const total = meter.createObservableCounter(PROCESS_METRICS.cpuSeconds, {
      description: 'Total user and system CPU time spent in seconds.',
      unit: 's',
    });
    const user = meter.createObservableCounter(PROCESS_METRICS.cpuUserSeconds, {
      description: 'Total user CPU time spent in seconds.',
      unit: 's',
    });
    const system = meter.createObservableCounter(PROCESS_METRICS.cpuSystemSeconds, {
      description: 'Total system CPU time spent in seconds.',
      unit: 's',
    });
    return observeBatch(ctx, [total, user, system], (result) => {
      const usage = process.cpuUsage();
      result.observe(user, usage.user / 1e6);
      result.observe(system, usage.system / 1e6);
      result.observe(total, (usage.user + usage.system) / 1e6);
    });
  },
};

const USER = { [SEMCONV_ATTRIBUTES.cpuMode]: 'user' };
const SYSTEM = { [SEMCONV_ATTRIBUTES.cpuMode]: 'system' };

function startSemconv(ctx: CollectorContext): () => void {
  const time = ctx.meter.createObservableCounter(SEMCONV_METRICS.cpuTime, {
    description: 'Total CPU seconds broken down by different CPU modes.',
    unit: 's',
  });
  return observeBatch(ctx, [time], (result) => {
    const usage = process.cpuUsage();
    result.observe(time, usage.user / 1e6, USER);
    result.observe(time, usage.system / 1e6, SYSTEM);
  });
}
