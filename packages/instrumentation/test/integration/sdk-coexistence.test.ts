/*
 * The package beside OpenTelemetry's NodeSDK running the HTTP, Express and Node.js runtime
 * instrumentations, each app in a process of its own (the instrumentations patch `http` for the
 * whole process): no name exported by two scopes, in either naming, and the package's scrapes
 * neither counted nor traced by the HTTP instrumentation.
 */
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { NAMINGS } from '../../src/catalogue';
import { METER_NAME, type Naming } from '../../src/index';
import { freePort } from '../helpers/apps';
import { parseExposition, samplesOf } from '../helpers/exposition';
import { checkMetrics, findPromtool } from '../helpers/promtool';
import { readmeSdkSection, replaceOnce, spawnReadmeSdkApp } from '../helpers/readme-sdk';
import { get } from '../helpers/request';
import {
  IGNORE_SCRAPES_HOOK,
  startSdkApp,
  type DurationPoint,
  type RecordedSpan,
  type SdkAppConfig,
} from '../helpers/sdk-process';
import { selfSignedPair } from '../helpers/tls';
import { until } from '../helpers/wait';

jest.setTimeout(60_000);

const promtool = findPromtool();
const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
const RUNTIME_SCOPE = '@opentelemetry/instrumentation-runtime-node';

/** Every metric family of an exposition, with the `otel_scope_name`s of its samples. */
function scopesByFamily(text: string): Map<string, Set<string>> {
  const families = new Map<string, Set<string>>();
  let family = '';
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type !== null) {
      family = type[1] as string;
      families.set(family, new Set());
    } else if (line !== '' && !line.startsWith('#')) {
      const [sample] = parseExposition(line);
      families.get(family)?.add(sample?.labels.otel_scope_name ?? '');
    }
  }
  return families;
}

const familiesOf = (scopes: Map<string, Set<string>>, scope: string): string[] =>
  [...scopes].filter(([, s]) => s.has(scope)).map(([name]) => name);

/** Whether something accepts connections on the loopback port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The README's app with `naming`, the SDK exporting with its Prometheus exporter on `port`. */
function readmeApp(naming: Naming, appPort: number, prometheusPort: number) {
  return spawnReadmeSdkApp(
    {
      PORT: String(appPort),
      OTEL_SERVICE_NAME: 'readme-app',
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(prometheusPort),
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'env',
    },
    (files) =>
      naming === 'prometheus'
        ? files
        : {
            ...files,
            otel: replaceOnce(
              files.otel,
              "appConfig: 'staging' }",
              `appConfig: 'staging', naming: '${naming}' }`,
            ),
          },
  );
}

/** What each naming should show, by scope. */
const EXPECTED: Record<
  Naming,
  {
    /** Our request series, one sample, with its labels exactly. */
    requests: { name: string; labels: Record<string, string> };
    /** Families that runtime-node alone exports, at least. */
    runtimeAtLeast: string[];
    /** Families that runtime-node may export (the rest wait for data: a GC, enough samples). */
    runtimeAtMost: string[];
    /** instrumentation-http's families. */
    http: string[];
    /** Families both the package and an instrumentation record (but the GC's, which waits). */
    shared: string[];
  }
