import express from 'express5';
import type { Express } from 'express';
import { registerMetrics } from '../../src/index';
import { listen } from '../helpers/apps';
import { samplesOf } from '../helpers/exposition';
import { get } from '../helpers/request';
import { until } from '../helpers/wait';

describe('options, on an app', () => {
  it('checks the app and the options before touching either', () => {
    expect(() => registerMetrics({} as Express)).toThrow(
      /`app` must be an Express 4 or 5 application/,
    );
    const app = express();
    const handle = (app as unknown as { handle: unknown }).handle;
    expect(() => registerMetrics(app, { endpoint: { mode: 'none', port: -1 } })).toThrow(TypeError);
    // Nothing was installed by the failed call.
    expect((app as unknown as { handle: unknown }).handle).toBe(handle);
    expect((app as unknown as { router: { stack: unknown[] } }).router.stack).toHaveLength(0);
  });

  it('names the service: option serviceName over OTEL_SERVICE_NAME over the SDK default', async () => {
    const serviceOf = async (
      options: { serviceName?: string },
      env: string | undefined,
    ): Promise<string | undefined> => {
      const saved = process.env.OTEL_SERVICE_NAME;
      if (env === undefined) delete process.env.OTEL_SERVICE_NAME;
      else process.env.OTEL_SERVICE_NAME = env;
      try {
        const metrics = registerMetrics(express(), {
          ...options,
          targetInfo: true,
          endpoint: { mode: 'none' },
        });
        const [info] = samplesOf(await metrics.scrape(), 'target_info');
        await metrics.shutdown();
        return info?.labels.service_name;
      } finally {
        if (saved === undefined) delete process.env.OTEL_SERVICE_NAME;
        else process.env.OTEL_SERVICE_NAME = saved;
      }
    };
    expect(await serviceOf({ serviceName: 'shop' }, 'from-env')).toBe('shop');
    expect(await serviceOf({}, 'from-env')).toBe('from-env');
    expect(await serviceOf({}, undefined)).toMatch(/^unknown_service:/);
    expect(() => registerMetrics(express(), { serviceName: '' })).toThrow(
      new TypeError(
        'express-otel-metrics: option `serviceName` must be a non-empty string, got ""',
      ),
    );
  });

  it('uses custom latency buckets', async () => {
    const app = express();
    const metrics = registerMetrics(app, { latencyBuckets: [0.5, 2], endpoint: { mode: 'none' } });
    const running = await listen(app);
    try {
      await get(running.url, '/nowhere');
      const text = await until(
        () => metrics.scrape(),
        (t) => t.includes('app_request_latency_seconds_count'),
      );
      const buckets = samplesOf(text, 'app_request_latency_seconds_bucket');
      expect(buckets.map((b) => [b.labels.le, b.value])).toEqual([
        ['0.5', 1],
        ['2', 1],
        ['+Inf', 1],
      ]);
    } finally {
      await running.close();
      await metrics.shutdown();
    }
  });
});
