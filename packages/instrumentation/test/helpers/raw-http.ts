import { connect, type Socket } from 'node:net';
import { until } from './wait';

/** One response exactly as it came over the wire. */
export interface WireResponse {
  status: number;
  /** The status line and every header line, in the order and case sent. */
  head: string[];
  /** The body after de-chunking; for a `101` answer, every byte that followed the head. */
  body: Buffer;
  /** The raw bytes of the whole response, framing included. */
  raw: Buffer;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

function headerValue(head: readonly string[], name: string): string | undefined {
  const prefix = `${name.toLowerCase()}:`;
  const line = head.find((l) => l.toLowerCase().startsWith(prefix));
  return line?.slice(prefix.length).trim();
}

/** The end offset of a chunked body starting at `from`, or undefined while incomplete. */
function chunkedEnd(bytes: Buffer, from: number, out: Buffer[]): number | undefined {
  let at = from;
  for (;;) {
    const eol = bytes.indexOf(CRLF, at);
    if (eol === -1) return undefined;
    const size = parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size at byte ${at}`);
    if (size === 0) {
      // Trailers, then an empty line.
      const end = bytes.indexOf(CRLF, eol + 2);
      if (end === -1) return undefined;
      if (end !== eol + 2) throw new Error('trailers are not expected here');
      return end + 2;
    }
    if (bytes.length < eol + 2 + size + 2) return undefined;
    out.push(bytes.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * Splits what a server sent into responses, given the method of each request (a HEAD answer has no
 * body). Stops at the first incomplete response; a body delimited by the connection's end counts as
 * complete only once `closed`. An interim answer (`100 Continue`) would take a request's place, so
 * requests sent through it do not ask for one.
 */
export function parseResponses(
  bytes: Buffer,
  methods: readonly string[],
  closed: boolean,
): { responses: WireResponse[]; rest: Buffer } {
  const responses: WireResponse[] = [];
  let at = 0;
  while (at < bytes.length && responses.length < methods.length) {
    const headEnd = bytes.indexOf(HEAD_END, at);
    if (headEnd === -1) break;
    const head = bytes.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(head[0] ?? '')?.[1]);
    if (Number.isNaN(status)) throw new Error(`not a status line: ${head[0]}`);
    const bodyStart = headEnd + 4;
    let end: number | undefined;
    const chunks: Buffer[] = [];
    const length = headerValue(head, 'content-length');
    if (status === 101) {
      end = closed ? bytes.length : undefined;
      chunks.push(bytes.subarray(bodyStart, end));
    } else if (
      methods[responses.length] === 'HEAD' ||
      status === 204 ||
      status === 304 ||
      status < 200
    ) {
      end = bodyStart;
    } else if (headerValue(head, 'transfer-encoding') === 'chunked') {
      end = chunkedEnd(bytes, bodyStart, chunks);
    } else if (length !== undefined) {
      const stop = bodyStart + Number(length);
      end = bytes.length >= stop ? stop : undefined;
      chunks.push(bytes.subarray(bodyStart, stop));
    } else {
      end = closed ? bytes.length : undefined;
      chunks.push(bytes.subarray(bodyStart));
    }
    if (end === undefined) break;
    responses.push({ status, head, body: Buffer.concat(chunks), raw: bytes.subarray(at, end) });
    at = end;
  }
  return { responses, rest: bytes.subarray(at) };
}

/**
 * A TCP connection that sends bytes as given: methods in any case, unnormalised paths, several
 * requests in one write. Everything received is kept; errors (a reset after the server gave up on
 * us) end the connection like a close.
 */
export class RawConnection {
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.ended = true));
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Stops reading: what the server sends waits in the socket buffers, then in the server. */
  pause(): void {
    this.socket.pause();
  }

  /** The local port, which tells this connection apart on the server's side. */
  get localPort(): number {
    return this.socket.localPort as number;
  }

  /** Waits for one complete response per method (or the connection's end) and returns them. */
  async read(methods: readonly string[], timeoutMs = 5000): Promise<WireResponse[]> {
    const parsed = await until(
      async () => parseResponses(this.received, methods, this.ended),
      (p) => p.responses.length === methods.length || this.ended,
      timeoutMs,
    );
    const { responses } = this.ended ? parseResponses(this.received, methods, true) : parsed;
    return responses;
  }

  /** Waits until the server closes the connection; throws if it has not within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await until(
      async () => this.ended,
      (e) => e,
      timeoutMs,
    );
    if (!this.ended) throw new Error('the server did not close the connection');
  }

  /** Closes the connection from our side at once (a client that gives up). */
  async destroy(): Promise<void> {
    if (this.ended) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}
