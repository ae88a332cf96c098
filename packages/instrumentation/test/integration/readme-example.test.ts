// The README's "Testing an app that uses the package" example, as written there.
import express from 'express5';
import request from 'supertest';
import { registerMetrics, type MetricsHandle } from '../../src/index';

let metrics: MetricsHandle;
afterEach(() => metrics.shutdown());

test('counts a request', async () => {
  const app = express();
  metrics = registerMetrics(app, { endpoint: { mode: 'none' } }); // no port to pick
  app.get('/users/:id', (_req, res) => res.send('ok'));

  await request(app).get('/users/7').expect(200);

  const text = await metrics.scrape();
  expect(text).toContain(
    'app_request_count_total{method="GET",endpoint="/users/:id",http_status="200"} 1',
  );
});