> = {
  prometheus: {
    requests: {
      name: 'app_request_count_total',
      labels: { method: 'GET', endpoint: '/users/:id', http_status: '200' },
    },
    runtimeAtLeast: [
      'nodejs_eventloop_time_total',
      'v8js_memory_heap_space_physical_size',
      'v8js_memory_heap_used',
      'v8js_memory_heap_space_size',
      'v8js_memory_heap_space_available_size',
      'v8js_resource_active',
      'nodejs_eventloop_utilization',
    ],
    runtimeAtMost: [
      ...['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(
        (s) => `nodejs_eventloop_delay_${s}`,
      ),
      'nodejs_eventloop_time_total',
      'nodejs_eventloop_utilization',
      'v8js_gc_duration',
      'v8js_memory_heap_space_available_size',
      'v8js_memory_heap_space_physical_size',
      'v8js_memory_heap_space_size',
      'v8js_memory_heap_used',
      'v8js_resource_active',
    ],
    http: ['http_server_request_duration'],
    shared: [],
  },
  semconv: {
    requests: {
      name: 'http_server_request_duration_count',
      labels: {
        http_request_method: 'GET',
        url_scheme: 'http',
        network_protocol_version: '1.1',
        http_route: '/users/:id',
        http_response_status_code: '200',
      },
    },
    runtimeAtLeast: ['nodejs_eventloop_time_total', 'v8js_memory_heap_space_physical_size'],
    runtimeAtMost: ['nodejs_eventloop_time_total', 'v8js_memory_heap_space_physical_size'],
    http: [],
    shared: [
      'http_server_request_duration',
      ...['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(
        (s) => `nodejs_eventloop_delay_${s}`,
      ),
      'nodejs_eventloop_utilization',
      'v8js_memory_heap_space_size',
      'v8js_memory_heap_used',
      'v8js_memory_heap_space_available_size',
      'v8js_resource_active',
    ],
  },
};

/**
 * What promtool finds in the SDK's exposition of the semconv naming: one series of the package
 * whose conventional name ends in `_count` though it is a gauge. Prometheus' own OTLP translation
 * gives it the same name; it lints, and is stored and queried as it is.
 */
const SEMCONV_LINT = [
  'process_unix_file_descriptor_count non-histogram and non-summary metrics should not have "_count" suffix',
];

