import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusSerializer, type PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Reporter } from '../report.js';

/** Prometheus' text format, version 0.0.4. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface Exposition {
  /** The current exposition text. */
  text(): Promise<string>;
  /** Answers a scrape with the current exposition. */
  handler(req: IncomingMessage, res: ServerResponse): void;
}

/** Reads the reader's current data and writes it in the Prometheus text format. */
export function createExposition(
  reader: PrometheusExporter,
  options: { targetInfo: boolean; scopeInfo: boolean },
  report: Reporter,
): Exposition {
  const serializer = new PrometheusSerializer(
    '',
    false,
    undefined,
    !options.targetInfo,
    !options.scopeInfo,
  );

  async function text(): Promise<string> {
    const { resourceMetrics, errors } = await reader.collect();
    for (const err of errors) report('collect', 'a metric callback failed during collection', err);
    return serializer.serialize(resourceMetrics);
  }

  function handler(req: IncomingMessage, res: ServerResponse): void {
    text().then(
      (body) => {
        if (res.headersSent || res.destroyed) return;
        res.statusCode = 200;
        res.setHeader('Content-Type', EXPOSITION_CONTENT_TYPE);
        res.setHeader('Content-Length', Buffer.byteLength(body));
        res.end(req.method === 'HEAD' ? undefined : body);
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

  return { text, handler };
}
