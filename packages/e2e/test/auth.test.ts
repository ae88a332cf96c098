import { startExampleApp, type ExampleApp } from './helpers/example-app';
import { startPrometheus, type Prometheus } from './helpers/prometheus';
import { waitFor } from './helpers/processes';

const JOB = 'example-app-auth';
const USER = 'prometheus';
const PASSWORD = 'a "quoted" secret';

let app: ExampleApp;
let prometheus: Prometheus;

beforeAll(async () => {
  app = await startExampleApp({ METRICS_USERNAME: USER, METRICS_PASSWORD: PASSWORD });
  prometheus = await startPrometheus({
    jobs: { [JOB]: [app.metricsTarget] },
    jobConfig: {
      [JOB]: [
        'basic_auth:',
        `  username: ${JSON.stringify(USER)}`,
        `  password: ${JSON.stringify(PASSWORD)}`,
      ],
    },
  });
});

afterAll(async () => {
  await prometheus?.stop();
  await app?.stop();
});

describe('the metrics endpoint with basic authentication', () => {
  it('turns away an unauthenticated scrape with 401', async () => {
    const res = await fetch(`http://${app.metricsTarget}/metrics`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="metrics", charset="UTF-8"');
    expect(await res.text()).not.toContain('app_version_info');
  });

  it('is scraped by a real Prometheus configured with basic_auth', async () => {
    const up = await waitFor(async () => {
      const result = await prometheus.query(`up{job="${JOB}"}`);
      return result[0]?.value[1] === '1';
    }, 30000);
    expect(up).toBe(true);
    const version = await prometheus.query(`app_version_info{job="${JOB}",version="v0.1.2"}`);
    expect(version).toHaveLength(1);
    expect(version[0]?.value[1]).toBe('1');
  });
});
