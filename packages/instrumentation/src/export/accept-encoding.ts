/**
 * Content negotiation of the metrics endpoint: whether a scraper's `Accept-Encoding` admits gzip
 * (RFC 9110, section 12.5.3). Prometheus asks for it on every scrape. The format is negotiated
 * from `Accept`, in accept.ts.
 */

/** A qvalue: 0 to 1 with at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The weight of one `coding;q=…` or `type/subtype;…;q=…` element, from its parameters: 1 without
 * a q parameter, 0 for a malformed one, since the plain text is always acceptable and a malformed
 * request should get neither a compressed body nor a format it may not read.
 */
export function weight(params: readonly string[]): number {
  for (const param of params) {
    const [key = '', value = ''] = param.split('=', 2).map((s) => s.trim());
    if (key.toLowerCase() !== 'q') continue;
    return QVALUE.test(value) ? Number(value) : 0;
  }
  return 1;
}

/**
 * Whether the header admits gzip: `gzip` (or its old alias `x-gzip`) with a non-zero weight, or,
 * when gzip is not named, `*` with a non-zero weight. `gzip;q=0` refuses it even next to `*`.
 */
export function acceptsGzip(header: string | readonly string[] | undefined): boolean {
  if (header === undefined) return false;
  const text = typeof header === 'string' ? header : header.join(',');
  let gzip: number | undefined;
  let any: number | undefined;
  for (const element of text.split(',')) {
    const [coding = '', ...params] = element.split(';');
    const name = coding.trim().toLowerCase();
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, weight(params));
    else if (name === '*') any = Math.max(any ?? 0, weight(params));
  }
  return (gzip ?? any ?? 0) > 0;
}
