// Content negotiation of the metrics endpoint's format, from the scraper's `Accept` header:
// OpenMetrics 1.0.0 or Prometheus' protobuf format when the scraper prefers it, else Prometheus'
// text format 0.0.4, which is also the answer to no header, to `*/*` and to a header naming
// neither.
//
// - Prometheus 2.42 with `--enable-feature=native-histograms` (scrape/scrape.go
//   `scrapeAcceptHeaderWithProtobuf`), the one exposition that carries native histograms:
//   `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`
//
// What scrapers send:
//
// - Prometheus 2.x (2.42 here; prometheus/prometheus scrape/scrape.go, `scrapeAcceptHeader`):
//   `application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`
// - Prometheus 3.4 and later, by default (scrape.go `acceptHeader` over config.go
//   `DefaultScrapeProtocols`, which adds `escaping` to the two 1.0.0 formats only; the string is
//   the expected one of scrape_test.go `TestAcceptHeader`, "default scrape protocols with no
//   escaping", in v3.14.0):
//   `application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2`
//   (with `metric_name_escaping_scheme` set, that scheme in place of `allow-utf-8`).
// - Prometheus 3.0 to 3.3 add `;escaping=allow-utf-8` to every format (the same function took the
//   name validation scheme then), at the same weights.
//
// The rules, after Prometheus' content negotiation specification (prometheus/docs
// docs/instrumenting/content_negotiation.md, "Selection of Format" and "Content-Type Response")
// and client_golang's negotiation (prometheus/common expfmt/encode.go `NegotiateAccept`,
// `matchFormat`):
//
// - Each format takes the weight of the most specific element that matches it (RFC 9110, section
//   12.5.1): `text/plain;version=0.0.4` before `text/plain` before `text/*` before `*/*`.
//   `q=0` refuses a format; a malformed q counts as 0, as in accept-encoding.ts.
// - `text/plain` without a version is 0.0.4 (as `matchFormat` reads it); `text/plain;version=1.0.0`
//   is not written here and matches nothing. `application/openmetrics-text` without a version is
//   1.0.0, as the OpenMetrics specification asks ("Protocol Negotiation": negotiation MUST default
//   to 1.0.0); `matchFormat` reads it as 0.0.1, which is not written here either.
// - The heavier format wins; of two as heavy, the one whose element comes first; when one element
//   matches both (`*/*`), the text format.
// - When no element accepts either, the text format: the specification's last resort, and what
//   client_golang answers, rather than a `406` that would only fail the scrape.
// - `escaping` is read from the element that chose the format, when it is one of the four
//   schemes (prometheus/common model/metric.go `EscapingKey` and its values); an unknown one is
//   ignored, as `NegotiateAccept` does.

import { weight } from './accept-encoding.js';

/** The formats the endpoint writes. */
export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

/** The escaping schemes of Prometheus' negotiation of UTF-8 names (docs/instrumenting/escaping_schemes.md). */
export const ESCAPING_SCHEMES = ['allow-utf-8', 'underscores', 'dots', 'values'] as const;
export type EscapingScheme = (typeof ESCAPING_SCHEMES)[number];

export interface Negotiated {
  readonly format: ExpositionFormat;
  /** The scheme the scraper named in the element that chose the format, if any. */
  readonly escaping: EscapingScheme | undefined;
}

/** Prometheus' text format, version 0.0.4. */
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** OpenMetrics 1.0.0, as its specification spells the type ("Overall Structure"). */
export const OPENMETRICS_CONTENT_TYPE =
  'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** The message type named by the protobuf format's `proto` parameter. */
const METRIC_FAMILY = 'io.prometheus.client.MetricFamily';

/**
 * Prometheus' protobuf format: length-delimited `MetricFamily` messages (prometheus/docs
 * docs/instrumenting/exposition_formats.md, "Protobuf format"; client_golang's expfmt
 * `FmtProtoDelim`).
 */
export const PROTOBUF_CONTENT_TYPE = `application/vnd.google.protobuf; proto=${METRIC_FAMILY}; encoding=delimited`;

const TEXT: Negotiated = { format: 'text', escaping: undefined };

interface Offer {
  readonly format: ExpositionFormat;
  readonly type: string;
  readonly subtype: string;
  /**
   * The version written, which is also the one an element without a version asks for; undefined
   * for the protobuf format, which has none but must name its message type and encoding.
   */
  readonly version: string | undefined;
}

/** In the order a wildcard picks them. */
const OFFERS: readonly Offer[] = [
  { format: 'text', type: 'text', subtype: 'plain', version: '0.0.4' },
  { format: 'openmetrics', type: 'application', subtype: 'openmetrics-text', version: '1.0.0' },
  { format: 'protobuf', type: 'application', subtype: 'vnd.google.protobuf', version: undefined },
];

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly version: string | undefined;
  readonly escaping: string | undefined;
  /** The protobuf format's `proto` and `encoding` parameters. */
  readonly proto: string | undefined;
  readonly encoding: string | undefined;
  readonly q: number;
  /** Its place in the header, for ties. */
  readonly index: number;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1)
    : value;
}

