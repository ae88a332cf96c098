import { readFileSync } from 'node:fs';

/** The kernel's code for an established connection in /proc/net/tcp. */
const ESTABLISHED = '01';

/** The server's side of one connection, as the kernel's table shows it. */
export interface ServerSide {
  /** The server has not let go of it: it is neither reset (gone) nor closed. */
  established: boolean;
  /** Bytes the server has written that the client has not acknowledged yet. */
  sendQueue: number;
}

function port(address: string): number {
  return parseInt(address.slice(address.indexOf(':') + 1), 16);
}

/**
 * The server's side of its connections on `serverPort`, by client port (IPv4, Linux). A server
 * that reset a connection has no entry left for it, one that closed it is past established;
 * either way it has let go, and this sees it even when the client never reads, which would not
 * notice the close itself.
 */
export function serverSides(serverPort: number): Map<number, ServerSide> {
  const sides = new Map<number, ServerSide>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || port(fields[1] as string) !== serverPort) continue;
    const queues = fields[4] as string;
    sides.set(port(fields[2] as string), {
      established: fields[3] === ESTABLISHED,
      sendQueue: parseInt(queues.slice(0, queues.indexOf(':')), 16),
    });
  }
  return sides;
}

/** The client ports of the connections the server on `serverPort` still holds. */
export function heldConnections(serverPort: number): Set<number> {
  const held = new Set<number>();
  for (const [client, side] of serverSides(serverPort)) if (side.established) held.add(client);
  return held;
}
