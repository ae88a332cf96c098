/**
 * The Views of `createViews` that drop what OpenTelemetry's HTTP and Node.js runtime
 * instrumentations record under a name of the package's (their effect on a real NodeSDK is in
 * test/integration/sdk-coexistence.test.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { AggregationType, MeterProvider as SdkMeterProvider } from '@opentelemetry/sdk-metrics';
import express from 'express5';
import request from 'supertest';
import { createViews, registerMetrics, type RegisterMetricsOptions } from '../../src/index';
import { SDK_INSTRUMENTATIONS } from '../../src/views';
import { InMemoryReader } from '../helpers/reader';
import { sleep } from '../helpers/wait';

setFlagsFromString('--expose-gc');
const forceGc = runInNewContext('gc') as () => void;

const HTTP = '@opentelemetry/instrumentation-http';
const RUNTIME = '@opentelemetry/instrumentation-runtime-node';
const DELAYS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(
  (s) => `nodejs.eventloop.delay.${s}`,
);
const HEAP = [
  'v8js.memory.heap.space.available_size',
  'v8js.memory.heap.space.size',
  'v8js.memory.heap.used',
  'v8js.resource.active',
];

/** The Views on the instrumentations' meters, as `meter:instrument`, each a drop. */
function drops(options: RegisterMetricsOptions): string[] {
  const views = createViews(options).filter((v) => v.meterName === HTTP || v.meterName === RUNTIME);
  for (const view of views) expect(view.aggregation).toEqual({ type: AggregationType.DROP });
  return views.map((v) => `${v.meterName}:${v.instrumentName}`).sort();
}

const of = (meter: string, names: string[]): string[] => names.map((n) => `${meter}:${n}`);

describe('the Views against names the instrumentations record too', () => {
  it('drop nothing in the Prometheus naming, whose names are not theirs', () => {
    expect(drops({ naming: 'prometheus' })).toEqual([]);
  });

  it('drop the fourteen instruments of theirs that the semconv naming records too', () => {
    expect(drops({ naming: 'semconv' })).toEqual(
      [
        ...of(HTTP, ['http.server.request.duration']),
        ...of(RUNTIME, [...DELAYS, 'nodejs.eventloop.utilization', 'v8js.gc.duration', ...HEAP]),
      ].sort(),
    );
  });

  it('leave theirs be where a collector of ours is off', () => {
    expect(drops({ naming: 'semconv', collectors: { eventLoop: false, gc: false } })).toEqual(
      [...of(HTTP, ['http.server.request.duration']), ...of(RUNTIME, HEAP)].sort(),
    );
    expect(drops({ naming: 'semconv', collectors: { runtime: false } })).toEqual(
      [
        ...of(HTTP, ['http.server.request.duration']),
        ...of(RUNTIME, [...DELAYS, 'nodejs.eventloop.utilization', 'v8js.gc.duration']),
      ].sort(),
    );
  });

  it('name the meters and instruments the installed instrumentations create', () => {
    // Disabled: nothing is patched or observed; given a meter provider, they create their
    // instruments on it.
    const created = new Map<string, string[]>();
    const provider: MeterProvider = {
      getMeter(name) {
        const noop = createNoopMeter();
        const names = created.get(name) ?? [];
        created.set(name, names);
        return new Proxy(noop, {
          get(target, key: keyof Meter) {
            const member = target[key];
            if (typeof member !== 'function') return member;
            return (...args: unknown[]) => {
              if (String(key).startsWith('create')) names.push(args[0] as string);
              return (member as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
      },
    };
    for (const instrumentation of [
      new HttpInstrumentation({ enabled: false }),
      new RuntimeNodeInstrumentation({ enabled: false }),
    ]) {
      instrumentation.setMeterProvider(provider);
    }
    expect(
      Object.fromEntries([...created].map(([meter, names]) => [meter, [...new Set(names)].sort()])),
    ).toEqual(
      Object.fromEntries(SDK_INSTRUMENTATIONS.map((i) => [i.meter, [...i.instruments].sort()])),
    );
  });
});

describe('the drops against what the package records', () => {
  it.each<RegisterMetricsOptions>([
    { naming: 'prometheus' },
    { naming: 'semconv' },
    { naming: 'semconv', collectors: { eventLoop: false } },
    { naming: 'semconv', collectors: { gc: false } },
    { naming: 'semconv', collectors: { runtime: false } },
  ])('are exactly the instruments of theirs that it records too, with %j', async (options) => {
    const reader = new InMemoryReader();
    const provider = new SdkMeterProvider({ readers: [reader], views: createViews(options) });
    const app = express();
    const metrics = registerMetrics(app, { ...options, meterProvider: provider });
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    try {
      await request(app).get('/users/1').expect(200);
      // A lag sample (every 10 ms) and a GC, for the series that wait for one.
      await sleep(30);
      forceGc();
      await sleep(30);
      // As a Prometheus exposition shows them: `a.b` and `a_b` are one name there.
      const shown = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');
      const recorded = [...(await reader.metrics()).keys()].map(shown);
      const theirs = SDK_INSTRUMENTATIONS.flatMap(({ meter, instruments }) =>
        instruments
          .filter((name) => recorded.includes(shown(name)))
          .map((name) => `${meter}:${name}`),
      );
      expect(drops(options)).toEqual(theirs.sort());
    } finally {
      await metrics.shutdown();
      await provider.shutdown();
    }
  });
});
