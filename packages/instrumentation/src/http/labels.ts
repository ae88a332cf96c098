import { CLIENT_CLOSED_STATUS, KNOWN_METHODS, OTHER_METHOD, OTHER_STATUS } from '../names.js';

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
