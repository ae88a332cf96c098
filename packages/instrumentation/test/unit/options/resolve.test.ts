import { DEFAULT_LATENCY_BUCKETS } from '../../../src/index';
import { resolveExport } from '../../../src/options/exporters';
import { resolveOptions } from '../../../src/options/resolve';
import { resolveServing, type Serving } from '../../../src/options/serving';
import { createReporter } from '../../../src/report';

/** How a registration with these options and variables would serve its metrics. */
function servingOf(options: unknown, env: Record<string, string>): Serving {
  const resolved = resolveOptions(options);
  return resolveServing(resolved, resolveExport(resolved, env, createReporter()), env);
}

describe('options', () => {
  it('fills every default', () => {
    expect(servingOf(undefined, {})).toMatchObject({
      mode: 'port',
      address: { port: 9464, host: '127.0.0.1' },
    });
    expect(resolveOptions(undefined)).toEqual({
      appVersion: 'unknown',
      appConfig: 'unknown',
      latencyBuckets: DEFAULT_LATENCY_BUCKETS,
      latencyHistogram: 'classic',
      nativeHistogramMaxSize: 160,
      nativeHistogramMaxScale: 8,
      gcDurationBuckets: [0.001, 0.01, 0.1, 1, 2, 5],
      collectors: { process: true, runtime: true, gc: true, eventLoop: true },
      excludePaths: [],
      extraLabels: undefined,
      cardinalityLimit: 2000,
      exemplars: true,
      inFlight: false,
      bodySizes: false,
      endpoint: {
        mode: 'port',
        // From the variables, read when a server listens (above).
        port: undefined,
        host: undefined,
        path: '/metrics',
        timeout: 10000,
        maxConcurrentScrapes: 10,
        maxScrapesPerConnection: 1,
      },
      targetInfo: false,
      scopeInfo: false,
      naming: 'prometheus',
      translationStrategy: 'UnderscoreEscapingWithSuffixes',
      cluster: false,
      workerIndex: undefined,
    });
  });

  it('lets 0 and empty strings mean what they say', () => {
    const r = resolveOptions({ appVersion: '', endpoint: { port: 0 } });
    expect(r.appVersion).toBe('');
    expect(r.endpoint.port).toBe(0);
    const env = { OTEL_EXPORTER_PROMETHEUS_PORT: '9999' };
    expect(servingOf({ endpoint: { port: 0 } }, env)).toMatchObject({ address: { port: 0 } });
  });

  it('prefers options over the environment, and the environment over defaults', () => {
    const env = { OTEL_EXPORTER_PROMETHEUS_PORT: '9999', OTEL_EXPORTER_PROMETHEUS_HOST: '::1' };
    expect(servingOf({}, env)).toMatchObject({ address: { port: 9999, host: '::1' } });
    expect(servingOf({ endpoint: { port: 1234, host: 'localhost' } }, env)).toMatchObject({
      address: { port: 1234, host: 'localhost' },
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['appVersion', { appVersion: 3 }, /`appVersion` must be a string, got 3/],
    ['appConfig', { appConfig: 42 }, /`appConfig` must be a string, got 42/],
    [
      'latencyBuckets order',
      { latencyBuckets: [1, 0.5] },
      /`latencyBuckets` must be a non-empty, strictly increasing/,
    ],
    ['latencyBuckets empty', { latencyBuckets: [] }, /`latencyBuckets`/],
    ['latencyBuckets NaN', { latencyBuckets: [0.1, NaN] }, /`latencyBuckets`/],
    ['gcDurationBuckets', { gcDurationBuckets: [2, 1] }, /`gcDurationBuckets` must be a non-empty/],
    ['collectors', { collectors: true }, /`collectors` must be an object, got true/],
    [
      'excludePaths',
      { excludePaths: '/healthz' },
      /`excludePaths` must be an array of strings and RegExps/,
    ],
    ['endpoint', { endpoint: 9464 }, /`endpoint` must be an object, got 9464/],
    [
      'endpoint.mode',
      { endpoint: { mode: 'sidecar' } },
      /`endpoint.mode` must be 'port', 'app' or 'none', got "sidecar"/,
    ],
    [
      'endpoint.port',
      { endpoint: { port: 70000 } },
      /`endpoint.port` must be an integer port from 0 to 65535, got 70000/,
    ],
    ['endpoint.port string', { endpoint: { port: '9464' } }, /`endpoint.port`.*got "9464"/],
    [
      'endpoint.path',
      { endpoint: { path: 'metrics' } },
      /`endpoint.path` must be a path starting with '\/', got "metrics"/,
    ],
    ['targetInfo', { targetInfo: 'yes' }, /`targetInfo` must be a boolean, got "yes"/],
    ['exemplars', { exemplars: 1 }, /`exemplars` must be a boolean, got 1/],
    ['inFlight', { inFlight: 'true' }, /`inFlight` must be a boolean, got "true"/],
    ['bodySizes', { bodySizes: 1 }, /`bodySizes` must be a boolean, got 1/],
    [
      'latencyHistogram',
      { latencyHistogram: 'exponential' },
      /`latencyHistogram` must be 'classic', 'native' or 'both', got "exponential"/,
    ],
    [
      'nativeHistogramMaxSize',
      { nativeHistogramMaxSize: 1 },
      /`nativeHistogramMaxSize` must be an integer from 2 to 16384, got 1/,
    ],
    [
      'nativeHistogramMaxScale',
      { nativeHistogramMaxScale: 9 },
      /`nativeHistogramMaxScale` must be an integer from -4 to 8, got 9/,
    ],
    [
      'translationStrategy',
      { naming: 'semconv', translationStrategy: 'NoTranslation' },
      /`translationStrategy` must be 'UnderscoreEscapingWithSuffixes' or 'NoUTF8EscapingWithSuffixes', got "NoTranslation"/,
    ],
    [
      'translationStrategy without semconv',
      { translationStrategy: 'NoUTF8EscapingWithSuffixes' },
      /`translationStrategy` must be 'UnderscoreEscapingWithSuffixes' unless naming is 'semconv', got "NoUTF8EscapingWithSuffixes"/,
    ],
    [
      'translationStrategy in a cluster worker',
      { naming: 'semconv', translationStrategy: 'NoUTF8EscapingWithSuffixes', cluster: true },
      /option `translationStrategy` has no effect with `cluster: true`.*serveClusterMetrics\(\)/,
    ],
    ['endpoint.timeout zero', { endpoint: { timeout: 0 } }, /`endpoint.timeout` must be .*got 0/],
    [
      'endpoint.timeout in seconds',
      { endpoint: { timeout: 2.5 } },
      /`endpoint.timeout` must be an integer number of milliseconds.*got 2.5/,
    ],
    [
      'endpoint.maxConcurrentScrapes zero',
      { endpoint: { maxConcurrentScrapes: 0 } },
      /`endpoint.maxConcurrentScrapes` must be a positive integer, got 0/,
    ],
    [
      'endpoint.maxConcurrentScrapes fraction',
      { endpoint: { maxConcurrentScrapes: 1.5 } },
      /`endpoint.maxConcurrentScrapes` must be a positive integer, got 1.5/,
    ],
    [
      'endpoint.maxScrapesPerConnection',
      { endpoint: { maxScrapesPerConnection: '2' } },
      /`endpoint.maxScrapesPerConnection` must be a positive integer, got "2"/,
    ],
    [
      'top-level key',
      { appVerison: '1.0' },
      /there is no option "appVerison"; the known ones are appVersion, appConfig/,
    ],
    [
      'endpoint key',
      { endpoint: { prot: 9464 } },
      /option `endpoint` has no key "prot"; the known ones are mode, port/,
    ],
    ['options', 'fast', /`options` must be an object, got "fast"/],
  ])('rejects a wrong %s with a TypeError naming it', (_name, options, message) => {
    expect(() => resolveOptions(options)).toThrow(TypeError);
    expect(() => resolveOptions(options)).toThrow(message);
  });

  it('rejects a malformed OTEL_EXPORTER_PROMETHEUS_PORT naming the variable', () => {
    expect(() => servingOf({}, { OTEL_EXPORTER_PROMETHEUS_PORT: 'http' })).toThrow(
      /OTEL_EXPORTER_PROMETHEUS_PORT must be an integer port from 0 to 65535, got "http"/,
    );
  });
});
