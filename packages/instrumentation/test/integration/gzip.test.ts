import { gunzipSync } from 'node:zlib';
import express from 'express5';
import { registerMetrics, type MetricsHandle } from '../../src/index';
import { listen, type Running } from '../helpers/apps';
import { expositionLines, samplesOf, valueOf } from '../helpers/exposition';
import { get, sendRaw } from '../helpers/request';
import { until } from '../helpers/wait';

describe('gzip on the metrics endpoint', () => {
  let metrics: MetricsHandle;
  let running: Running;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.get('/', (_req, res) => {
      res.send('Test');
    });
    // No GC series: the first collection after the first GC would add a metric between the two
    // scrapes compared below.
    metrics = registerMetrics(app, {
      endpoint: { host: '127.0.0.1', port: 0 },
      collectors: { gc: false },
    });
    await metrics.ready;
    running = await listen(app);
    await get(running.url, '/');
    const url = new URL(metrics.url as string);
    base = `${url.protocol}//${url.host}`;
    await until(
      () => get(base, '/metrics'),
      (r) => samplesOf(r.body, 'app_request_count_total').length === 1,
    );
    // Until the families are all there: a collector's first figures (the event loop's, on a busy
    // machine) may come a scrape later, and the test below compares two scrapes' families.
    let families = '';
    await until(
      async () => {
        const now = expositionLines(await metrics.scrape()).metadata.join('\n');
        const same = now === families;
        families = now;
        return same;
      },
      (same) => same,
    );
  });
  afterAll(async () => {
    await running.close();
    await metrics.shutdown();
  });

  it('answers gzip when asked, and the body gunzips to the exposition', async () => {
    const reply = await sendRaw(base, 'GET', '/metrics', { 'Accept-Encoding': 'gzip, br' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(reply.headers['vary']).toBe('Accept, Accept-Encoding');
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
    const text = gunzipSync(reply.body).toString('utf8');
    expect(valueOf(text, 'app_request_count_total', { endpoint: '/' })).toBe(1);
    const plain = await metrics.scrape();
    expect(plain.startsWith('# HELP')).toBe(true);
    expect(expositionLines(text).metadata).toEqual(expositionLines(plain).metadata);
  });

  it.each([
    ['no Accept-Encoding', {}],
    ['gzip;q=0', { 'Accept-Encoding': 'gzip;q=0, deflate' }],
    ['identity only', { 'Accept-Encoding': 'identity' }],
  ])('answers plain text with %s', async (_name, headers: Record<string, string>) => {
    const reply = await sendRaw(base, 'GET', '/metrics', headers);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(reply.headers['vary']).toBe('Accept, Accept-Encoding');
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
    expect(valueOf(reply.body.toString('utf8'), 'app_request_count_total', { endpoint: '/' })).toBe(
      1,
    );
  });

  it('answers OpenMetrics gzipped too, the same text as without gzip', async () => {
    const accept = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
    const gzipped = await sendRaw(base, 'GET', '/metrics', {
      Accept: accept,
      'Accept-Encoding': 'gzip',
    });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers['content-type']).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores',
    );
    expect(Number(gzipped.headers['content-length'])).toBe(gzipped.body.length);
    const text = gunzipSync(gzipped.body).toString('utf8');
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toMatch(/^app_request_count_total\{.*endpoint="\/".*\} 1$/m);
    const plain = await sendRaw(base, 'GET', '/metrics', { Accept: accept });
    expect(plain.headers['content-encoding']).toBeUndefined();
    // Within the reuse of the answer, both are the one answer's bytes.
    expect(expositionLines(plain.body.toString('utf8')).metadata).toEqual(
      expositionLines(text).metadata,
    );
  });

  it('sends no body to HEAD, gzip or not, with the length GET would have', async () => {
    for (const headers of [{ 'Accept-Encoding': 'gzip' }, {}] as Array<Record<string, string>>) {
      const head = await sendRaw(base, 'HEAD', '/metrics', headers);
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
      expect(head.headers['content-encoding']).toBe(
        'Accept-Encoding' in headers ? 'gzip' : undefined,
      );
    }
  });
});
