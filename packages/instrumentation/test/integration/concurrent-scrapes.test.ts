import { request } from 'node:http';
import express from 'express5';
import { registerMetrics } from '../../src/index';
import { listen } from '../helpers/apps';
import { expositionLines, parseExposition } from '../helpers/exposition';
import { get } from '../helpers/request';

function scrape(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    })
      .on('error', (err) => resolve({ error: err.message }))
      .end();
  });
}

describe('scrapes under load and during shutdown', () => {
  it('answers 100 concurrent scrapes with complete, consistent expositions', async () => {
    const app = express();
    const metrics = registerMetrics(app, {
      // All of them in flight at once are let in (the default limit, 10, is tested elsewhere).
      endpoint: { host: '127.0.0.1', port: 0, maxConcurrentScrapes: 100 },
      collectors: { process: false, runtime: false, gc: false, eventLoop: false },
    });
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    const running = await listen(app);
    try {
      await metrics.ready;
      for (let i = 0; i < 20; i++) await get(running.url, `/users/${i}`);
      const replies = await Promise.all(
        Array.from({ length: 100 }, () => scrape(metrics.url as string)),
      );
      const bodies = replies.map((r) => {
        if (!('status' in r)) throw new Error(r.error);
        expect(r.status).toBe(200);
        return r.body;
      });
      // Nothing changes between them, so every scrape must be the same text, ending in a newline.
      const first = bodies[0] as string;
      expect(first.endsWith('\n')).toBe(true);
      expect(parseExposition(first).find((s) => s.name === 'app_request_count_total')?.value).toBe(
        20,
      );
      for (const body of bodies) expect(expositionLines(body)).toEqual(expositionLines(first));
    } finally {
      await running.close();
      await metrics.shutdown();
    }
  });

  it('ends scrapes that arrive during shutdown cleanly: a full answer or a refused connection', async () => {
    const metrics = registerMetrics(express(), {
      endpoint: { host: '127.0.0.1', port: 0, maxConcurrentScrapes: 100 },
    });
    await metrics.ready;
    const url = metrics.url as string;
    const inFlight = Array.from({ length: 30 }, () => scrape(url));
    const stopping = metrics.shutdown();
    const late = Array.from({ length: 10 }, () => scrape(url));
    const started = Date.now();
    const outcomes = await Promise.all([...inFlight, ...late]);
    await stopping;
    expect(Date.now() - started).toBeLessThan(5000);
    for (const outcome of outcomes) {
      if ('status' in outcome) {
        expect(outcome.status).toBe(200);
        expect(outcome.body).toContain('app_version_info');
        expect(outcome.body.endsWith('\n')).toBe(true);
      } else {
        expect(outcome.error).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
      }
    }
  });
});
