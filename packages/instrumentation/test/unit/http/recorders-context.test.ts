/*
 * The context the recorders give the SDK: the one active when the request ended, read once by the
 * interceptor and passed with every recording of the request, so that the SDK need not read it
 * again for each. An attributes processor of the app's (a View on the package's instruments) is
 * what sees it; here, one that keeps what it was given.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createContextKey, ROOT_CONTEXT, type Attributes, type Context } from '@opentelemetry/api';
import { MeterProvider, type IAttributesProcessor } from '@opentelemetry/sdk-metrics';
import { METER_NAME } from '../../../src/catalogue';
import { createRequestRecorder } from '../../../src/http/recorders';
import { INSTRUMENTS, SEMCONV_METRICS } from '../../../src/names';
import { resolveOptions } from '../../../src/options/resolve';
import type { RegisterMetricsOptions } from '../../../src/options/types';
import { viewsFor } from '../../../src/views';
import { InMemoryReader } from '../../helpers/reader';

const TENANT = createContextKey('tenant');

/** Takes `tenant` from the context into the attributes, and keeps each context it was given. */
function contextSpy(): { processor: IAttributesProcessor; seen: Array<Context | undefined> } {
  const seen: Array<Context | undefined> = [];
  return {
    seen,
    processor: {
      process(incoming: Attributes, context?: Context): Attributes {
        seen.push(context);
        return { ...incoming, tenant: String(context?.getValue(TENANT) ?? 'none') };
      },
    },
  };
}

function request(): IncomingMessage {
  return { method: 'GET', httpVersion: '1.1', socket: {} } as unknown as IncomingMessage;
}

function response(): ServerResponse {
  return { statusCode: 200, headersSent: true } as unknown as ServerResponse;
}

/** A recorder into a provider with the package's Views and one spying View per instrument. */
function setUp(options: RegisterMetricsOptions, instruments: readonly string[]) {
  const resolved = resolveOptions({ endpoint: { mode: 'none' }, ...options });
  const spy = contextSpy();
  const reader = new InMemoryReader();
  const provider = new MeterProvider({
    readers: [reader],
    views: [
      ...viewsFor(resolved),
      ...instruments.map((instrumentName) => ({
        instrumentName,
        name: `spy_${instrumentName}`,
        attributesProcessors: [spy.processor],
      })),
    ],
  });
  const record = createRequestRecorder({
    meter: provider.getMeter(METER_NAME),
    options: resolved,
    resolveEndpoint: () => '/users/:id',
  });
  const tenants = async (): Promise<Record<string, unknown[]>> => {
    const { resourceMetrics } = await reader.collect();
    const out: Record<string, unknown[]> = {};
    for (const { metrics } of resourceMetrics.scopeMetrics) {
      for (const m of metrics) {
        if (!m.descriptor.name.startsWith('spy_')) continue;
        out[m.descriptor.name] = m.dataPoints.map((p) => p.attributes.tenant);
      }
    }
    return out;
  };
  return { record, seen: spy.seen, tenants };
}

describe('the context the recorders give the SDK', () => {
  it('is the one given, for every recording of the request, in the Prometheus naming', async () => {
    const instruments = [
      INSTRUMENTS.requestLatency,
      INSTRUMENTS.requestCount,
      INSTRUMENTS.requestSize,
      INSTRUMENTS.responseSize,
    ];
    const { record, seen, tenants } = setUp({ bodySizes: true }, instruments);
    const ended = ROOT_CONTEXT.setValue(TENANT, 'acme');
    const req = request();
    req.headers = { 'content-length': '12' };
    record(req, response(), 0.01, true, undefined, 30, ended);

    expect(seen).toHaveLength(4);
    for (const context of seen) expect(context).toBe(ended);
    expect(await tenants()).toEqual(
      Object.fromEntries(instruments.map((name) => [`spy_${name}`, ['acme']])),
    );
  });

  it('is the one given in the semantic conventions', async () => {
    const instrument = SEMCONV_METRICS.requestDuration;
    const { record, seen, tenants } = setUp({ naming: 'semconv' }, [instrument]);
    const ended = ROOT_CONTEXT.setValue(TENANT, 'globex');
    record(request(), response(), 0.01, true, undefined, undefined, ended);

    expect(seen).toEqual([ended]);
    expect(await tenants()).toEqual({ [`spy_${instrument}`]: ['globex'] });
  });

  it('is the active one, read by the SDK, when none is given', async () => {
    const { record, seen, tenants } = setUp({}, [INSTRUMENTS.requestCount]);
    record(request(), response(), 0.01, true, undefined);

    // With no context manager registered, the active context is the root one.
    expect(seen).toEqual([ROOT_CONTEXT]);
    expect(await tenants()).toEqual({ [`spy_${INSTRUMENTS.requestCount}`]: ['none'] });
  });
});
