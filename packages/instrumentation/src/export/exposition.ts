import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type { Meter } from '@opentelemetry/api';
import { CATALOGUE, type Naming } from '../catalogue.js';
import { createCounter } from '../instruments.js';
import { ENDPOINT_LABELS, SCRAPE_LIMITS, type ScrapeLimit } from '../labels.js';
import type { Reporter } from '../report.js';
import type { TranslationStrategy } from '../options/types.js';
import {
  contentTypeOf,
  negotiateFormat,
  TEXT_CONTENT_TYPE,
  withUtf8Names,
  type EscapingScheme,
  type ExpositionFormat,
  type Negotiated,
} from './accept.js';
import { acceptsGzip } from './accept-encoding.js';
import type { Collected } from './collected.js';
import { createScrapeGate, type ScrapeLimits } from './scrape-gate.js';
import { writeProtobufInSlices } from './protobuf-writer.js';
import { unpooled, type Body } from './text-sink.js';
import { writeExpositionInSlices } from './writer.js';

/**
 * Prometheus' text format, version 0.0.4: what a scrape gets unless its `Accept` header prefers
 * OpenMetrics (accept.ts).
 */
export const EXPOSITION_CONTENT_TYPE = TEXT_CONTENT_TYPE;

/**
 * Bytes of gzip output per piece: a few round trips to the thread pool per mebibyte of text
 * rather than one per 16 KiB (zlib's default), each small enough to hand to the socket at once.
 */
const GZIP_CHUNK_BYTES = 256 * 1024;

/**
 * The chunks gzipped, on libuv's thread pool. `gzipSync` was no faster in our measurements
 * (about 2 ms for a 200 KB exposition and 26 ms for 3.3 MB, either way), and the asynchronous one
 * leaves the event loop to the app's requests meanwhile, which matters most when the endpoint is
 * mounted on the app. The output stays in the stream's pieces, never joined into one buffer.
 */
function compress(body: readonly Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const gzip = createGzip({ chunkSize: GZIP_CHUNK_BYTES });
    gzip.on('data', (piece: Buffer) => out.push(piece));
    gzip.once('end', () => resolve(out));
    // `on`, not `once`: a write queued behind the failing one may report its own error.
    gzip.on('error', reject);
    for (const chunk of body) gzip.write(chunk);
    gzip.end();
  });
}

/** Bytes in chunks. */
function lengthOf(chunks: readonly Buffer[]): number {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  return length;
}

/** The attribute the SDK puts on the series that collects label sets beyond the limit. */
const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';

/** Points looked at for the overflow attribute in a turn of the event loop: about 2 ms' worth. */
const OVERFLOW_CHECKS_PER_TURN = 20_000;

/**
 * Milliseconds of writing between two turns of the event loop. The SDK's own collection cannot be
 * split (about 10 ms at 10,000 series here, 40-100 ms at 50,000); the writing after it can, and in
 * slices this short neither the app's requests nor the scrape deadline wait long for it. A slice
 * is a bound on the writing alone: a young-generation collection can fall into it, and the
 * sending of the chunks already written runs between slices, so the loop is held somewhat
 * longer; 3 ms keeps the whole under 10 ms at 50,000 series.
 */
const WRITE_SLICE_MS = 3;

/**
 * Bytes handed to the socket at a time. The next slice waits for the socket to drain, so a slow
 * reader holds at most a slice beyond its socket buffers, even over TLS (which would otherwise
 * encrypt the whole answer into a copy of its own), and the answer itself is shared.
 */
const SEND_SLICE_BYTES = 64 * 1024;

/**
 * How long an answer goes on serving the scrapes that arrive after it was made, in multiples of
 * the time it took to make. Scrapes that come one after another, each after the last one ended,
 * would otherwise cost a collection each: 1,000 connections scraping the example app once each
 * (an 18 KiB exposition) held an app request for 1.7 s, mostly in collections. With this, answers
 * take at most a fifth of the event loop however fast scrapes come, and an answer is at most four
 * times its making old: a few milliseconds for most apps. It holds per format: a scrape in the
 * other format meanwhile is written from the same collection (see Round).
 */
const REUSE_FACTOR = 4;

/**
 * The longest an answer is reused, whatever it took to make: a cluster primary's includes waiting
 * for its workers (up to `workerTimeout`), which is time, not work.
 */
export const REUSE_MAX_MS = 1000;

/** What an exposition reads: a Prometheus reader, or the primary's merge of a cluster. */
export interface MetricSource {
  collect(): Promise<{ resourceMetrics: Collected; errors: unknown[] }>;
}

