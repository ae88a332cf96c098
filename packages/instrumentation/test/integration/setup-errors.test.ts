/**
 * A wrong setting of the developer's is a TypeError at setup, naming it, before anything is
 * installed; a variable is read only where it takes effect; and each message says what was wrong.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express from 'express5';
import type { Express } from 'express';
import { createViews, registerMetrics, type RegisterMetricsOptions } from '../../src/index';
import { selfSignedPair } from '../helpers/tls';

const handleOf = (app: Express): unknown => (app as unknown as { handle: unknown }).handle;

/** Sets variables for the length of `fn`, then puts back what was there. */
function withEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Expects registerMetrics to throw a TypeError matching `message`, leaving the app untouched. */
function expectRefused(options: RegisterMetricsOptions, message: RegExp): void {
  const app = express();
  const handle = handleOf(app);
  let thrown: unknown;
  try {
    void registerMetrics(app, options).shutdown();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  expect((thrown as Error).message).toMatch(message);
  expect(handleOf(app)).toBe(handle);
}

describe('an endpoint.tls that OpenSSL cannot use', () => {
  const pair = selfSignedPair();
  const other = selfSignedPair();
  const onPort = { mode: 'port' as const, host: '127.0.0.1', port: 0 };

  it.each<[string, { key: string | Buffer; cert: string | Buffer }, RegExp]>([
    [
      'a key that is no PEM',
      { key: 'not a key', cert: pair.cert },
      /^express-otel-metrics: option `endpoint.tls.key` must be a private key in PEM, got one that OpenSSL cannot read \(.+\)$/,
    ],
    [
      'a certificate that is no PEM',
      { key: pair.key, cert: 'not a certificate' },
      /^express-otel-metrics: option `endpoint.tls.cert` must be a certificate in PEM, got one that OpenSSL cannot read \(.+no start line\)$/,
    ],
    [
      'the certificate given as the key',
      { key: pair.cert, cert: pair.cert },
      /option `endpoint.tls.key` must be a private key in PEM/,
    ],
    [
      'a key and the certificate of another key',
      { key: other.key, cert: pair.cert },
      /option `endpoint.tls` must be a private key and the certificate of that key, got a pair that OpenSSL refuses \(.+key values mismatch\)/,
    ],
  ])('is refused at setup: %s', (_name, tls, message) => {
    expectRefused({ endpoint: { ...onPort, tls } }, message);
  });

  it('is taken when it is a key and its certificate', async () => {
    const metrics = registerMetrics(express(), { endpoint: { ...onPort, tls: pair } });
    await metrics.ready;
    expect(metrics.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await metrics.shutdown();
  });
});

describe('the variables of the metrics endpoint', () => {
  const malformed = { OTEL_EXPORTER_PROMETHEUS_PORT: 'http', OTEL_EXPORTER_PROMETHEUS_HOST: '' };

  it('are not read where no endpoint listens', async () => {
    await withEnv(malformed, async () => {
      expect(createViews().length).toBeGreaterThan(0);
      expect(createViews({ naming: 'semconv' }).length).toBeGreaterThan(0);
      const provider = new MeterProvider();
      for (const options of [
        { meterProvider: provider },
        { endpoint: { mode: 'none' as const } },
        { endpoint: { mode: 'app' as const } },
        { exporters: 'none' as const },
      ]) {
        const metrics = registerMetrics(express(), options);
        await metrics.ready;
        await metrics.shutdown();
      }
    });
  });

  it('are read, and a malformed one refused, where an endpoint listens', () => {
    withEnv(malformed, () =>
      expectRefused(
        {},
        /^express-otel-metrics: OTEL_EXPORTER_PROMETHEUS_PORT must be an integer port from 0 to 65535, got "http"$/,
      ),
    );
  });
});

describe('OTEL_METRIC_EXPORT_TIMEOUT above OTEL_METRIC_EXPORT_INTERVAL', () => {
  it('is refused, as every other wrong variable is', () => {
    withEnv(
      {
        OTEL_METRICS_EXPORTER: 'console',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_METRIC_EXPORT_TIMEOUT: '5000',
      },
      () =>
        expectRefused(
          {},
          /^express-otel-metrics: OTEL_METRIC_EXPORT_TIMEOUT must be an integer number of milliseconds from 1 to 1000, the export interval, got "5000"$/,
        ),
    );
  });
});

describe('the message of a wrong option', () => {
  it.each<[string, RegisterMetricsOptions, RegExp]>([
    [
      'shows an empty array',
      { latencyBuckets: [] },
      /option `latencyBuckets` must be a non-empty, strictly increasing array of finite numbers, got \[\]$/,
    ],
    [
      'shows the array it got',
      { latencyBuckets: [1, 0.5] },
      /option `latencyBuckets` must be .*, got \[1, 0.5\]$/,
    ],
    [
      'says a password is missing',
      { endpoint: { basicAuth: { username: 'u' } as never } },
      /option `endpoint.basicAuth.password` must be a non-empty string, got undefined$/,
    ],
    [
      'says a token is empty',
      { endpoint: { bearerToken: '' } },
      /option `endpoint.bearerToken` must be a non-empty string, got ""$/,
    ],
    [
      'never shows a secret',
      { endpoint: { bearerToken: 12345 as never } },
      /option `endpoint.bearerToken` must be a non-empty string, got a value of type number$/,
    ],
  ])('%s', (_name, options, message) => expectRefused(options, message));
});

describe('an endpoint.host that is no address of this machine', () => {
  it.each(['no-such-host.invalid', '192.0.2.1'])(
    'rejects `ready` telling to change the host, not the port (%s)',
    async (host) => {
      const metrics = registerMetrics(express(), { endpoint: { host, port: 0 } });
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const err = await metrics.ready.then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(err?.message).toMatch(
          new RegExp(
            `cannot listen on ${host.replaceAll('.', '\\.')}:0 \\((ENOTFOUND|EADDRNOTAVAIL)\\); set the endpoint.host option or OTEL_EXPORTER_PROMETHEUS_HOST to a name or address of this machine`,
          ),
        );
        expect(err?.message).not.toMatch(/free port/);
      } finally {
        emitWarning.mockRestore();
        await metrics.shutdown();
      }
    },
  );
});
