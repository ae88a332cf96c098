import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIR = join(__dirname, '..', '..', '..', 'prometheus');

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the Prometheus rules and example config', () => {
  it('pass promtool check rules', () => {
    const r = promtool('check', 'rules', 'rules.yml');
    expect(r.output).toContain('SUCCESS: 10 rules found');
    expect(r.status).toBe(0);
  });

  it('pass promtool check config (with the rules it loads)', () => {
    const r = promtool('check', 'config', 'prometheus.yml');
    expect(r.output).toContain('SUCCESS: 1 rule files found');
    expect(r.status).toBe(0);
  });

  it('pass their unit tests: alerts fire and stay quiet as specified', () => {
    const r = promtool('test', 'rules', 'rules.test.yml');
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('would catch a wrong expectation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      const broken = join(dir, 'broken.test.yml');
      writeFileSync(
        broken,
        [
          'rule_files:',
          `  - ${join(DIR, 'rules.yml')}`,
          'tests:',
          '  - interval: 1m',
          '    input_series:',
          `      - series: 'nodejs_eventloop_lag_p99_seconds{job="express-app",instance="a:9464"}'`,
          "        values: '0.01x10'",
          '    alert_rule_test:',
          '      - alertname: ExpressEventLoopLag',
          '        eval_time: 8m',
          '        exp_alerts:',
          '          - exp_labels: { job: express-app, instance: "a:9464", severity: warn }',
          '',
        ].join('\n'),
      );
      const r = promtool('test', 'rules', broken);
      expect(r.status).not.toBe(0);
      expect(r.output).toContain('FAILED');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
