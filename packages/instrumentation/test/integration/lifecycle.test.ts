import { Agent, createServer, request } from 'node:http';
import express from 'express5';
import type { Express } from 'express';
import { registerMetrics } from '../../src/index';
import { listen } from '../helpers/apps';
import { samplesOf, valueOf } from '../helpers/exposition';
import { get } from '../helpers/request';
import { until } from '../helpers/wait';

const newApp = express;

function appWithRoute(body: string): Express {
  const app = newApp();
  app.get('/', (_req, res) => {
    res.send(body);
  });
  return app;
}

describe('lifecycle', () => {
  it('gives two apps in one process providers of their own that never collide', async () => {
    const a = appWithRoute('a');
    const b = appWithRoute('b');
    const ma = registerMetrics(a, { appVersion: '1', endpoint: { host: '127.0.0.1', port: 0 } });
    const mb = registerMetrics(b, { appVersion: '2', endpoint: { host: '127.0.0.1', port: 0 } });
    await Promise.all([ma.ready, mb.ready]);
    expect(ma.url).not.toBe(mb.url);
    expect(ma.meterProvider).not.toBe(mb.meterProvider);
    const ra = await listen(a);
    const rb = await listen(b);
    try {
      await get(ra.url, '/');
      await get(rb.url, '/');
      await get(rb.url, '/');
      const count = (t: string): number => valueOf(t, 'app_request_count_total', { endpoint: '/' });
      const ta = await until(
        () => ma.scrape(),
        (t) => t.includes('app_request_count_total{'),
      );
      const tb = await until(
        () => mb.scrape(),
        (t) => t.includes('app_request_count_total{') && count(t) === 2,
      );
      expect(count(ta)).toBe(1);
      expect(count(tb)).toBe(2);
      expect(valueOf(ta, 'app_version_info', { version: '1' })).toBe(1);
      expect(samplesOf(ta, 'app_version_info', { version: '2' })).toHaveLength(0);
      // The same app registered twice would count every request twice: refused, with nothing
      // installed, until the first registration is shut down.
      const handle = (a as unknown as { handle: unknown }).handle;
      expect(() => registerMetrics(a, { endpoint: { mode: 'none' } })).toThrow(
        /this app already has a registerMetrics\(\) that is not shut down.*call its shutdown\(\)/,
      );
      expect((a as unknown as { handle: unknown }).handle).toBe(handle);
      await ma.shutdown();
      const again = registerMetrics(a, { endpoint: { mode: 'none' } });
      await get(ra.url, '/');
      const t2 = await until(
        () => again.scrape(),
        (t) => t.includes('app_request_count_total{'),
      );
      expect(count(t2)).toBe(1);
      await again.shutdown();
    } finally {
      await ra.close();
      await rb.close();
      await Promise.all([ma.shutdown(), mb.shutdown()]);
    }
  });

  it('shuts down once, closes the endpoint, and leaves the app serving unmeasured', async () => {
    const app = appWithRoute('x');
    const metrics = registerMetrics(app, { endpoint: { host: '127.0.0.1', port: 0 } });
    await metrics.ready;
    const url = metrics.url as string;
    const running = await listen(app);
    try {
      const first = metrics.shutdown();
      expect(metrics.shutdown()).toBe(first);
      await first;
      await expect(fetch(url)).rejects.toThrow();
      expect((await get(running.url, '/')).body).toBe('x');
      await metrics.shutdown();
    } finally {
      await running.close();
    }
  });

  it('shuts down cleanly while the endpoint is still starting', async () => {
    const metrics = registerMetrics(appWithRoute('x'), {
      endpoint: { host: '127.0.0.1', port: 0 },
    });
    await metrics.shutdown();
    await metrics.ready;
    await expect(fetch(metrics.url ?? 'http://127.0.0.1:1/')).rejects.toThrow();
  });

  it('emits target_info and scope labels only when asked', async () => {
    const app = appWithRoute('x');
    const metrics = registerMetrics(app, {
      targetInfo: true,
      scopeInfo: true,
      endpoint: { mode: 'none' },
    });
    try {
      const text = await metrics.scrape();
      expect(samplesOf(text, 'target_info')).toHaveLength(1);
      expect(valueOf(text, 'app_version_info', { otel_scope_name: 'express-otel-metrics' })).toBe(
        1,
      );
    } finally {
      await metrics.shutdown();
    }
  });

  it('releases the metrics port and its connections on shutdown', async () => {
    const app = appWithRoute('x');
    const metrics = registerMetrics(app, { endpoint: { host: '127.0.0.1', port: 0 } });
    await metrics.ready;
    const url = new URL(metrics.url as string);
    // An open keep-alive connection must not hold shutdown up or outlive it.
    const agent = new Agent({ keepAlive: true });
    const open = await new Promise<number>((resolve, reject) => {
      request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });
    expect(open).toBe(200);
    await metrics.shutdown();
    agent.destroy();
    const again = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(Number(url.port), '127.0.0.1', resolve);
      });
      expect(again.listening).toBe(true);
    } finally {
      await new Promise<void>((r) => again.close(() => r()));
    }
  });
});
