import { spawnSync } from 'node:child_process';

/**
 * `promtool` from Prometheus. CI installs it (Debian's `prometheus` package); a machine without it
 * skips the checks that need it, unless CI is set, where its absence is a failure.
 */
export function findPromtool(): string | undefined {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return 'promtool';
  if (process.env.CI) throw new Error('promtool is required in CI (apt-get install prometheus)');
  return undefined;
}

/** Runs `promtool check metrics` on the exposition; its output lists every problem found. */
export function checkMetrics(
  promtool: string,
  exposition: string,
): { status: number | null; output: string } {
  const r = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}
