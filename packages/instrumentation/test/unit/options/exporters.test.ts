import { registerMetrics, type RegisterMetricsOptions } from '../../../src/index';
import type { ResolvedExporter } from '../../../src/options/exporters';
import { resolveOptions } from '../../../src/options/resolve';
import { exportersFor, handleOf, usersApp, withEnv, type Env } from '../../helpers/exporters';

describe('exporter selection', () => {
  it('is Prometheus alone by default; OTEL_METRICS_EXPORTER decides when the option is absent', () => {
    const otlpDefaults = (askedBy: string): ResolvedExporter => ({
      type: 'otlp',
      protocol: 'http/protobuf',
      askedBy: `${askedBy}, with OTLP's default protocol http/protobuf,`,
      temporality: 'cumulative',
      interval: 60_000,
      timeout: 30_000,
    });
    expect(exportersFor({}, {})).toEqual([{ type: 'prometheus' }]);
    expect(exportersFor({}, { OTEL_METRICS_EXPORTER: ' ' })).toEqual([{ type: 'prometheus' }]);
    // Case, spaces and repeats do not matter, as the specification has it.
    expect(exportersFor({}, { OTEL_METRICS_EXPORTER: ' Prometheus , OTLP,otlp' })).toEqual([
      { type: 'prometheus' },
      otlpDefaults('OTEL_METRICS_EXPORTER=Prometheus , OTLP,otlp'),
    ]);
    expect(exportersFor({}, { OTEL_METRICS_EXPORTER: 'none' })).toEqual([]);
    expect(exportersFor({}, { OTEL_METRICS_EXPORTER: 'console' })).toEqual([
      { type: 'console', interval: 60_000, timeout: 30_000 },
    ]);
    // The option wins over the variable.
    expect(exportersFor({ exporters: 'prometheus' }, { OTEL_METRICS_EXPORTER: 'otlp' })).toEqual([
      { type: 'prometheus' },
    ]);
    expect(exportersFor({ exporters: ['otlp', 'prometheus'] }, {})).toEqual([
      otlpDefaults('the option exporters'),
      { type: 'prometheus' },
    ]);
  });

  it('reads the OTLP protocol, temporality and schedule from the standard variables', () => {
    const otlp = (env: Env): ResolvedExporter | undefined =>
      exportersFor({ exporters: 'otlp' }, env)[0];
    expect(otlp({ OTEL_EXPORTER_OTLP_PROTOCOL: 'GRPC' })).toMatchObject({
      protocol: 'grpc',
      askedBy: 'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
    });
    expect(
      otlp({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      }),
    ).toMatchObject({
      protocol: 'http/json',
      askedBy: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/json',
    });
    expect(otlp({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta' })).toMatchObject({
      temporality: 'delta',
    });
    expect(
      otlp({ OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_METRIC_EXPORT_TIMEOUT: '400' }),
    ).toMatchObject({ interval: 1000, timeout: 400 });
    // An export may not outlast its interval.
    expect(otlp({ OTEL_METRIC_EXPORT_INTERVAL: '1000' })).toMatchObject({
      interval: 1000,
      timeout: 1000,
    });
  });

  it.each<[Env, string]>([
    [
      { OTEL_METRICS_EXPORTER: 'otpl' },
      'OTEL_METRICS_EXPORTER must be a comma-separated list of prometheus, otlp, console, none, got "otpl"',
    ],
    [
      { OTEL_METRICS_EXPORTER: 'prometheus,zipkin' },
      'otlp, console, none, got "prometheus,zipkin" ("zipkin" is not one of them)',
    ],
    [
      { OTEL_METRICS_EXPORTER: 'none,otlp' },
      'OTEL_METRICS_EXPORTER must be \'none\' alone or a list without it, got "none,otlp"',
    ],
    [
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http' },
      'OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, http/json, grpc, got "http"',
    ],
    [
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'json' },
      'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL must be one of http/protobuf, http/json, grpc, got "json"',
    ],
    [
      {
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes',
      },
      'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE must be one of cumulative, delta, lowmemory, got "sometimes"',
    ],
    [
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '0' },
      'OTEL_METRIC_EXPORT_INTERVAL must be an integer number of milliseconds from 1 to 2147483647, got "0"',
    ],
    [
      { OTEL_METRICS_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: 'soon' },
      'OTEL_METRIC_EXPORT_INTERVAL must be an integer',
    ],
    [
      { OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_TIMEOUT: '1.5' },
      'OTEL_METRIC_EXPORT_TIMEOUT must be an integer',
    ],
  ])(
    'refuses %j with a TypeError naming the variable, before touching the app',
    async (env, message) => {
      await withEnv(env, async () => {
        const app = usersApp();
        const handle = handleOf(app);
        expect(() => registerMetrics(app, { endpoint: { mode: 'none' } })).toThrow(TypeError);
        expect(() => registerMetrics(app, { endpoint: { mode: 'none' } })).toThrow(message);
        expect(handleOf(app)).toBe(handle);
      });
    },
  );

  it('reads only the variables of the exporters in use', () => {
    const env = {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon',
      OTEL_METRIC_EXPORT_INTERVAL: 'never',
    };
    expect(exportersFor({}, env)).toEqual([{ type: 'prometheus' }]);
  });

  const provider = { getMeter: () => ({}) } as unknown as RegisterMetricsOptions['meterProvider'];
  it.each<[RegisterMetricsOptions, string]>([
    [
      { exporters: 'otpl' as 'otlp' },
      "option `exporters` must be 'prometheus', 'otlp', 'console', 'none', a MetricReader, or a non-empty array of them ('none' alone), got \"otpl\"",
    ],
    [{ exporters: [] }, 'got an empty array'],
    [
      { exporters: [{}] as unknown as ['otlp'] },
      'got an object without setMetricProducer, collect, forceFlush, shutdown',
    ],
    [{ exporters: 7 as unknown as 'otlp' }, 'got 7'],
    [{ exporters: ['none', 'otlp'] }, 'got none, otlp'],
    [
      { meterProvider: {} as RegisterMetricsOptions['meterProvider'] },
      'option `meterProvider` must be a MeterProvider (an object with a getMeter method), got "an object without getMeter"',
    ],
    [
      { meterProvider: provider, exporters: 'otlp' },
      'options `exporters` and `meterProvider` exclude each other',
    ],
    [
      { exporters: 'otlp', endpoint: { port: 0 } },
      "option `endpoint` shapes the Prometheus exposition, but `exporters` leaves 'prometheus' out",
    ],
    [
      { exporters: ['console'], targetInfo: true },
      "option `targetInfo` shapes the Prometheus exposition, but `exporters` leaves 'prometheus' out",
    ],
    [
      { exporters: 'otlp', exemplars: true },
      "option `exemplars` shapes the Prometheus exposition, but `exporters` leaves 'prometheus' out",
    ],
    [
      {
        meterProvider: provider,
        naming: 'semconv',
        translationStrategy: 'NoUTF8EscapingWithSuffixes',
      },
      'option `translationStrategy` shapes the Prometheus exposition, but with `meterProvider` the package serves no exposition',
    ],
    [
      { meterProvider: provider, scopeInfo: false },
      'option `scopeInfo` shapes the Prometheus exposition, but with `meterProvider` the package serves no exposition',
    ],
  ])('refuses the options %p with a TypeError naming the option', (options, message) => {
    expect(() => resolveOptions(options)).toThrow(TypeError);
    expect(() => resolveOptions(options)).toThrow(message);
  });

  it('keeps the endpoint options of the code when the variable leaves Prometheus out', () => {
    const options = { endpoint: { port: 9999, basicAuth: { username: 'u', password: 'p' } } };
    expect(exportersFor(options, { OTEL_METRICS_EXPORTER: 'none' })).toEqual([]);
  });
});