describe.each(NAMINGS)("the README's NodeSDK setup, naming '%s'", (naming) => {
  const expected = EXPECTED[naming];

  it("exports each name under one scope, the package's and the instrumentations' others", async () => {
    const [appPort, prometheusPort] = [await freePort(), await freePort()];
    const { child, exited } = readmeApp(naming, appPort, prometheusPort);
    try {
      await until(
        async () => (await accepting(appPort)) && (await accepting(prometheusPort)),
        (up) => up,
        20_000,
      );
      const app = `http://127.0.0.1:${appPort}`;
      const exporter = `http://127.0.0.1:${prometheusPort}`;
      // Scrapes before and between the app's requests: none of them is one of the app's.
      for (let i = 0; i < 3; i++) expect((await get(exporter, '/metrics')).status).toBe(200);
      for (const id of [1, 2, 3]) expect((await get(app, `/users/${id}`)).status).toBe(200);
      const text = await until(
        async () => (await get(exporter, '/metrics')).body,
        (t) =>
          samplesOf(t, expected.requests.name).some((s) => s.value === 3) &&
          expected.runtimeAtLeast.every((f) =>
            familiesOf(scopesByFamily(t), RUNTIME_SCOPE).includes(f),
          ) &&
          // The event-loop series wait for a sample after the previous scrape.
          expected.shared.every((f) => scopesByFamily(t).has(f)),
        10_000,
      );
      const scopes = scopesByFamily(text);

      const twice = [...scopes].filter(([, s]) => s.size > 1).map(([f, s]) => [f, [...s]]);
      expect(twice).toEqual([]);

      expect(samplesOf(text, expected.requests.name)).toEqual([
        {
          name: expected.requests.name,
          labels: { ...expected.requests.labels, otel_scope_name: METER_NAME },
          value: 3,
        },
      ]);
      const runtime = familiesOf(scopes, RUNTIME_SCOPE);
      expect(runtime).toEqual(expect.arrayContaining(expected.runtimeAtLeast));
      expect(expected.runtimeAtMost).toEqual(expect.arrayContaining(runtime));
      expect(familiesOf(scopes, HTTP_SCOPE)).toEqual(expected.http);
      if (naming === 'semconv') {
        // The names both record, exported once: by the package.
        for (const family of expected.shared) {
          expect([family, [...(scopes.get(family) ?? [])]]).toEqual([family, [METER_NAME]]);
        }
      } else {
        // instrumentation-http's, with the README's hook: the app's 3 requests, no scrape.
        expect(
          samplesOf(text, 'http_server_request_duration_count').map((s) => [s.labels, s.value]),
        ).toEqual([
          [
            {
              ...EXPECTED.semconv.requests.labels,
              otel_scope_name: HTTP_SCOPE,
              otel_scope_version: expect.any(String) as unknown as string,
            },
            3,
          ],
        ]);
      }

      if (promtool !== undefined) {
        const { status, output } = checkMetrics(promtool, text);
        if (naming === 'semconv') {
          expect({ status, output }).toEqual({ status: 3, output: SEMCONV_LINT.join('\n') });
        } else {
          expect({ status, output }).toEqual({ status: 0, output: '' });
        }
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

/** The README's line that gives the SDK the package's reader. */
const READER_LINE = 'metricReaders: [createPrometheusReader({ naming: options.naming })],';

/** The README's app with the package's reader in the SDK, serving on `prometheusPort`. */
function readerApp(naming: Naming, appPort: number, prometheusPort: number) {
  return spawnReadmeSdkApp(
    {
      PORT: String(appPort),
      OTEL_SERVICE_NAME: 'readme-app',
      // Ignored with a reader given: the SDK's own exporter would take this port otherwise.
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(prometheusPort),
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'env',
    },
    (files) => {
      let otel = replaceOnce(
        files.otel,
        "appConfig: 'staging' }",
        `appConfig: 'staging', naming: '${naming}' }`,
      );
      otel = replaceOnce(
        otel,
        'import { createViews,',
        'import { createPrometheusReader, createViews,',
      );
      otel = replaceOnce(
        otel,
        'views: createViews(options),',
        `views: createViews(options),\n  ${READER_LINE}`,
      );
      return { ...files, otel };
    },
  );
}

describe.each(NAMINGS)(
  "the README's NodeSDK setup with the package's reader, naming '%s'",
  (naming) => {
    it("serves every scope once, under Prometheus' names, promtool-clean", async () => {
      expect(readmeSdkSection()).toContain(READER_LINE);
      const [appPort, prometheusPort] = [await freePort(), await freePort()];
      const { child, exited } = readerApp(naming, appPort, prometheusPort);
      try {
        await until(
          async () => (await accepting(appPort)) && (await accepting(prometheusPort)),
          (up) => up,
          20_000,
        );
        const app = `http://127.0.0.1:${appPort}`;
        const endpoint = `http://127.0.0.1:${prometheusPort}`;
        for (let i = 0; i < 3; i++) expect((await get(endpoint, '/metrics')).status).toBe(200);
        for (const id of [1, 2, 3]) expect((await get(app, `/users/${id}`)).status).toBe(200);
        const requests =
          naming === 'semconv'
            ? {
                name: 'http_server_request_duration_seconds_count',
                labels: EXPECTED.semconv.requests.labels,
              }
            : EXPECTED.prometheus.requests;
        // runtime-node's own series, named as Prometheus' OTLP receiver names them in semconv.
        const runtimeOwn =
          naming === 'semconv'
            ? ['nodejs_eventloop_time_seconds_total', 'v8js_memory_heap_space_physical_size_bytes']
            : ['nodejs_eventloop_time_total', 'v8js_memory_heap_space_physical_size'];
        const reply = await until(
          () => get(endpoint, '/metrics'),
          (r) =>
            samplesOf(r.body, requests.name).some((s) => s.value === 3) &&
            runtimeOwn.every((f) => familiesOf(scopesByFamily(r.body), RUNTIME_SCOPE).includes(f)),
          10_000,
        );
        // The package's writer, not the SDK's exporter, answered.
        expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
        const text = reply.body;
        const scopes = scopesByFamily(text);
        expect([...scopes].filter(([, s]) => s.size > 1)).toEqual([]);
        expect(samplesOf(text, requests.name)).toEqual([
          {
            name: requests.name,
            labels: {
              ...requests.labels,
              otel_scope_name: METER_NAME,
            },
            value: 3,
          },
        ]);
        if (naming === 'semconv') {
          // The package's copy of a shared name, under Prometheus' name for it.
          expect([...(scopes.get('nodejs_eventloop_utilization_ratio') ?? [])]).toEqual([
            METER_NAME,
          ]);
        }
        if (promtool !== undefined) {
          expect(checkMetrics(promtool, text)).toEqual({ status: 0, output: '' });
        }
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      // The SDK's shutdown stopped the reader's endpoint.
      expect(await accepting(prometheusPort)).toBe(false);
    });
  },
);

/** A GET over HTTPS that trusts `ca`. */
function getTls(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const isServer = (span: RecordedSpan): boolean => span.kind === 1;
const countOf = (points: DurationPoint[]): number => points.reduce((n, p) => n + p.count, 0);

/**
 * Scrapes `times` times, then checks the SDK has counted and traced nothing new; then the app's
 * own requests, which it does count and trace (so that the check can fail).
 */
async function expectScrapesUnseen(config: SdkAppConfig): Promise<void> {
  const app = await startSdkApp(config);
  try {
    expect(app.ownEmitBefore).toEqual({ http: false, https: false, tls: false, net: false });
    // instrumentation-http is on: it has patched the prototype.
    expect(app.ownEmitAfter.http).toBe(true);
    const metrics = new URL(app.metricsUrl);
    const scrape = async (): Promise<void> => {
      const reply =
        config.tls === undefined
          ? await get(metrics.origin, metrics.pathname)
          : await getTls(app.metricsUrl, config.tls.cert);
      expect(reply.status).toBe(200);
      expect(reply.body).toContain('# TYPE');
    };
    for (let i = 0; i < 5; i++) await scrape();
    expect(await app.spans()).toEqual([]);
    expect(await app.serverDuration()).toEqual([]);

    for (const id of [1, 2]) expect((await get(app.url, `/users/${id}`)).status).toBe(200);
    const spans = await until(
      () => app.spans(),
      (s) => s.filter(isServer).length === 2,
    );
    expect(spans.filter(isServer).map((s) => s.attributes['url.path'])).toEqual([
      '/users/1',
      '/users/2',
    ]);
    expect(countOf(await app.serverDuration())).toBe(2);

    for (let i = 0; i < 3; i++) await scrape();
    expect((await app.spans()).length).toBe(spans.length);
    expect(countOf(await app.serverDuration())).toBe(2);
  } finally {
    expect(await app.stop()).toBe(0);
  }
}

describe.each(NAMINGS)("the package's own port beside NodeSDK, naming '%s'", (naming) => {
  it.each(['sdk-first', 'package-first'] as const)(
    'is neither counted nor traced by instrumentation-http (%s)',
    (order) => expectScrapesUnseen({ naming, serving: 'port', order, ignoreScrapes: false }),
  );
});

describe("the package's own port over HTTPS beside NodeSDK", () => {
  it('is neither counted nor traced by instrumentation-http, which patches https too', () => {
    const { key, cert } = selfSignedPair();
    return expectScrapesUnseen({
      naming: 'prometheus',
      serving: 'port',
      order: 'sdk-first',
      ignoreScrapes: false,
      tls: { key: key.toString(), cert: cert.toString() },
    });
  });
});

describe.each(NAMINGS)("the handler mounted on the app beside NodeSDK, naming '%s'", (naming) => {
  it("is neither counted nor traced with the README's ignoreIncomingRequestHook", async () => {
    expect(readmeSdkSection()).toContain(IGNORE_SCRAPES_HOOK);
    await expectScrapesUnseen({
      naming,
      serving: 'mounted',
      order: 'sdk-first',
      ignoreScrapes: true,
    });
  });
});

describe('the handler mounted on the app without the hook', () => {
  it('is counted and traced by instrumentation-http like any request', async () => {
    const app = await startSdkApp({
      naming: 'prometheus',
      serving: 'mounted',
      order: 'sdk-first',
      ignoreScrapes: false,
    });
    try {
      const metrics = new URL(app.metricsUrl);
      for (let i = 0; i < 3; i++) await get(metrics.origin, metrics.pathname);
      const spans = await until(
        () => app.spans(),
        (s) => s.filter(isServer).length === 3,
      );
      expect(spans.filter(isServer).map((s) => s.attributes['url.path'])).toEqual([
        '/metrics',
        '/metrics',
        '/metrics',
      ]);
      expect(countOf(await app.serverDuration())).toBe(3);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });
});
