/**
 * How a registration serves its metrics: one decision, made at setup from the options, the
 * exporters and the environment, that the rest of the package reads instead of working it out
 * from which of its parts happen to exist.
 */

import { endpointAddress, type ResolvedEndpoint } from './endpoint.js';
import type { Env } from './environment.js';
import type { ResolvedExport } from './exporters.js';

export type Serving =
  /** A server of its own, on `address`. */
  | { mode: 'port'; endpoint: ResolvedEndpoint; address: { port: number; host: string } }
  /** On the Express app, at `endpoint.path`. */
  | { mode: 'app'; endpoint: ResolvedEndpoint }
  /** Only through the handle: its `handler`, mounted by the user, and `scrape()`. */
  | { mode: 'handler'; endpoint: ResolvedEndpoint }
  /** A cluster worker: the primary asks for its series over IPC and serves them. */
  | { mode: 'worker' }
  /** No Prometheus exposition, for `reason`, which the handler's 404 and `scrape()` tell. */
  | { mode: 'none'; reason: string };

export function resolveServing(
  options: { endpoint: ResolvedEndpoint; cluster: boolean; workerIndex: number | undefined },
  target: ResolvedExport,
  env: Env,
): Serving {
  if (target.kind === 'disabled') {
    return { mode: 'none', reason: 'OTEL_SDK_DISABLED is true, so nothing is recorded' };
  }
  if (target.kind === 'provider') {
    return {
      mode: 'none',
      reason: 'the metrics go to a MeterProvider of yours (option meterProvider)',
    };
  }
  if (!target.exporters.some((e) => e.type === 'prometheus')) {
    return { mode: 'none', reason: `the exporters are ${target.summary}, without 'prometheus'` };
  }
  if (options.cluster) return { mode: 'worker' };
  const { endpoint } = options;
  switch (endpoint.mode) {
    case 'port':
      return {
        mode: 'port',
        endpoint,
        address: endpointAddress(endpoint, options.workerIndex, env),
      };
    case 'app':
      return { mode: 'app', endpoint };
    case 'none':
      return { mode: 'handler', endpoint };
  }
}
