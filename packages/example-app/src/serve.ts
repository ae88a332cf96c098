import type { createApp } from './app.js';

/**
 * Serves the app on `port` until SIGINT or SIGTERM, then stops taking requests and shuts the
 * metrics down before exiting: in a cluster worker that hands the last counts to the primary.
 * `announce` prints where the app and its metrics are; a cluster's primary does it for its workers.
 * `tracing`, the SDK when traces are on, is shut down last, so that its last spans are sent.
 */
export function serve(
  { app, metrics }: ReturnType<typeof createApp>,
  port: number,
  { announce, tracing }: { announce: boolean; tracing?: { shutdown(): Promise<void> } | undefined },
): void {
  if (announce) {
    metrics.ready.then(
      () => {
        // OTEL_METRICS_EXPORTER=otlp pushes to a Collector instead, and opens no endpoint.
        if (metrics.url !== undefined) console.log(`metrics on ${metrics.url}`);
      },
      // The app keeps serving without its metrics endpoint; the reason was already printed.
      () => undefined,
    );
  }

  const server = app.listen(port, (err?: Error) => {
    // Express hands listen errors (a port in use) to this callback instead of throwing them.
    if (err) {
      console.error(`the example app cannot listen on port ${port}: ${err.message}`);
      process.exit(1);
    }
    if (announce) console.log(`example app on http://localhost:${port}`);
  });

  let stopping = false;
  function stop(): void {
    // Ctrl-C signals a cluster's primary and workers alike, and the primary signals them again.
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    metrics
      .shutdown()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
  }
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
