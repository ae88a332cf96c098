import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ENTRIES, seriesOf } from '../../src/catalogue';
import { prometheusName } from '../../src/export/prometheus-name';
import { registerMetrics, type RegisterMetricsOptions } from '../../src/index';
import { hasProc } from '../../src/platform/proc';
import { FLAVOURS, listen } from '../helpers/apps';
import { samplesOf, typeOf } from '../helpers/exposition';
import { checkMetrics, findPromtool } from '../helpers/promtool';
import { get, send } from '../helpers/request';
import { until } from '../helpers/wait';

setFlagsFromString('--expose-gc');
const forceGc = runInNewContext('gc') as () => void;

const promtool = findPromtool();
const maybe = promtool === undefined ? describe.skip : describe;

type ExpressFactory = (typeof FLAVOURS)[number][1];

/**
 * An app with a route, a failing route, a 404 and an unknown method behind it; `scrape` is its
 * exposition, `close` ends both.
 */
async function afterTraffic(
  express: ExpressFactory,
  options: RegisterMetricsOptions,
): Promise<{ scrape: () => Promise<string>; close: () => Promise<void> }> {
  const app = express();
  const metrics = registerMetrics(app, { ...options, endpoint: { mode: 'none' } });
  app.get('/', (_req, res) => {
    res.send('Test');
  });
  app.get('/users/:id', (_req, res) => {
    res.status(201).send('created');
  });
  app.get('/boom', () => {
    throw new Error('boom');
  });
  const running = await listen(app);
  const close = async (): Promise<void> => {
    await running.close();
    await metrics.shutdown();
  };
  try {
    await get(running.url, '/');
    await get(running.url, '/users/1');
    await get(running.url, '/boom');
    await get(running.url, '/missing');
    await send(running.url, 'PROPFIND', '/');
  } catch (err) {
    await close();
    throw err;
  }
  return { scrape: () => metrics.scrape(), close };
}

maybe.each(FLAVOURS)('promtool check metrics on %s', (_flavour, express) => {
  it('accepts the exposition after varied traffic, with no lint problem', async () => {
    const { scrape, close } = await afterTraffic(express, {
      appVersion: 'v0.1.2',
      appConfig: 'staging "quoted"\\ and \n newline',
      inFlight: true,
      bodySizes: true,
    });
    try {
      const text = await until(
        scrape,
        (t) => samplesOf(t, 'app_request_count_total').reduce((n, s) => n + s.value, 0) === 5,
      );
      expect(samplesOf(text, 'app_request_count_total')).toHaveLength(5);
      // The optional series are there, with their values: nothing in flight, a size per request.
      expect(samplesOf(text, 'app_requests_in_flight').map((s) => [s.labels, s.value])).toEqual([
        [{ method: 'GET' }, 0],
        [{ method: '_OTHER' }, 0],
      ]);
      expect(
        samplesOf(text, 'app_response_size_bytes_count').reduce((n, s) => n + s.value, 0),
      ).toBe(5);
      expect(samplesOf(text, 'app_version_info')[0]?.labels.config).toBe(
        'staging "quoted"\\ and \n newline',
      );
      expect(checkMetrics(promtool as string, text)).toEqual({ status: 0, output: '' });
    } finally {
      await close();
    }
  });

  it("accepts the semconv naming's exposition, every family under Prometheus' OTLP name", async () => {
    const { scrape, close } = await afterTraffic(express, {
      naming: 'semconv',
      appVersion: 'v0.1.2',
      inFlight: true,
      bodySizes: true,
    });
    try {
      forceGc();
      // Every series of the catalogue in this naming but the cluster primary's (and those that
      // only Linux has, elsewhere), under its translated name, and nothing else.
      const linuxOnly = [
        'process.memory.virtual',
        'process.unix.file_descriptor.count',
        'process_max_fds',
      ];
      const expected = ENTRIES.flatMap((entry) => {
        const series = seriesOf(entry, 'semconv');
        if (series === undefined || series.name.startsWith('app_cluster_')) return [];
        if (!hasProc() && linuxOnly.includes(series.name)) return [];
        return [prometheusName(series.name, series.unit, series.kind) as string];
      }).sort();
      const familiesOf = (t: string): string[] =>
        [...t.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string).sort();
      const family = 'http_server_request_duration_seconds';
      // The event-loop statistics and the GC histogram appear once they have a value.
      const text = await until(
        scrape,
        (t) =>
          samplesOf(t, `${family}_count`).reduce((n, s) => n + s.value, 0) === 5 &&
          familiesOf(t).length === expected.length,
      );
      expect(samplesOf(text, `${family}_count`)).toHaveLength(5);
      expect(familiesOf(text)).toEqual(expected);
      if (hasProc()) expect(typeOf(text, 'process_unix_file_descriptor_count')).toBe('untyped');
      expect(checkMetrics(promtool as string, text)).toEqual({ status: 0, output: '' });
    } finally {
      await close();
    }
  });

  it('can fail: promtool rejects a broken exposition', () => {
    const broken = '# TYPE x counter\nx{a="1" 1\n';
    expect(checkMetrics(promtool as string, broken).status).not.toBe(0);
  });
});
