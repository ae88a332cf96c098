/**
 * When compressing an answer fails, the scrape gets the plain exposition and the fault is
 * reported once. zlib does not fail on its own input, so its gzip is made to fail here.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import express from 'express5';
import { registerMetrics } from '../../../src/index';
import { samplesOf } from '../../helpers/exposition';
import { sendRaw } from '../../helpers/request';

jest.mock('node:zlib', () => {
  const { Transform } = jest.requireActual<typeof import('node:stream')>('node:stream');
  return {
    ...jest.requireActual<typeof import('node:zlib')>('node:zlib'),
    // A gzip stream that fails on its first chunk, as zlib does when it cannot allocate.
    createGzip: () =>
      new Transform({
        transform: (_chunk, _encoding, done) => done(new Error('out of zlib memory')),
      }),
  };
});

it('sends the exposition uncompressed and reports the failure once', async () => {
  const errors: string[] = [];
  diag.setLogger(
    {
      error: (message: string, ...args: unknown[]) =>
        errors.push([message, ...args.map(String)].join(' ')),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.ERROR,
  );
  const metrics = registerMetrics(express(), {
    endpoint: { host: '127.0.0.1', port: 0 },
    collectors: { process: false, runtime: false, gc: false, eventLoop: false },
  });
  try {
    await metrics.ready;
    const { origin } = new URL(metrics.url as string);
    for (let i = 0; i < 2; i++) {
      const reply = await sendRaw(origin, 'GET', '/metrics', { 'Accept-Encoding': 'gzip' });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-encoding']).toBeUndefined();
      expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
      const text = reply.body.toString('utf8');
      expect(samplesOf(text, 'app_version_info')).toEqual([
        { name: 'app_version_info', labels: { version: 'unknown', config: 'unknown' }, value: 1 },
      ]);
    }
    expect(errors).toEqual([
      'express-otel-metrics: compressing the exposition failed; it is sent uncompressed Error: out of zlib memory',
    ]);
  } finally {
    await metrics.shutdown();
    diag.disable();
  }
});
