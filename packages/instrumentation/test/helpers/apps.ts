import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

type ExpressModule = (() => Express) & { Router: () => Express };

/** Both supported Express majors, installed side by side as `express4` and `express5`. */
export const FLAVOURS: ReadonlyArray<[string, ExpressModule]> = [
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ['Express 4', require('express4') as ExpressModule],
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ['Express 5', require('express5') as ExpressModule],
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
