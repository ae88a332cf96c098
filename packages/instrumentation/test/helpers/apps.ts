import type { Server } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import express4 from 'express4';
import express5 from 'express5';

/** Both supported Express majors, installed side by side as `express4` and `express5`. */
export const FLAVOURS: ReadonlyArray<[string, typeof express5]> = [
  ['Express 4', express4],
  ['Express 5', express5],
];

export interface Running {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Listens on a free loopback port. */
export async function listen(app: Express): Promise<Running> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
