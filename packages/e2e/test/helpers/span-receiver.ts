import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What an app's tracing SDK exported, as received over OTLP/HTTP with JSON bodies. */
export interface SpanReceiver {
  /** Where to point `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. */
  url: string;
  /** Every span received so far: its trace and span id (hex, as OTLP's JSON encoding writes them). */
  spans: Array<{ traceId: string; spanId: string; name: string }>;
  close(): Promise<void>;
}

interface TracesPayload {
  resourceSpans?: Array<{
    scopeSpans?: Array<{ spans?: Array<{ traceId?: string; spanId?: string; name?: string }> }>;
  }>;
}

/** A stand-in for a Collector's trace intake on 127.0.0.1: it keeps the ids of what it is sent. */
export async function startSpanReceiver(): Promise<SpanReceiver> {
  const spans: SpanReceiver['spans'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const payload = JSON.parse(body) as TracesPayload;
        for (const resource of payload.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                traceId: span.traceId ?? '',
                spanId: span.spanId ?? '',
                name: span.name ?? '',
              });
            }
          }
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
