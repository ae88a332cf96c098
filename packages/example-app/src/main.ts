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

// LATENCY_HISTOGRAM=native|both records the request latency as a native histogram too.
const FORMS = ['classic', 'native', 'both'] as const;
const latency = process.env.LATENCY_HISTOGRAM || undefined;
const form = FORMS.find((f) => f === latency);
if (latency !== undefined && form === undefined) {
  console.error(`LATENCY_HISTOGRAM must be classic, native or both; got "${latency}"`);
  process.exit(1);
}
const histogram = form === undefined ? {} : { latencyHistogram: form };

if (!workers) {
  serve(createApp({ ...endpoint, ...histogram }), port, { announce: true, tracing });
} else if (cluster.isPrimary) {
  runPrimary(Number(workers), port, endpoint);
} else {
  // The primary serves the metrics of every worker, with the endpoint settings above.
  serve(createApp({ cluster: true, ...histogram }), port, { announce: false, tracing });
}