export interface Exposition {
  /** The collected data the exposition is written from. */
  collect(): Promise<Collected>;
  /**
   * The current exposition text, in the 0.0.4 text format unless `format` says otherwise, with
   * names outside the legacy character set (translationStrategy) escaped by `escaping`.
   */
  text(format?: ExpositionFormat, escaping?: EscapingScheme): Promise<string>;
  /**
   * Answers a scrape with the current exposition, in the format its `Accept` header prefers
   * (accept.ts), gzipped when the scraper accepts it.
   */
  handler(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * One collection written out in one format, shared by every scrape of that format that asked
 * while it was made: the body once, and gzipped once, when the first scraper that accepts gzip
 * asks for it.
 */
interface Answer {
  /**
   * The bytes, in pooled chunks (text-sink.ts): held by the round the answer belongs to while
   * the round may serve scrapes, and by each scrape and each compression that reads them.
   */
  body: Body;
  /** The body gzipped, or undefined if compressing failed (the plain body is sent then). */
  gzipped(): Promise<readonly Buffer[] | undefined>;
}

/**
 * One collection and its answers, one per format, each written when a scrape first asks for it.
 * Under the default translation strategy answers are keyed by format alone, not by the escaping
 * the scraper negotiated: every name the package writes then (metricName and labelName in
 * text-format.ts, prometheusName) is already valid under the legacy rules, and Prometheus'
 * escaping leaves such names as they are under every scheme (prometheus/common model/metric.go:
 * `EscapeMetricFamily` escapes only names that fail `IsValidLegacyMetricName`); OpenTelemetry's
 * specification asks the same of its default translation (metrics/sdk_exporters/prometheus.md,
 * "Interaction with Translation Strategy": under `UnderscoreEscapingWithSuffixes`, `foo.bar` in
 * `By` is `foo_bar_bytes_total` with `escaping=allow-utf-8` too). So the bytes do not depend on
 * it; only the Content-Type does. Under `NoUTF8EscapingWithSuffixes` they do, and the key is the
 * format and the scheme.
 */
interface Round {
  readonly collected: Promise<Collected>;
  readonly answers: Map<string, Promise<Answer>>;
  /** The bodies of its answers written so far, which the round holds until it is retired. */
  readonly bodies: Set<Body>;
  /** It serves no more scrapes; an answer written after this is let go once its scrapes hold it. */
  retired: boolean;
}

/**
 * Lets go of the round's answers. Not at once: a scrape takes its hold on an answer in the
 * continuation of the promise that gave it, and a macrotask later every such continuation has
 * run, so no answer returns to the pool between being handed to a scrape and the scrape holding it.
 */
function retire(round: Round): void {
  if (round.retired) return;
  round.retired = true;
  const bodies = [...round.bodies];
  round.bodies.clear();
  setImmediate(() => {
    for (const body of bodies) body.release();
  });
}

/** A round's answer, kept by the round, or let go soon if the round is retired already. */
function keep(round: Round, body: Body): void {
  if (!round.retired) round.bodies.add(body);
  else setImmediate(() => body.release());
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

/**
 * Bytes written to the socket in one turn of the event loop. Over loopback the kernel takes
 * megabytes at once, so a write is rarely refused, and without this bound a 70 MB answer was
 * written in blocks of about 20 ms each (the copies into the kernel's buffers).
 */
const SEND_TURN_BYTES = 512 * 1024;

/**
 * Sends `payload` a slice at a time, each once the socket has taken the one before, and at most
 * SEND_TURN_BYTES in a turn of the event loop.
 */
function sendInSlices(res: ServerResponse, payload: readonly Buffer[]): void {
  let index = 0;
  let offset = 0;
  const more = (): void => {
    let sent = 0;
    while (!res.destroyed) {
      if (sent >= SEND_TURN_BYTES) {
        setImmediate(more);
        return;
      }
      const chunk = payload[index];
      if (chunk === undefined) {
        res.end();
        return;
      }
      const end = Math.min(offset + SEND_SLICE_BYTES, chunk.length);
      const slice = chunk.subarray(offset, end);
      sent += slice.length;
      offset = end;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
      if (index === payload.length) {
        res.end(slice);
        return;
      }
      if (!res.write(slice)) {
        res.once('drain', more);
        return;
      }
    }
  };
  more();
}

/**
 * The self-metric of the scrape limits, with both of its series at 0 from the start, so that
 * `rate()` and `increase()` see the first refusal.
 */
function countRejections(meter: Meter): (limit: ScrapeLimit) => void {
  const counter = createCounter(meter, CATALOGUE.endpoint.scrapesRejected.prometheus);
  for (const limit of SCRAPE_LIMITS) counter.add(0, { [ENDPOINT_LABELS.limit]: limit });
  return (limit) => counter.add(1, { [ENDPOINT_LABELS.limit]: limit });
}

/**
 * Reads the source's current data and writes it in the Prometheus text format or OpenMetrics, as
 * each scraper prefers (accept.ts). Scrapes that
 * arrive while a collection is being made and written share it, and so do those that arrive soon
 * after (see REUSE_FACTOR), so that scrapes piling up (a client pipelining them, many connections
 * at once or one after another) cost one collection at a time and a bounded share of the event
 * loop, and the limits on scrapes in flight bound how many answers and sockets are held at once.
 * `meter` is where the self-metric of those limits is recorded: given where the handler serves,
 * not in a cluster worker, whose exposition only the primary reads.
 */
export function createExposition(
  reader: MetricSource,
  options: {
    targetInfo: boolean;
    scopeInfo: boolean;
    /** See WriterOptions.naming. */
    naming: Naming;
    /** See WriterOptions.translationStrategy. */
    translationStrategy?: TranslationStrategy;
    /** See WriterOptions.nativeHistogramMaxScale. */
    nativeHistogramMaxScale?: number;
    cardinalityLimit: number;
    endpoint: { timeout: number } & ScrapeLimits;
    /** See WriterOptions.constantLabels. */
    constantLabels?: string;
  },
  report: Reporter,
  meter?: Meter,
): Exposition {
  const writerOptions = {
    targetInfo: options.targetInfo,
    scopeInfo: options.scopeInfo,
    naming: options.naming,
    translationStrategy: options.translationStrategy,
    ...(options.nativeHistogramMaxScale !== undefined && {
      nativeHistogramMaxScale: options.nativeHistogramMaxScale,
    }),
    constantLabels: options.constantLabels ?? '',
    warn: (key: string, message: string) => report.warn(`exposition:${key}`, message),
  };

  // The SDK folds label sets beyond the limit into one series silently; say so, once per metric.
  // Looking for the overflow attribute on every point costs about 10 ms at 50,000 histogram
  // series with their counters, so the look is taken in slices too, starting a turn after the
  // SDK's collection, which stays a block of its own.
  async function warnOverflow(resourceMetrics: Collected): Promise<void> {
    let checked = 0;
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const points = metric.dataPoints as ReadonlyArray<{ attributes: Record<string, unknown> }>;
        for (const point of points) {
          if (++checked % OVERFLOW_CHECKS_PER_TURN === 0) await nextTurn();
          if (point.attributes[OVERFLOW_ATTRIBUTE] !== true) continue;
          const name = metric.descriptor.name;
          report.warn(
            `overflow:${name}`,
            `metric ${name} reached its limit of ${options.cardinalityLimit} series; further label sets are counted in its otel_metric_overflow="true" series`,
          );
          break;
        }
      }
    }
  }

  async function collect(): Promise<Collected> {
    const { resourceMetrics, errors } = await reader.collect();
    for (const err of errors)
      report.error('collect', 'a metric callback failed during collection', err);
    await nextTurn();
    await warnOverflow(resourceMetrics);
    return resourceMetrics;
  }

  const utf8Names = options.translationStrategy === 'NoUTF8EscapingWithSuffixes';

  /** What an answer to `negotiated` is written in, and is said to be in its Content-Type. */
  function writtenAs(negotiated: Negotiated): Negotiated {
    return utf8Names ? withUtf8Names(negotiated) : negotiated;
  }

  function keyOf({ format, escaping }: Negotiated): string {
    return utf8Names ? `${format};${escaping ?? 'underscores'}` : format;
  }

  async function makeAnswer(
    round: Round,
    collected: Collected,
    negotiated: Negotiated,
  ): Promise<Answer> {
    const { format, escaping } = negotiated;
    // A turn of the event loop before the writing, so that it starts in a slice of its own.
    await nextTurn();
    // A scrape sends bytes: the writer's chunks go out as they are, with no string in between.
    const settings = { ...writerOptions, format, escaping };
    const body =
      format === 'protobuf'
        ? unpooled(await writeProtobufInSlices(collected, settings, WRITE_SLICE_MS))
        : await writeExpositionInSlices(collected, settings, WRITE_SLICE_MS);
    keep(round, body);
    let gzipped: Promise<readonly Buffer[] | undefined> | undefined;
    return {
      body,
      gzipped: () => {
        if (gzipped === undefined) {
          // The compression reads the chunks on the thread pool, after this returns.
          body.hold();
          gzipped = compress(body.chunks)
            .catch((err: unknown) => {
              report.error(
                'gzip',
                'compressing the exposition failed; it is sent uncompressed',
                err,
              );
              return undefined;
            })
            .finally(() => body.release());
        }
        return gzipped;
      },
    };
  }

  /** The round's answer in `negotiated`, written from its collection when first asked for. */
  function answerOf(round: Round, negotiated: Negotiated): Promise<Answer> {
    const key = keyOf(negotiated);
    let made = round.answers.get(key);
    if (made === undefined) {
      made = round.collected.then((collected) => makeAnswer(round, collected, negotiated));
      round.answers.set(key, made);
      // A failed write is not kept for the scrapes after it.
      made.catch(() => round.answers.delete(key));
    }
    return made;
  }

  let making: Round | undefined;
  /**
   * The last round made, while its answers may still serve scrapes. It keeps its collection for
   * as long, so that a scrape in the other format is written from it rather than from another.
   */
  let recent: { round: Round; until: number } | undefined;

  /**
   * The answer in `negotiated` of the round being made, or of a recent one when `reuse` allows,
   * or of a new one: never two collections at once, whatever the formats asked for.
   */
  function answer(negotiated: Negotiated, reuse: boolean): Promise<Answer> {
    if (making !== undefined) return answerOf(making, negotiated);
    if (reuse && recent !== undefined && performance.now() < recent.until) {
      return answerOf(recent.round, negotiated);
    }
    const started = performance.now();
    const round: Round = {
      collected: collect(),
      answers: new Map(),
      bodies: new Set(),
      retired: false,
    };
    making = round;
    const current = answerOf(round, negotiated);
    current.then(
      () => {
        if (making === round) making = undefined;
        const ended = performance.now();
        const window = Math.min((ended - started) * REUSE_FACTOR, REUSE_MAX_MS);
        if (recent !== undefined) retire(recent.round);
        recent = { round, until: ended + window };
        // Let go once it may serve no more: between scrapes the app keeps no copy of the text,
        // only the pool's chunks to write the next one in.
        setTimeout(() => {
          if (recent?.round !== round) return;
          recent = undefined;
          retire(round);
        }, window).unref();
      },
      () => {
        if (making === round) making = undefined;
        retire(round);
      },
    );
    return current;
  }

  // In-process reads (tests, the handle's scrape()) see what was recorded before them.
  async function text(
    format: ExpositionFormat = 'text',
    escaping?: EscapingScheme,
  ): Promise<string> {
    const { body } = await answer(writtenAs({ format, escaping }), false);
    body.hold();
    try {
      return Buffer.concat(body.chunks).toString('utf8');
    } finally {
      body.release();
    }
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const negotiated = writtenAs(negotiateFormat(req.headers.accept));
    const shared = await answer(negotiated, true);
    // Held from here until the response is done with it: 'close' comes once the last write has
    // reached the kernel, or once the socket is closed and its pending writes dropped.
    shared.body.hold();
    res.once('close', () => shared.body.release());
    const gzipped = acceptsGzip(req.headers['accept-encoding'])
      ? await shared.gzipped()
      : undefined;
    if (res.headersSent || res.destroyed) return;
    const payload = gzipped ?? shared.body.chunks;
    res.statusCode = 200;
    res.setHeader('Content-Type', contentTypeOf(negotiated));
    res.setHeader('Vary', 'Accept, Accept-Encoding');
    if (gzipped !== undefined) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', lengthOf(payload));
    if (req.method === 'HEAD') res.end();
    else sendInSlices(res, payload);
  }

  const admit = createScrapeGate(
    options.endpoint,
    meter === undefined ? () => undefined : countRejections(meter),
  );

  function handler(req: IncomingMessage, res: ServerResponse): void {
    if (!admit(req, res)) return;
    cutOffAfter(res, options.endpoint.timeout);
    respond(req, res).catch((err: unknown) => {
      report.error('scrape', 'collecting metrics for a scrape failed', err);
      if (res.headersSent || res.destroyed) return;
      res.statusCode = 500;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('metrics collection failed\n');
    });
  }

  return { collect, text, handler };
}
