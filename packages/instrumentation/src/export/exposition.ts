import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Reporter } from '../report.js';
import { acceptsGzip } from './accept-encoding.js';
import { writeExposition, writeExpositionBytes } from './writer.js';

/** Prometheus' text format, version 0.0.4. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The asynchronous gzip, on libuv's thread pool. `gzipSync` was no faster in our measurements
 * (about 2 ms for a 200 KB exposition and 26 ms for 3.3 MB, either way), and the asynchronous one
 * leaves the event loop to the app's requests meanwhile, which matters most when the endpoint is
 * mounted on the app.
 */
const compress = promisify(gzip);

/** The attribute the SDK puts on the series that collects label sets beyond the limit. */
const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

/** What an exposition reads: a Prometheus reader, or the primary's merge of a cluster. */
export interface MetricSource {
  collect(): Promise<{ resourceMetrics: ResourceMetrics; errors: unknown[] }>;
}

export interface Exposition {
  /** The collected data the exposition is written from. */
  collect(): Promise<ResourceMetrics>;
  /** The current exposition text. */
  text(): Promise<string>;
  /** Answers a scrape with the current exposition, gzipped when the scraper accepts it. */
  handler(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * Disconnects a scrape that has not sent its last byte after `ms`: a client that reads slowly
 * or not at all would otherwise keep the socket, and the unsent part of the exposition in
 * memory, for as long as it likes.
 */
function cutOffAfter(res: ServerResponse, ms: number): void {
  const timer = setTimeout(() => {
    if (res.writableFinished) return;
    // A reset, not a close: after a close the kernel would still try to deliver what it holds
    // to a client that does not read it.
    const socket = res.socket;
    if (socket !== null && typeof socket.resetAndDestroy === 'function') {
      try {
        socket.resetAndDestroy();
        return;
      } catch {
        // A TLS socket cannot be reset; destroying it is the next best thing.
      }
    }
    res.destroy();
  }, ms);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
}

/** Reads the reader's current data and writes it in the Prometheus text format. */
export function createExposition(
  reader: MetricSource,
  options: {
    targetInfo: boolean;
    scopeInfo: boolean;
    cardinalityLimit: number;
    endpoint: { timeout: number };
    /** See WriterOptions.constantLabels. */
    constantLabels?: string;
  },
  report: Reporter,
  warn: Reporter,
): Exposition {
  const writerOptions = {
    targetInfo: options.targetInfo,
    scopeInfo: options.scopeInfo,
    constantLabels: options.constantLabels ?? '',
    warn: (key: string, message: string) => report(`exposition:${key}`, message),
  };

  // The SDK folds label sets beyond the limit into one series silently; say so, once per metric.
  function warnOverflow(resourceMetrics: ResourceMetrics): void {
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const points = metric.dataPoints as ReadonlyArray<{ attributes: Record<string, unknown> }>;
        if (points.some((p) => p.attributes[OVERFLOW_ATTRIBUTE] === true)) {
          const name = metric.descriptor.name;
          warn(
            `overflow:${name}`,
            `metric ${name} reached its limit of ${options.cardinalityLimit} series; further label sets are counted in its otel_metric_overflow="true" series`,
          );
        }
      }
    }
  }

  async function collect(): Promise<ResourceMetrics> {
    const { resourceMetrics, errors } = await reader.collect();
    for (const err of errors) report('collect', 'a metric callback failed during collection', err);
    warnOverflow(resourceMetrics);
    return resourceMetrics;
  }

  async function text(): Promise<string> {
    return writeExposition(await collect(), writerOptions);
  }

  // A scrape sends bytes: the writer's buffer goes out as it is, with no string in between.
  async function bytes(): Promise<Buffer> {
    return writeExpositionBytes(await collect(), writerOptions);
  }

  /** The body to send and its encoding; the plain text if compressing fails. */
  async function encode(
    body: Buffer,
    gzipped: boolean,
  ): Promise<{ payload: Buffer; encoding?: 'gzip' }> {
    if (!gzipped) return { payload: body };
    try {
      return { payload: await compress(body), encoding: 'gzip' };
    } catch (err) {
      report('gzip', 'compressing the exposition failed; it is sent uncompressed', err);
      return { payload: body };
    }
  }

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const gzipped = acceptsGzip(req.headers['accept-encoding']);
    cutOffAfter(res, options.endpoint.timeout);
    bytes()
      .then((body) => encode(body, gzipped))
      .then(
        ({ payload, encoding }) => {
          if (res.headersSent || res.destroyed) return;
          res.statusCode = 200;
          res.setHeader('Content-Type', EXPOSITION_CONTENT_TYPE);
          res.setHeader('Vary', 'Accept-Encoding');
          if (encoding !== undefined) res.setHeader('Content-Encoding', encoding);
          res.setHeader('Content-Length', payload.length);
          res.end(req.method === 'HEAD' ? undefined : payload);
        },
        (err: unknown) => {
          report('scrape', 'collecting metrics for a scrape failed', err);
          if (res.headersSent || res.destroyed) return;
          res.statusCode = 500;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end('metrics collection failed\n');
        },
      );
  }

  return { collect, text, handler };
}
