import { request } from 'node:http';
import { diag, type DiagLogger } from '@opentelemetry/api';
import express from 'express5';
import { registerMetrics, type RegisterMetricsOptions } from '../../src/index';
import { resolveOptions } from '../../src/options/resolve';
import { listen } from '../helpers/apps';
import { labelValues, samplesOf, valueOf } from '../helpers/exposition';
import { checkMetrics, findPromtool } from '../helpers/promtool';
import { until } from '../helpers/wait';

const promtool = findPromtool();

function capture(): { errors: string[]; warnings: string[]; stop(): void } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const logger: DiagLogger = {
    error: (m: string) => errors.push(m),
    warn: (m: string) => warnings.push(m),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger);
  return { errors, warnings, stop: () => diag.disable() };
}

async function run(options: RegisterMetricsOptions, tenants: Array<string | undefined>) {
  const app = express();
  const metrics = registerMetrics(app, { endpoint: { mode: 'none' }, ...options });
  app.get('/items/:id', (_req, res) => {
    res.send('ok');
  });
  const running = await listen(app);
  try {
    for (const [i, tenant] of tenants.entries()) {
      const url = new URL(running.url);
      const reply = await new Promise<number>((resolve, reject) => {
        request(
          {
            host: url.hostname,
            port: url.port,
            path: `/items/${i}`,
            agent: false,
            headers: tenant === undefined ? {} : { 'x-tenant': tenant },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        )
          .on('error', reject)
          .end();
      });
      expect(reply).toBe(200);
    }
    return await until(
      () => metrics.scrape(),
      (t) =>
        samplesOf(t, 'app_request_count_total').reduce((n, s) => n + s.value, 0) === tenants.length,
    );
  } finally {
    await running.close();
    await metrics.shutdown();
  }
}

const byTenant: RegisterMetricsOptions['extraLabels'] = {
  names: ['tenant'],
  values: (req) => ({ tenant: req.get('x-tenant') as string }),
};

describe('extra labels', () => {
  it('adds the declared labels to both request series, with bounded values', async () => {
    const long = 'x'.repeat(500);
    const text = await run({ extraLabels: byTenant }, ['acme', 'acme', 'globex', undefined, long]);
    expect(valueOf(text, 'app_request_count_total', { tenant: 'acme', http_status: '200' })).toBe(
      2,
    );
    expect(valueOf(text, 'app_request_latency_seconds_count', { tenant: 'globex' })).toBe(1);
    expect(valueOf(text, 'app_request_count_total', { tenant: '' })).toBe(1);
    expect(valueOf(text, 'app_request_count_total', { tenant: 'x'.repeat(128) })).toBe(1);
    expect(labelValues(text, 'app_request_count_total', 'endpoint')).toEqual(['/items/:id']);
    if (promtool) expect(checkMetrics(promtool, text)).toEqual({ status: 0, output: '' });
  });

  it('keeps serving, with empty values, when the function throws; reports it once', async () => {
    const log = capture();
    try {
      const text = await run(
        {
          extraLabels: {
            names: ['tenant'],
            values: () => {
              throw new Error('hook failed');
            },
          },
        },
        ['a', 'b', 'c'],
      );
      expect(valueOf(text, 'app_request_count_total', { tenant: '' })).toBe(3);
      expect(log.errors.filter((e) => e.includes('extraLabels'))).toHaveLength(1);
    } finally {
      log.stop();
    }
  });

  it('caps the series of each request metric and warns once, naming the metric and the limit', async () => {
    const log = capture();
    try {
      const tenants = Array.from({ length: 40 }, (_, i) => `t${i}`);
      const text = await run({ extraLabels: byTenant, cardinalityLimit: 10 }, tenants);
      const counts = samplesOf(text, 'app_request_count_total');
      expect(counts.length).toBeLessThanOrEqual(10);
      expect(counts.reduce((n, s) => n + s.value, 0)).toBe(40);
      expect(
        valueOf(text, 'app_request_count_total', { otel_metric_overflow: 'true' }),
      ).toBeGreaterThan(0);
      expect(samplesOf(text, 'app_request_latency_seconds_count').length).toBeLessThanOrEqual(10);
      const about = log.warnings.filter((w) => w.includes('app_request_count'));
      expect(about).toHaveLength(1);
      expect(about[0]).toContain('limit of 10 series');
      if (promtool) expect(checkMetrics(promtool, text)).toEqual({ status: 0, output: '' });
    } finally {
      log.stop();
    }
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a name with a dash',
      { names: ['my-label'], values: () => ({}) },
      /`extraLabels.names` must be Prometheus label names/,
    ],
    [
      'a reserved name',
      { names: ['__name'], values: () => ({}) },
      /`extraLabels.names` must be Prometheus label names/,
    ],
    [
      'a name of the package',
      { names: ['endpoint'], values: () => ({}) },
      /`extraLabels.names` must be names the package does not use itself, got "endpoint"/,
    ],
    [
      'a repeated name',
      { names: ['a', 'a'], values: () => ({}) },
      /`extraLabels.names` must be distinct names/,
    ],
    ['no function', { names: ['a'], values: 'x' }, /`extraLabels.values` must be a function/],
    ['a tiny limit', undefined, /`cardinalityLimit` must be an integer of at least 2, got 1/],
  ])('rejects %s with a TypeError', (name, extraLabels, message) => {
    const options = name === 'a tiny limit' ? { cardinalityLimit: 1 } : { extraLabels };
    expect(() => resolveOptions(options)).toThrow(TypeError);
    expect(() => resolveOptions(options)).toThrow(message);
  });
});
