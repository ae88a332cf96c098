import { registerMetrics } from '../../src/index';
import { FLAVOURS, listen } from '../helpers/apps';
import { samplesOf } from '../helpers/exposition';
import { checkMetrics, findPromtool } from '../helpers/promtool';
import { get, send } from '../helpers/request';
import { until } from '../helpers/wait';

const promtool = findPromtool();
const maybe = promtool === undefined ? describe.skip : describe;

maybe.each(FLAVOURS)('promtool check metrics on %s', (_flavour, express) => {
  it('accepts the exposition after varied traffic, with no lint problem', async () => {
    const app = express();
    const metrics = registerMetrics(app, {
      appVersion: 'v0.1.2',
      appConfig: 'staging "quoted"\\ and \n newline',
      endpoint: { mode: 'none' },
    });
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
    try {
      await get(running.url, '/');
      await get(running.url, '/users/1');
      await get(running.url, '/boom');
      await get(running.url, '/missing');
      await send(running.url, 'PROPFIND', '/');
      const text = await until(
        () => metrics.scrape(),
        (t) => samplesOf(t, 'app_request_count_total').reduce((n, s) => n + s.value, 0) === 5,
      );
      expect(samplesOf(text, 'app_request_count_total')).toHaveLength(5);
      expect(samplesOf(text, 'app_version_info')[0]?.labels.config).toBe(
        'staging "quoted"\\ and \n newline',
      );
      expect(checkMetrics(promtool as string, text)).toEqual({ status: 0, output: '' });
    } finally {
      await running.close();
      await metrics.shutdown();
    }
  });

  it('can fail: promtool rejects a broken exposition', () => {
    const broken = '# TYPE x counter\nx{a="1" 1\n';
    expect(checkMetrics(promtool as string, broken).status).not.toBe(0);
  });
});
