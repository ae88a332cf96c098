import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { METRICS, NODEJS_METRICS, PROCESS_METRICS } from '../src/index';
import { until } from './helpers/wait';
import { standalone } from './helpers/metrics';

const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

/** The series named in the first cell of each row of the README's "## Metrics" tables. */
function readmeSeries(): string[] {
  const section = readme.slice(
    readme.indexOf('## Metrics'),
    readme.indexOf('\n## ', readme.indexOf('## Metrics') + 1),
  );
  return [...section.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string).sort();
}

/** Prometheus family names of the package's constants (counters gain `_total`). */
const COUNTERS = new Set<string>([
  METRICS.requestCount,
  PROCESS_METRICS.cpuSeconds,
  PROCESS_METRICS.cpuUserSeconds,
  PROCESS_METRICS.cpuSystemSeconds,
]);
const familyOf = (name: string): string => (COUNTERS.has(name) ? `${name}_total` : name);

describe('the README metric table', () => {
  it('lists exactly the series the package exports', async () => {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const metrics = standalone();
    try {
      const text = await until(
        () => metrics.scrape(),
        (t) => t.includes('nodejs_gc_duration_seconds_count'),
      );
      // A request, so the request series exist too.
      const exported = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);
      const constants = [
        ...Object.values(METRICS),
        ...Object.values(PROCESS_METRICS),
        ...Object.values(NODEJS_METRICS),
      ].map(familyOf);
      const requestSeries = ['app_request_latency_seconds', 'app_request_count_total'];
      expect([...new Set([...exported, ...requestSeries])].sort()).toEqual([...constants].sort());
      expect(readmeSeries()).toEqual([...constants].sort());
    } finally {
      await metrics.shutdown();
    }
  });
});
