import { Agent, request } from 'node:http';

/**
 * A connection that the cluster's primary hands to a worker as it is killed is neither answered
 * nor closed (the primary closes its copy only once the worker says it took it): without a limit
 * such a request, and the lane behind it, would wait forever.
 */
const REQUEST_TIMEOUT_MS = 2000;

export interface LoadResult {
  /** When each answered request completed (`Date.now()`), in order. */
  completed: number[];
  /** Requests that got no answer (their connection was cut), with the reasons seen. */
  failed: number;
  errors: Set<string>;
}

/**
 * GETs `url` at `perSecond` requests a second for `ms`, on `lanes` keep-alive connections taken in
 * turn. Each lane closes its connection every `reconnectEvery` requests and opens another, as
 * clients come and go, so that the cluster's round-robin spreads them over every worker, new ones
 * included.
 */
export async function steadyLoad(options: {
  url: string;
  perSecond: number;
  ms: number;
  lanes?: number;
  reconnectEvery?: number;
}): Promise<LoadResult> {
  const { url, perSecond, ms, lanes = 4, reconnectEvery = 25 } = options;
  const agents = Array.from({ length: lanes }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const result: LoadResult = { completed: [], failed: 0, errors: new Set() };
  const sentOn = new Array<number>(lanes).fill(0);
  const pending: Array<Promise<void>> = [];
  const start = Date.now();
  const total = Math.round((perSecond * ms) / 1000);
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const lane = i % lanes;
    const last = ++(sentOn[lane] as number) % reconnectEvery === 0;
    pending.push(
      new Promise<void>((resolve) => {
        let settled = false;
        const settle = (failure?: string): void => {
          if (settled) return;
          settled = true;
          if (failure === undefined) result.completed.push(Date.now());
          else {
            result.failed++;
            result.errors.add(failure);
          }
          resolve();
        };
        const req = request(
          url,
          { agent: agents[lane], headers: last ? { connection: 'close' } : {} },
          (res) => {
            res.resume();
            // 'close' comes whether the answer ended or its connection was cut halfway.
            res.once('close', () => {
              if (!res.complete) settle('answer cut short');
              else settle(res.statusCode === 200 ? undefined : `status ${res.statusCode}`);
            });
          },
        );
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no answer in time')));
        req.once('error', (err) => settle(err.message));
        req.end();
      }),
    );
  }
  await Promise.all(pending);
  for (const agent of agents) agent.destroy();
  result.completed.sort((a, b) => a - b);
  return result;
}
