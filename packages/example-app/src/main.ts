// First: the tracing SDK patches `http` and Express as they load.
import { tracing } from './tracing.js';
import cluster from 'node:cluster';
import { createApp } from './app.js';
import { runPrimary } from './primary.js';
import { serve } from './serve.js';

const port = Number(process.env.PORT ?? 3000);
// Basic authentication on the metrics endpoint, when both are set.
const username = process.env.METRICS_USERNAME;
const password = process.env.METRICS_PASSWORD;
const endpoint = username && password ? { endpoint: { basicAuth: { username, password } } } : {};

// WORKERS=N runs N processes behind one port (node:cluster); unset or empty, one process.
const workers = process.env.WORKERS;
if (workers && !/^[1-9]\d*$/.test(workers)) {
  console.error(`WORKERS must be a whole number of worker processes, 1 or more; got "${workers}"`);
  process.exit(1);
}

if (!workers) {
  serve(createApp(endpoint), port, { announce: true, tracing });
} else if (cluster.isPrimary) {
  runPrimary(Number(workers), port, endpoint);
} else {
  // The primary serves the metrics of every worker, with the endpoint settings above.
  serve(createApp({ cluster: true }), port, { announce: false, tracing });
}
