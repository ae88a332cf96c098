/** Reading the target of an HTTP request, which the request path and the metrics server share. */

/**
 * The scheme and authority of a request target in absolute form (`GET http://host/path`), which
 * a server must accept (RFC 9112, section 3.2.2) and Express routes by its path.
 */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z\d+.-]*:\/\/[^/?#]*/;

/** The path of a request target, without the query string (or the scheme and authority). */
export function pathnameOf(url: string | undefined): string {
  if (url === undefined) return '/';
  let path = url;
  if (url.charCodeAt(0) !== 0x2f /* '/' */) {
    const authority = ABSOLUTE_FORM.exec(url);
    if (authority !== null) {
      path = url.slice(authority[0].length);
      if (path === '' || path.charCodeAt(0) !== 0x2f) path = `/${path}`;
    }
  }
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}
