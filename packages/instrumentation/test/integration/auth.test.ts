import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import express from 'express5';
import { registerMetrics, type MetricsHandle, type RegisterMetricsOptions } from '../../src/index';
import { resolveOptions } from '../../src/options/resolve';
import { listen } from '../helpers/apps';
import { samplesOf } from '../helpers/exposition';
import { selfSignedPair } from '../helpers/tls';

interface Answer {
  status: number;
  challenge: string | string[] | undefined;
  body: string;
}

function ask(url: string, authorization?: string, ca?: Buffer): Promise<Answer> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    request(
      u,
      { agent: false, headers: authorization ? { authorization } : {}, ...(ca ? { ca } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            challenge: res.headers['www-authenticate'],
            body,
          }),
        );
      },
    )
      .on('error', reject)
      .end();
  });
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function withMetrics(
  options: RegisterMetricsOptions,
  run: (metrics: MetricsHandle) => Promise<void>,
): Promise<void> {
  const metrics = registerMetrics(express(), { ...options });
  try {
    await metrics.ready;
    await run(metrics);
  } finally {
    await metrics.shutdown();
  }
}

const onPort = { host: '127.0.0.1', port: 0 };

describe('the secured metrics endpoint', () => {
  it('asks for basic credentials and accepts only the right ones', async () => {
    await withMetrics(
      { endpoint: { ...onPort, basicAuth: { username: 'prom', password: 's3cret' } } },
      async (m) => {
        const url = m.url as string;
        const none = await ask(url);
        expect(none.status).toBe(401);
        expect(none.challenge).toBe('Basic realm="metrics", charset="UTF-8"');
        expect(none.body).not.toContain('app_version_info');
        expect((await ask(url, basic('prom', 'wrong'))).status).toBe(401);
        expect((await ask(url, basic('prom', 's3cret!'))).status).toBe(401);
        expect((await ask(url, basic('other', 's3cret'))).status).toBe(401);
        expect((await ask(url, 'Bearer s3cret')).status).toBe(401);
        const ok = await ask(url, basic('prom', 's3cret'));
        expect(ok.status).toBe(200);
        expect(samplesOf(ok.body, 'app_version_info')).toHaveLength(1);
        // The scheme name is case-insensitive (RFC 9110).
        expect((await ask(url, basic('prom', 's3cret').replace('Basic', 'basic'))).status).toBe(
          200,
        );
        // One or more spaces after the scheme (RFC 9110, section 11.4: `auth-scheme 1*SP`).
        expect((await ask(url, basic('prom', 's3cret').replace(' ', '  '))).status).toBe(200);
        expect((await ask(url, basic('prom', 's3cret').replace(' ', '   '))).status).toBe(200);
        // The credential itself is compared as sent: a space inside it is another credential.
        const token = basic('prom', 's3cret').slice('Basic '.length);
        expect((await ask(url, `Basic ${token.slice(0, 4)} ${token.slice(4)}`)).status).toBe(401);
        expect((await ask(url, 'Basic'.padEnd(8, ' '))).status).toBe(401);
      },
    );
  });

  it('accepts a bearer token, and either credential when both are set', async () => {
    await withMetrics({ endpoint: { ...onPort, bearerToken: 'tok-123' } }, async (m) => {
      const url = m.url as string;
      expect((await ask(url)).challenge).toBe('Bearer realm="metrics"');
      expect((await ask(url, 'Bearer tok-12')).status).toBe(401);
      expect((await ask(url, 'Bearer tok-123')).status).toBe(200);
    });
    await withMetrics(
      {
        endpoint: {
          ...onPort,
          bearerToken: 'tok-123',
          basicAuth: { username: 'u', password: 'p' },
        },
      },
      async (m) => {
        const url = m.url as string;
        // Two WWW-Authenticate headers; Node's client joins them with a comma.
        expect((await ask(url)).challenge).toBe(
          'Basic realm="metrics", charset="UTF-8", Bearer realm="metrics"',
        );
        expect((await ask(url, 'Bearer tok-123')).status).toBe(200);
        expect((await ask(url, basic('u', 'p'))).status).toBe(200);
        expect((await ask(url, basic('u', 'tok-123'))).status).toBe(401);
      },
    );
  });

  it('protects the endpoint mounted on the app, and nothing else of the app', async () => {
    const app = express();
    const metrics = registerMetrics(app, { endpoint: { mode: 'app', bearerToken: 'tok' } });
    app.get('/', (_req, res) => {
      res.send('open');
    });
    const running = await listen(app);
    try {
      expect((await ask(`${running.url}/metrics`)).status).toBe(401);
      expect((await ask(`${running.url}/metrics`, 'Bearer tok')).status).toBe(200);
      expect((await ask(`${running.url}/`)).body).toBe('open');
    } finally {
      await running.close();
      await metrics.shutdown();
    }
  });

  it('serves HTTPS with the given key and certificate', async () => {
    const { key, cert } = selfSignedPair();
    await withMetrics(
      {
        endpoint: { ...onPort, tls: { key, cert }, basicAuth: { username: 'u', password: 'p' } },
      },
      async (m) => {
        const url = m.url as string;
        expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
        expect((await ask(url, undefined, cert)).status).toBe(401);
        const ok = await ask(url, basic('u', 'p'), cert);
        expect(ok.status).toBe(200);
        expect(samplesOf(ok.body, 'app_version_info')).toHaveLength(1);
        // Plain HTTP on the TLS port gets no exposition.
        const plain = await ask(url.replace('https:', 'http:')).catch(() => undefined);
        expect(plain?.body ?? '').not.toContain('app_version_info');
      },
    );
  });

  it.each<[string, RegisterMetricsOptions['endpoint'], RegExp]>([
    [
      'a user name with a colon',
      { basicAuth: { username: 'a:b', password: 'p' } },
      /`endpoint.basicAuth.username` must be a non-empty string without ":"/,
    ],
    [
      'an empty password',
      { basicAuth: { username: 'a', password: '' } },
      /`endpoint.basicAuth.password` must be a non-empty string/,
    ],
    ['an empty token', { bearerToken: '' }, /`endpoint.bearerToken` must be a non-empty string/],
    [
      'TLS on the app',
      { mode: 'app', tls: { key: 'k', cert: 'c' } },
      /`endpoint.tls` must be used with endpoint.mode 'port' only/,
    ],
    [
      'TLS without a certificate',
      { tls: { key: 'k' } as never },
      /`endpoint.tls.cert` must be a certificate in PEM \(a non-empty string or Buffer\), got undefined/,
    ],
  ])('rejects %s with a TypeError', (_name, endpoint, message) => {
    expect(() => resolveOptions({ endpoint })).toThrow(TypeError);
    expect(() => resolveOptions({ endpoint })).toThrow(message);
  });
});
