/** The options of the metrics endpoint, and its address from them and the environment. */

import { createSecureContext } from 'node:tls';
import {
  integer,
  invalid,
  knownKeys,
  MILLISECONDS,
  oneOf,
  option,
  PORT,
  POSITIVE,
  secret,
  shown,
  string,
} from './checks.js';
import {
  DEFAULT_MAX_CONCURRENT_SCRAPES,
  DEFAULT_MAX_SCRAPES_PER_CONNECTION,
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PATH,
  DEFAULT_METRICS_PORT,
  DEFAULT_SCRAPE_TIMEOUT_MS,
} from './defaults.js';
import { envInteger, envValue, type Env } from './environment.js';
import type { EndpointOptions } from './types.js';

export const ENDPOINT_MODES = ['port', 'app', 'none'] as const;

export type EndpointMode = (typeof ENDPOINT_MODES)[number];

/**
 * The endpoint options after defaults and validation. The port and host stay as the code gave
 * them: their defaults come from variables that are read only when a server listens
 * ({@link endpointAddress}).
 */
export interface ResolvedEndpoint {
  mode: EndpointMode;
  port: number | undefined;
  host: string | undefined;
  path: string;
  basicAuth: { username: string; password: string } | undefined;
  bearerToken: string | undefined;
  tls: { key: string | Buffer; cert: string | Buffer } | undefined;
  timeout: number;
  maxConcurrentScrapes: number;
  maxScrapesPerConnection: number;
}

/** Every key of {@link EndpointOptions}, checked against the interface by the compiler. */
const ENDPOINT_KEYS = Object.keys({
  mode: 0,
  port: 0,
  host: 0,
  path: 0,
  basicAuth: 0,
  bearerToken: 0,
  tls: 0,
  timeout: 0,
  maxConcurrentScrapes: 0,
  maxScrapesPerConnection: 0,
} satisfies Record<keyof EndpointOptions, 0>);

function basicAuth(value: unknown): ResolvedEndpoint['basicAuth'] {
  if (value === undefined) return undefined;
  const given = knownKeys('endpoint.basicAuth', value, ['username', 'password']);
  const { username, password } = given;
  // A colon ends the user name in the Basic scheme, so a name containing one could never match.
  if (typeof username !== 'string' || username === '' || username.includes(':')) {
    invalid(
      option('endpoint.basicAuth.username'),
      'a non-empty string without ":"',
      shown(username),
    );
  }
  return { username, password: secret('endpoint.basicAuth.password', password) };
}

/**
 * A PEM that OpenSSL can read, checked now: the server is made after the app's `handle` is
 * wrapped, and OpenSSL's error there would come too late and name no option.
 */
const PEM_EXPECTED = { key: 'a private key in PEM', cert: 'a certificate in PEM' } as const;

function pemShape(what: 'key' | 'cert', value: unknown): string | Buffer {
  if ((typeof value !== 'string' && !Buffer.isBuffer(value)) || value.length === 0) {
    invalid(
      option(`endpoint.tls.${what}`),
      `${PEM_EXPECTED[what]} (a non-empty string or Buffer)`,
      shownPem(value),
    );
  }
  return value;
}

function pemReadable(what: 'key' | 'cert', value: string | Buffer): void {
  try {
    createSecureContext({ [what]: value });
  } catch (err) {
    invalid(
      option(`endpoint.tls.${what}`),
      PEM_EXPECTED[what],
      `one that OpenSSL cannot read (${(err as Error).message})`,
    );
  }
}

function shownPem(value: unknown): string {
  return typeof value === 'string' || Buffer.isBuffer(value)
    ? `an empty ${typeof value === 'string' ? 'string' : 'Buffer'}`
    : shown(value);
}

function tls(value: unknown, mode: EndpointMode): ResolvedEndpoint['tls'] {
  if (value === undefined) return undefined;
  if (mode !== 'port')
    invalid(option('endpoint.tls'), "used with endpoint.mode 'port' only", `mode ${mode}`);
  const given = knownKeys('endpoint.tls', value, ['key', 'cert']);
  const key = pemShape('key', given.key);
  const cert = pemShape('cert', given.cert);
  pemReadable('key', key);
  pemReadable('cert', cert);
  try {
    createSecureContext({ key, cert });
  } catch (err) {
    invalid(
      option('endpoint.tls'),
      'a private key and the certificate of that key',
      `a pair that OpenSSL refuses (${(err as Error).message})`,
    );
  }
  return { key, cert };
}

export function resolveEndpoint(value: unknown): ResolvedEndpoint {
  const e = knownKeys('endpoint', value, ENDPOINT_KEYS);
  const mode = oneOf('endpoint.mode', e.mode ?? 'port', ENDPOINT_MODES);
  const path = string('endpoint.path', e.path ?? DEFAULT_METRICS_PATH);
  if (!path.startsWith('/'))
    invalid(option('endpoint.path'), "a path starting with '/'", shown(path));
  return {
    mode,
    port: e.port === undefined ? undefined : integer('endpoint.port', e.port, PORT),
    host: e.host === undefined ? undefined : string('endpoint.host', e.host),
    path,
    basicAuth: basicAuth(e.basicAuth),
    bearerToken:
      e.bearerToken === undefined ? undefined : secret('endpoint.bearerToken', e.bearerToken),
    tls: tls(e.tls, mode),
    timeout: integer('endpoint.timeout', e.timeout ?? DEFAULT_SCRAPE_TIMEOUT_MS, MILLISECONDS),
    maxConcurrentScrapes: integer(
      'endpoint.maxConcurrentScrapes',
      e.maxConcurrentScrapes ?? DEFAULT_MAX_CONCURRENT_SCRAPES,
      POSITIVE,
    ),
    maxScrapesPerConnection: integer(
      'endpoint.maxScrapesPerConnection',
      e.maxScrapesPerConnection ?? DEFAULT_MAX_SCRAPES_PER_CONNECTION,
      POSITIVE,
    ),
  };
}

/**
 * Where a server of the endpoint listens: the options, else `OTEL_EXPORTER_PROMETHEUS_PORT` and
 * `_HOST`, else the defaults; worker `workerIndex` of a process manager listens `workerIndex`
 * ports above.
 */
export function endpointAddress(
  endpoint: Pick<ResolvedEndpoint, 'port' | 'host'>,
  workerIndex: number | undefined,
  env: Env,
): { port: number; host: string } {
  const port =
    endpoint.port ?? envInteger(env, 'OTEL_EXPORTER_PROMETHEUS_PORT', PORT) ?? DEFAULT_METRICS_PORT;
  const host =
    endpoint.host ?? envValue(env, 'OTEL_EXPORTER_PROMETHEUS_HOST') ?? DEFAULT_METRICS_HOST;
  // Port 0 picks a free port for every worker alike.
  if (workerIndex === undefined || port === 0) return { port, host };
  if (port + workerIndex > PORT.max) {
    invalid(
      option('workerIndex'),
      `at most ${PORT.max - port} with endpoint.port ${port}`,
      shown(workerIndex),
    );
  }
  return { port: port + workerIndex, host };
}
