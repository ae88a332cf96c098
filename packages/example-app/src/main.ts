import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
// Basic authentication on the metrics endpoint, when both are set.
const username = process.env.METRICS_USERNAME;
const password = process.env.METRICS_PASSWORD;
const { app, metrics } = createApp(
  username && password ? { endpoint: { basicAuth: { username, password } } } : {},
);

metrics.ready.then(
  () => {
    // OTEL_METRICS_EXPORTER=otlp pushes to a Collector instead, and opens no endpoint.
    if (metrics.url !== undefined) console.log(`metrics on ${metrics.url}`);
  },
  // The app keeps serving without its metrics endpoint; the reason was already printed.
  () => undefined,
);

const server = app.listen(port, () => {
  console.log(`example app on http://localhost:${port}`);
});

function stop(): void {
  server.close();
  server.closeAllConnections();
  metrics.shutdown().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
