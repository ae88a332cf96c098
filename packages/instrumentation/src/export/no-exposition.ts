import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The metrics handler where there is no Prometheus exposition (OTLP only, `'none'`, a provider of
 * the user's, `OTEL_SDK_DISABLED`, a cluster worker): `404 Not Found`, with the reason in the
 * body. The resource a scraper asks for does not exist in this configuration; a 5xx would claim a
 * fault of the server and invite retries, and an empty 200 would read as a healthy target with no
 * series, hiding a scrape job left pointing at an app that has moved to OTLP.
 */
export function noExpositionHandler(
  reason: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const body = `no Prometheus exposition here: ${reason}\n`;
  return (req, res) => {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
