import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import express from 'express5';
import { REUSE_MAX_MS } from '../../src/export/exposition';
import { CHUNK_BYTES, CHUNK_POOL } from '../../src/export/text-sink';
import { registerMetrics, type MetricsHandle } from '../../src/index';
import { serverSides } from '../helpers/tcp-table';
import { sleep, until } from '../helpers/wait';

// jest does not pass --expose-gc; the flag can still be set before the first use of `gc`.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * The bytes held in buffers once garbage is gone. V8 frees the memory of dead buffers on a
 * background thread after a collection, which on a loaded machine can lag the collection by tens
 * of milliseconds, so a single gc() before reading can still count the last answer's bytes.
 */
async function liveBufferBytes(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().arrayBuffers;
}

const TIMEOUT_MS = 1000;
/** Far above what loopback's socket buffers hold, so most of it waits in the server's memory. */
const BULK_SERIES = 1500;
const BULK_VALUE_BYTES = 12_000;

function portOf(metrics: MetricsHandle): number {
  return Number(new URL(metrics.url as string).port);
}

/** Resolves when the connection ends, with when and how many bytes had arrived by then. */
function closed(socket: Socket, counted: () => number): Promise<{ at: number; bytes: number }> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ at: Date.now(), bytes: counted() }));
  });
}

async function withEndpoint(run: (metrics: MetricsHandle) => Promise<void>): Promise<void> {
  const metrics = registerMetrics(express(), {
    endpoint: { host: '127.0.0.1', port: 0, timeout: TIMEOUT_MS },
    collectors: { process: false, runtime: false, gc: false, eventLoop: false },
  });
  try {
    await metrics.ready;
    await run(metrics);
  } finally {
    await metrics.shutdown();
  }
}

describe('a slow scraper', () => {
  it('that reads one byte a second is disconnected after endpoint.timeout and leaves nothing behind', async () => {
    await withEndpoint(async (metrics) => {
      // An exposition of about 18 MB.
      const bulk = metrics.meterProvider.getMeter('bulk').createCounter('bulk');
      const filler = 'x'.repeat(BULK_VALUE_BYTES);
      for (let i = 0; i < BULK_SERIES; i++) bulk.add(1, { v: `${filler}${i}` });
      const size = Buffer.byteLength(await metrics.scrape());
      expect(size).toBeGreaterThan(BULK_SERIES * BULK_VALUE_BYTES);

      // That answer may serve scrapes for a moment (at most a second); then it is let go, and
      // its chunks wait in the pool for the next answer.
      await sleep(1100);
      const pooled = CHUNK_POOL.size;
      expect(pooled).toBeGreaterThanOrEqual(Math.floor(size / CHUNK_BYTES));
      const before = await liveBufferBytes();
      const socket = connect(portOf(metrics), '127.0.0.1');
      socket.pause();
      let received = 0;
      const reader = setInterval(() => {
        const byte = socket.read(1) as Buffer | null;
        if (byte !== null) received += byte.length;
      }, 1000);
      // A failed assertion must not leave the reader keeping the test process alive.
      reader.unref();
      socket.write('GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n');

      // While the scraper stalls, the unsent exposition is held by the server, from the moment
      // the answer is made (its bytes wait in the server's socket) until the deadline: written
      // into the pool's chunks, which it keeps from the pool meanwhile, and no more memory.
      const sent = Date.now();
      await until(
        async () => serverSides(portOf(metrics)).get(socket.localPort as number)?.sendQueue ?? 0,
        (queued) => queued > 0,
        TIMEOUT_MS,
      );
      expect(Date.now() - sent).toBeLessThan(TIMEOUT_MS);
      expect(CHUNK_POOL.size).toBeLessThan(pooled / 2);
      const stalled = await liveBufferBytes();
      expect(stalled - before).toBeLessThan(size / 10);

      // Past the timeout the server has let go of it: the connection was reset and the chunks
      // are back in the pool once the answer may serve no more scrapes (at most REUSE_MAX_MS
      // after it was made, which on a loaded machine can end after the timeout).
      await sleep(sent + TIMEOUT_MS - Date.now());
      const back = await until(
        async () => CHUNK_POOL.size,
        (chunks) => chunks >= pooled,
        REUSE_MAX_MS + 1000,
      );
      expect(back).toBeGreaterThanOrEqual(pooled);
      expect((await liveBufferBytes()) - before).toBeLessThan(size / 10);

      // What the client's kernel had already taken is still delivered, then the reset.
      clearInterval(reader);
      const end = closed(socket, () => received);
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      const { bytes } = await end;
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThan(size);

      // No connection is left open: closing does not wait for the grace period of scrapes in flight.
      const closing = Date.now();
      await metrics.shutdown();
      expect(Date.now() - closing).toBeLessThan(1000);
    });
  }, 20_000);

  it('that sends its request one byte a second is disconnected too', async () => {
    await withEndpoint(async (metrics) => {
      const socket = connect(portOf(metrics), '127.0.0.1');
      let reply = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (reply += chunk));
      const end = closed(socket, () => reply.length);
      const request = 'GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n';
      const sent = Date.now();
      let i = 0;
      const writer = setInterval(() => {
        if (i < request.length - 1 && !socket.destroyed) socket.write(request[i++] as string);
      }, 1000);
      const { at } = await end;
      clearInterval(writer);
      // Node checks the request's deadline once per checking interval (at most a second here).
      expect(at - sent).toBeLessThan(TIMEOUT_MS + 1000 + 1500);
      expect(reply.startsWith('HTTP/1.1 408')).toBe(true);
    });
  }, 20_000);
});