/** The header's media ranges; an element that is not `type/subtype` is left out. */
function parse(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const element of header.split(',')) {
    const [range = '', ...params] = element.split(';');
    const slash = range.indexOf('/');
    if (slash < 0) continue;
    const type = range.slice(0, slash).trim().toLowerCase();
    const subtype = range
      .slice(slash + 1)
      .trim()
      .toLowerCase();
    if (type === '' || subtype === '') continue;
    let version: string | undefined;
    let escaping: string | undefined;
    let proto: string | undefined;
    let encoding: string | undefined;
    for (const param of params) {
      const equals = param.indexOf('=');
      if (equals < 0) continue;
      const key = param.slice(0, equals).trim().toLowerCase();
      const value = unquote(param.slice(equals + 1).trim());
      if (key === 'version') version ??= value;
      else if (key === 'escaping') escaping ??= value;
      else if (key === 'proto') proto ??= value;
      else if (key === 'encoding') encoding ??= value;
    }
    ranges.push({
      type,
      subtype,
      version,
      escaping,
      proto,
      encoding,
      q: weight(params),
      index: ranges.length,
    });
  }
  return ranges;
}

/** How specifically `range` names `offer`, from 0 (any type) to 3 (type and version); -1 if not. */
function specificity(range: MediaRange, offer: Offer): number {
  // A binary answer goes only to a scraper that names it; no wildcard stands for it.
  if (offer.format === 'protobuf' && (range.type === '*' || range.subtype === '*')) return -1;
  if (range.type === '*') return range.subtype === '*' ? 0 : -1;
  if (range.type !== offer.type) return -1;
  if (range.subtype === '*') return 1;
  if (range.subtype !== offer.subtype) return -1;
  // Protobuf is of use only as the one message type and framing written here, and is asked for by
  // name alone: client_golang's `NegotiateAccept` takes it only with `proto=` naming
  // MetricFamily, and writes the `delimited` encoding (others, `text`, `compact-text`, are not).
  if (offer.format === 'protobuf') {
    return range.proto === METRIC_FAMILY && range.encoding === 'delimited' ? 3 : -1;
  }
  if (range.version === undefined) return 2;
  return range.version === offer.version ? 3 : -1;
}

function escapingOf(value: string | undefined): EscapingScheme | undefined {
  return ESCAPING_SCHEMES.find((scheme) => scheme === value);
}

/** The format to answer a scrape in, and the escaping the scraper asked for with it. */
export function negotiateFormat(accept: string | undefined): Negotiated {
  if (accept === undefined || accept === '') return TEXT;
  const ranges = parse(accept);
  let chosen: { offer: Offer; range: MediaRange } | undefined;
  for (const offer of OFFERS) {
    let deciding: MediaRange | undefined;
    let level = -1;
    for (const range of ranges) {
      const matched = specificity(range, offer);
      if (matched > level) {
        level = matched;
        deciding = range;
      }
    }
    if (deciding === undefined || deciding.q === 0) continue;
    if (
      chosen === undefined ||
      deciding.q > chosen.range.q ||
      (deciding.q === chosen.range.q && deciding.index < chosen.range.index)
    ) {
      chosen = { offer, range: deciding };
    }
  }
  if (chosen === undefined) return TEXT;
  return { format: chosen.offer.format, escaping: escapingOf(chosen.range.escaping) };
}

/**
 * The Content-Type of an answer. Prometheus' negotiation specification asks for the escaping
 * scheme on formats of version 1.0.0 and above ("Content-Type Response"), so an OpenMetrics answer
 * always names it (`underscores` when the scraper named none, the default of docs
 * escaping_schemes.md and of client_golang, whose `NegotiateAccept` appends it to every answer).
 * A 0.0.4 answer names it only when the scraper did, so that the type of every answer to a scraper
 * that never heard of escaping stays the one Prometheus has always been sent.
 */
export function contentTypeOf(negotiated: Negotiated): string {
  const { format, escaping } = negotiated;
  if (format === 'openmetrics') {
    return `${OPENMETRICS_CONTENT_TYPE}; escaping=${escaping ?? 'underscores'}`;
  }
  if (format === 'protobuf') {
    return escaping === undefined
      ? PROTOBUF_CONTENT_TYPE
      : `${PROTOBUF_CONTENT_TYPE}; escaping=${escaping}`;
  }
  return escaping === undefined ? TEXT_CONTENT_TYPE : `${TEXT_CONTENT_TYPE}; escaping=${escaping}`;
}

/**
 * What an answer is written in, when names may lie outside the legacy character set
 * (`translationStrategy: 'NoUTF8EscapingWithSuffixes'`): as negotiated, except that the 0.0.4
 * format, which predates UTF-8 names, writes them escaped with `underscores` even where the
 * scraper allowed UTF-8 (Prometheus 3.0 to 3.3 ask `text/plain;version=0.0.4;escaping=allow-utf-8`),
 * and says so in its Content-Type. Prometheus' negotiation specification reserves escaping to
 * formats from version 1.0.0 ("Content-Type Response"); `underscores` is the one any scraper
 * reads.
 */
export function withUtf8Names(negotiated: Negotiated): Negotiated {
  return negotiated.format === 'text' && negotiated.escaping === 'allow-utf-8'
    ? { format: 'text', escaping: 'underscores' }
    : negotiated;
}
