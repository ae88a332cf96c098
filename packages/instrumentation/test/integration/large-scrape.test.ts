import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { writeExposition, writeExpositionInSlices } from '../../src/export/writer';
import { collected, LARGE_OPTIONS as OPTIONS, measureBlocks } from '../helpers/large-scrape';

/** The series counts of the scrape benchmark (packages/bench, `pnpm bench:series`). */
const SERIES_COUNTS = [2000, 10_000, 50_000];

/**
 * The longest the event loop may be held at a time by the part of a scrape after the SDK's
 * collection (writing, compressing, sending), whatever the series count.
 */
const BLOCK_BOUND_MS = 10;

describe.each(SERIES_COUNTS)('a scrape of %i latency series', (series) => {
  let data: ResourceMetrics;
  beforeAll(async () => {
    data = await collected(series);
  }, 60_000);

  it('writes, in chunks, the bytes of the stock serializer', async () => {
    const stock = new PrometheusSerializer(
      '',
      false,
      undefined,
      !OPTIONS.targetInfo,
      true,
    ).serialize(data);
    const body = await writeExpositionInSlices(data, OPTIONS, 5);
    const { chunks } = body;
    const ours = Buffer.concat(chunks);
    expect(ours.equals(Buffer.from(stock, 'utf8'))).toBe(true);
    expect(writeExposition(data, OPTIONS)).toBe(stock);
    const histograms = stock.match(/^app_request_latency_seconds_count\{/gm)?.length;
    expect(histograms).toBe(series);
    expect(stock.match(/^app_request_count_total\{/gm)?.length).toBe(2 * series);
    // About 1.5 KB a series, so a megabyte's chunks: each one ends on a whole line.
    expect(chunks.length).toBeGreaterThanOrEqual(Math.floor(ours.length / (1024 * 1024)));
    for (const chunk of chunks) expect(chunk[chunk.length - 1]).toBe(0x0a);
    body.release();
  }, 120_000);

  it.each(['identity', 'gzip'])(
    `lets a timer run at least every ${BLOCK_BOUND_MS} ms while a scrape is answered (%s)`,
    async (encoding) => {
      const blocks = await measureBlocks(series, encoding);
      // Gzipped, the text of a series is about 60 bytes.
      expect(blocks.bytes).toBeGreaterThan(series * (encoding === 'gzip' ? 20 : 1000));
      expect(blocks.ticks).toBeGreaterThan(10);
      expect(blocks.longest).toBeLessThanOrEqual(BLOCK_BOUND_MS);
    },
    120_000,
  );
});
