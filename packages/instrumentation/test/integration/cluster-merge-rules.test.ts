import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import express from 'express5';
import { mergeRuleOf } from '../../src/cluster/merge';
import { takeSnapshot } from '../../src/cluster/snapshot';
import { registerMetrics, type ClusterMerge } from '../../src/index';
import { listen } from '../helpers/apps';
import { InMemoryReader } from '../helpers/reader';
import { get } from '../helpers/request';
import { until } from '../helpers/wait';

const LAG = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'];

/** The README's table of merge rules, series by series. */
const RULES: Record<'prometheus' | 'semconv', Record<ClusterMerge, string[]>> = {
  prometheus: {
    total: [
      'app_request_latency_seconds',
      'app_request_count',
      'process_cpu_seconds',
      'process_cpu_user_seconds',
      'process_cpu_system_seconds',
      'nodejs_gc_duration_seconds',
    ],
    sum: [
      'process_resident_memory_bytes',
      'process_virtual_memory_bytes',
      'process_open_fds',
      'nodejs_heap_size_total_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_external_memory_bytes',
      'nodejs_heap_space_size_total_bytes',
      'nodejs_heap_space_size_used_bytes',
      'nodejs_heap_space_size_available_bytes',
      'nodejs_active_resources',
    ],
    once: ['app_version_info', 'nodejs_version_info'],
    worker: [
      'process_start_time_seconds',
      'process_max_fds',
      ...LAG.map((s) => `nodejs_eventloop_lag_${s}_seconds`),
      'nodejs_eventloop_utilization_ratio',
    ],
  },
  semconv: {
    total: ['http.server.request.duration', 'process.cpu.time', 'v8js.gc.duration'],
    sum: [
      'process.memory.usage',
      'process.memory.virtual',
      'process.unix.file_descriptor.count',
      'v8js.memory.heap.used',
      'v8js.memory.heap.space.size',
      'v8js.memory.heap.space.available_size',
      'nodejs_external_memory_bytes',
      'v8js.resource.active',
    ],
    once: ['app_version_info', 'nodejs_version_info'],
    worker: [
      'process.uptime',
      'process_max_fds',
      ...LAG.map((s) => `nodejs.eventloop.delay.${s}`),
      'nodejs.eventloop.utilization',
    ],
  },
};

describe('the merge rule of every series the package exports', () => {
  it.each(['prometheus', 'semconv'] as const)(
    'is the documented one, in %s naming',
    async (naming) => {
      setFlagsFromString('--expose-gc');
      const reader = new InMemoryReader();
      const app = express();
      app.get('/', (_req, res) => {
        res.send('ok');
      });
      const metrics = registerMetrics(app, { naming, exporters: [reader] });
      const running = await listen(app);
      try {
        expect((await get(running.url, '/')).status).toBe(200);
        (runInNewContext('gc') as () => void)();
        // The GC series wait for a collection, the event-loop ones for the timer's first samples.
        const expected = RULES[naming];
        const all = Object.values(expected).flat().length;
        const collected = await until(
          () => reader.collect(),
          (c) => takeSnapshot(c.resourceMetrics).scopes.flatMap((s) => s.metrics).length >= all,
        );
        const rules: Record<ClusterMerge, string[]> = { total: [], sum: [], once: [], worker: [] };
        for (const scope of collected.resourceMetrics.scopeMetrics) {
          for (const metric of scope.metrics) {
            const rule = mergeRuleOf(metric);
            if (rule !== undefined) rules[rule].push(metric.descriptor.name);
          }
        }
        for (const rule of Object.keys(rules) as ClusterMerge[]) rules[rule].sort();
        expect(rules).toEqual({
          total: [...expected.total].sort(),
          sum: [...expected.sum].sort(),
          once: [...expected.once].sort(),
          worker: [...expected.worker].sort(),
        });
      } finally {
        await running.close();
        await metrics.shutdown();
      }
    },
  );
});
