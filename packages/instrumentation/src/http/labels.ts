import type { IncomingMessage } from 'node:http';
import {
  CLIENT_CLOSED_ERROR,
  CLIENT_CLOSED_STATUS,
  KNOWN_METHODS,
  OTHER_METHOD,
  OTHER_STATUS,
} from '../labels.js';

const KNOWN = new Set(KNOWN_METHODS);

/** Bounds the `method` label: Node accepts dozens of methods, a label needs a handful. */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN.has(method) ? method : OTHER_METHOD;
}

// Precomputed so the request path does no number-to-string work.
const STATUS_TEXT: readonly string[] = Array.from({ length: 600 }, (_, i) =>
  i >= 100 ? String(i) : OTHER_STATUS,
);

/** Bounds `http_status` to 100-599 (Node lets a handler send up to 999). */
export function statusLabel(status: number, clientClosed: boolean): string {
  if (clientClosed) return CLIENT_CLOSED_STATUS;
  return STATUS_TEXT[status] ?? OTHER_STATUS;
}

// The semantic conventions' `error.type` of a response: its status code, for server errors only
// (a 4xx is the client's error, not the server's). Precomputed like STATUS_TEXT.
const SERVER_ERROR_TYPE: ReadonlyArray<string | undefined> = Array.from({ length: 600 }, (_, i) =>
  i >= 500 ? String(i) : undefined,
);

/**
 * `error.type` of a request: {@link CLIENT_CLOSED_ERROR} when the client went away before the
 * response was complete, the status code of a 5xx, otherwise undefined (no error).
 */
export function errorType(status: number, clientClosed: boolean): string | undefined {
  return clientClosed ? CLIENT_CLOSED_ERROR : SERVER_ERROR_TYPE[status];
}

/**
 * `network.protocol.version` from Node's `httpVersion`: the conventions write HTTP/2 as `2`.
 * Anything else (Node's parser accepts no other version) is left unset, as an unknown version is.
 */
export function protocolVersion(httpVersion: string): string | undefined {
  switch (httpVersion) {
    case '1.1':
      return '1.1';
    case '1.0':
      return '1.0';
    case '2.0':
      return '2';
    default:
      return undefined;
  }
}

/**
 * `url.scheme`: Express' `req.protocol`, which follows the app's `trust proxy` setting (so a
 * trusted proxy's `X-Forwarded-Proto` counts), bounded to the two schemes an HTTP server has; the
 * connection's own scheme otherwise.
 */
export function urlScheme(req: IncomingMessage): 'http' | 'https' {
  const protocol = (req as { protocol?: unknown }).protocol;
  if (protocol === 'http' || protocol === 'https') return protocol;
  return (req.socket as { encrypted?: boolean } | null)?.encrypted === true ? 'https' : 'http';
}
