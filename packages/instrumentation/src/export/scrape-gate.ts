import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ScrapeLimit } from '../labels.js';

/** How many scrapes may be in flight at once: a scrape is in flight from its request to its end. */
export interface ScrapeLimits {
  maxConcurrentScrapes: number;
  maxScrapesPerConnection: number;
}

/** Lets a scrape in, or answers it `503` and returns false. */
export type ScrapeGate = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Seconds a refused scraper is asked to wait. A slot frees when a scrape in flight ends, which
 * takes one collection in the common case and `endpoint.timeout` at worst; a second is the first.
 */
const RETRY_AFTER_SECONDS = '1';

function refusal(text: string): Buffer {
  return Buffer.from(`${text}; retry later\n`, 'utf8');
}

/**
 * Admits scrapes while fewer than the limits are in flight, in total and on the request's
 * connection. Beyond them the answer is a `503` with `Retry-After`, made of constant parts, and
 * the connection is closed after it: a flood of refused scrapes costs what a flood of 404s would
 * and holds no socket, and a connection that pipelined scrapes behind its own unfinished one is
 * not read any further. A scraper reconnects for its next scrape, as it would after any error.
 * Each refusal is told to `onRejected`, for the self-metric.
 */
export function createScrapeGate(
  limits: ScrapeLimits,
  onRejected: (limit: ScrapeLimit) => void,
): ScrapeGate {
  const { maxConcurrentScrapes, maxScrapesPerConnection } = limits;
  const bodies: Record<ScrapeLimit, Buffer> = {
    concurrent: refusal(`too many scrapes in flight (at most ${maxConcurrentScrapes})`),
    per_connection: refusal(
      `too many scrapes in flight on this connection (at most ${maxScrapesPerConnection})`,
    ),
  };
  let inFlight = 0;
  // Keyed by the socket, so a connection's count goes with it.
  const onConnection = new WeakMap<Socket, number>();

  function refuse(req: IncomingMessage, res: ServerResponse, limit: ScrapeLimit): void {
    const body = bodies[limit];
    res.statusCode = 503;
    res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', body.length);
    res.setHeader('Connection', 'close');
    res.end(req.method === 'HEAD' ? undefined : body);
    onRejected(limit);
  }

  return (req, res) => {
    const socket = req.socket;
    const mine = onConnection.get(socket) ?? 0;
    if (mine >= maxScrapesPerConnection) {
      refuse(req, res, 'per_connection');
      return false;
    }
    if (inFlight >= maxConcurrentScrapes) {
      refuse(req, res, 'concurrent');
      return false;
    }
    inFlight++;
    onConnection.set(socket, mine + 1);
    // 'close' ends every response once: answered, cut off, or abandoned by the client.
    res.once('close', () => {
      inFlight--;
      const left = (onConnection.get(socket) ?? 1) - 1;
      if (left === 0) onConnection.delete(socket);
      else onConnection.set(socket, left);
    });
    return true;
  };
}
