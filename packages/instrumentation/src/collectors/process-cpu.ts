import { CATALOGUE } from '../catalogue.js';
import { SEMCONV_ATTRIBUTES } from '../labels.js';
import { observableOf, observeBatch, seriesIn, type Collector } from './collector.js';

const USER = { [SEMCONV_ATTRIBUTES.cpuMode]: 'user' };
const SYSTEM = { [SEMCONV_ATTRIBUTES.cpuMode]: 'system' };

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
    const c = CATALOGUE.process;
    const time = observableOf(ctx, c.cpuSeconds).instrument;
    // Where the naming has no series of the parts, the total carries them as `cpu.mode`.
    if (seriesIn(ctx, c.cpuUserSeconds) === undefined) {
      return observeBatch(ctx, [time], (result) => {
        const usage = process.cpuUsage();
        result.observe(time, usage.user / 1e6, USER);
        result.observe(time, usage.system / 1e6, SYSTEM);
      });
    }
    const user = observableOf(ctx, c.cpuUserSeconds).instrument;
    const system = observableOf(ctx, c.cpuSystemSeconds).instrument;
    return observeBatch(ctx, [time, user, system], (result) => {
      const usage = process.cpuUsage();
      result.observe(user, usage.user / 1e6);
      result.observe(system, usage.system / 1e6);
      result.observe(time, (usage.user + usage.system) / 1e6);
    });
  },
};
