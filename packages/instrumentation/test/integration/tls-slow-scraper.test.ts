/**
 * A scraper that stops reading an HTTPS endpoint is cut off after `endpoint.timeout` too. A TLS
 * socket cannot be reset (Node throws ERR_INVALID_HANDLE_TYPE), so the endpoint destroys it.
 */
import { connect } from 'node:tls';
import express from 'express5';
import { registerMetrics } from '../../src/index';
import { serverSides, type ServerSide } from '../helpers/tcp-table';
import { selfSignedPair } from '../helpers/tls';
import { until } from '../helpers/wait';

const TIMEOUT_MS = 500;

it('an HTTPS scrape that is never read is let go after endpoint.timeout', async () => {
  const metrics = registerMetrics(express(), {
    endpoint: { host: '127.0.0.1', port: 0, timeout: TIMEOUT_MS, tls: selfSignedPair() },
    collectors: { process: false, runtime: false, gc: false, eventLoop: false },
  });
  try {
    await metrics.ready;
    // About 18 MB, far more than loopback's socket buffers hold while nobody reads.
    const bulk = metrics.meterProvider.getMeter('bulk').createCounter('bulk');
    const filler = 'x'.repeat(12_000);
    for (let i = 0; i < 1500; i++) bulk.add(1, { v: `${filler}${i}` });

    const socket = connect({
      port: Number(new URL(metrics.url as string).port),
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    socket.pause();
    const sent = Date.now();
    socket.write('GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n');
    const port = Number(new URL(metrics.url as string).port);
    const side = (): ServerSide | undefined => serverSides(port).get(socket.localPort as number);
    // The answer stalls in the server's socket, the client reading none of it...
    const stalled = await until(
      async () => side()?.sendQueue ?? 0,
      (queued) => queued > 0,
      TIMEOUT_MS,
    );
    expect(stalled).toBeGreaterThan(0);
    // ...until the deadline, when the server lets the connection go (the client, which never
    // reads, would not notice the close itself).
    const letGo = await until(
      async () => ({ at: Date.now(), established: side()?.established ?? false }),
      (s) => !s.established,
      TIMEOUT_MS + 3000,
    );
    expect(letGo.established).toBe(false);
    expect(letGo.at - sent).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    socket.destroy();
  } finally {
    await metrics.shutdown();
  }
});
