import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createExposition, REUSE_MAX_MS } from '../../src/export/exposition';
import { CHUNK_BYTES, CHUNK_POOL } from '../../src/export/text-sink';
import { writeExposition } from '../../src/export/writer';
import { createReporter } from '../../src/report';
import { sleep } from '../helpers/wait';

const SERIES = 10_000;
const OPTIONS = { targetInfo: false, scopeInfo: false };

/** Histogram series whose counts differ from one collection to the next. */
function recorder(): { collect: () => Promise<ResourceMetrics>; record: (n: number) => void } {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [reader],
    views: [{ instrumentName: '*', aggregationCardinalityLimit: SERIES + 10 }],
  });
  const latency = provider.getMeter('pool').createHistogram('latency');
  return {
    record: (n) => {
      for (let i = 0; i < SERIES; i++) {
        for (let k = 0; k < n; k++) latency.record((i % 100) / 100, { endpoint: `/route${i}` });
      }
    },
    collect: async () => (await reader.collect()).resourceMetrics,
  };
}

/** The body of one scrape read over a raw socket, which reads nothing until `readWhen` settles. */
function slowScrape(port: number, readWhen: Promise<void>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.pause();
    socket.on('data', (piece: Buffer) => received.push(piece));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(received);
      resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
    });
    socket.write('GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n');
    void readWhen.then(() => socket.resume());
  });
}

describe('answers written into pooled chunks', () => {
  it('sends a slow scraper the answer it asked for while later answers reuse the pool', async () => {
    const metrics = recorder();
    const collections: ResourceMetrics[] = [];
    const exposition = createExposition(
      {
        collect: async () => {
          const resourceMetrics = await metrics.collect();
          collections.push(resourceMetrics);
          return { resourceMetrics, errors: [] };
        },
      },
      {
        ...OPTIONS,
        naming: 'prometheus',
        cardinalityLimit: SERIES + 10,
        endpoint: { timeout: 60_000, maxConcurrentScrapes: 10, maxScrapesPerConnection: 1 },
      },
      createReporter(),
    );
    const server = createServer(exposition.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      metrics.record(1);
      let read: () => void = () => undefined;
      const slow = slowScrape(port, new Promise<void>((resolve) => (read = resolve)));
      // The slow scraper's answer is written, and most of it waits unsent behind a socket that
      // is not read.
      while (collections.length === 0) await sleep(10);
      await sleep(200);

      // Later answers, once the slow one's round may serve no more: their chunks come from the
      // pool, never from the answer still being sent.
      for (let round = 2; round <= 3; round++) {
        await sleep(REUSE_MAX_MS + 100);
        metrics.record(1);
        const text = await exposition.text();
        expect(text).toBe(writeExposition(collections[collections.length - 1]!, OPTIONS));
        expect(text).toContain(`latency_count{endpoint="/route7"} ${round}\n`);
      }
      read();
      const first = (await slow).toString('utf8');
      expect(first.length).toBeGreaterThan(CHUNK_BYTES * 4);
      expect(first).toBe(writeExposition(collections[0]!, OPTIONS));
      expect(first).toContain('latency_count{endpoint="/route7"} 1\n');

      // Once no answer is read any more, the pool keeps the chunks of at most one answer.
      await sleep(REUSE_MAX_MS + 100);
      expect(CHUNK_POOL.size).toBeGreaterThan(0);
      expect(CHUNK_POOL.size).toBeLessThanOrEqual(Math.ceil(first.length / (CHUNK_BYTES * 0.9)));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
