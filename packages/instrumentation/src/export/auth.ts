import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedEndpoint } from '../options/endpoint.js';

/** Answers 401 and returns false unless the request carries an accepted credential. */
export type Authorizer = (req: IncomingMessage, res: ServerResponse) => boolean;

// Digests have one length whatever the input, so the comparison takes the same time for a wrong
// credential of any length as for the right one.
const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const LEADING_SPACES = /^ +/;

/** Checks the `Authorization` header against the configured basic credentials and bearer token. */
export function createAuthorizer(
  endpoint: Pick<ResolvedEndpoint, 'basicAuth' | 'bearerToken'>,
): Authorizer | undefined {
  const { basicAuth, bearerToken } = endpoint;
  if (basicAuth === undefined && bearerToken === undefined) return undefined;
  const accepted: Buffer[] = [];
  const challenges: string[] = [];
  if (basicAuth !== undefined) {
    const token = Buffer.from(`${basicAuth.username}:${basicAuth.password}`, 'utf8').toString(
      'base64',
    );
    accepted.push(digest(`Basic ${token}`));
    challenges.push('Basic realm="metrics", charset="UTF-8"');
  }
  if (bearerToken !== undefined) {
    accepted.push(digest(`Bearer ${bearerToken}`));
    challenges.push('Bearer realm="metrics"');
  }
  return (req, res) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      // The scheme name is case-insensitive, and one or more spaces may follow it (RFC 9110,
      // section 11.4); the credential itself is compared as sent.
      const space = header.indexOf(' ');
      const scheme = space === -1 ? header : header.slice(0, space);
      const credential = space === -1 ? '' : header.slice(space).replace(LEADING_SPACES, '');
      const given = digest(
        `${scheme.charAt(0).toUpperCase()}${scheme.slice(1).toLowerCase()} ${credential}`.trim(),
      );
      let ok = false;
      // Every configured credential is compared, so the time does not tell which one was close.
      for (const expected of accepted) ok = timingSafeEqual(given, expected) || ok;
      if (ok) return true;
    }
    res.statusCode = 401;
    res.setHeader('WWW-Authenticate', challenges);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('authentication required\n');
    return false;
  };
}

/** `handler` behind the endpoint's authentication, if it has any. */
export function withAuthentication(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  endpoint: Pick<ResolvedEndpoint, 'basicAuth' | 'bearerToken'>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const authorize = createAuthorizer(endpoint);
  if (authorize === undefined) return handler;
  return (req, res) => {
    if (authorize(req, res)) handler(req, res);
  };
}
