/**
 * Names outside Prometheus' legacy character set, as the scraper asked to receive them (its
 * `Accept` header's `escaping`, accept.ts). They occur only with `translationStrategy:
 * 'NoUTF8EscapingWithSuffixes'`, which keeps the semantic conventions' dots
 * (`http.server.request.duration_seconds{"http.request.method"="GET"}`); every name of the default
 * translation is legacy already and is written as it is, whatever the scheme.
 *
 * The schemes are those of Prometheus' "UTF-8 metric and label name escaping schemes"
 * (prometheus/docs docs/instrumenting/escaping_schemes.md), with the details the document leaves
 * open taken from client_golang's encoder (prometheus/common model/metric.go, `EscapeName` and
 * `EscapeMetricFamily`): a name that is legacy already is left alone under every scheme, `dots`
 * and `values` included; `values` writes code points in lower-case hexadecimal, and a character
 * that is not a valid code point (a lone surrogate, here) as `_FFFD_`.
 *
 * Where client_golang tests label names with the metric-name rule (which allows `:`), label names
 * here are tested with the label-name rule, which does not (docs/concepts/data_model.md, "Metric
 * names and labels"): a label name with a colon is escaped, or quoted, rather than written where
 * no legacy parser accepts it.
 */

import type { EscapingScheme } from './accept.js';

/** `[a-zA-Z0-9_]`, plus `:` in metric names; no digit first. */
function isLegacyChar(code: number, first: boolean, colon: boolean): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    code === 0x5f ||
    (colon && code === 0x3a) ||
    (!first && code >= 0x30 && code <= 0x39)
  );
}

function isLegacy(name: string, colon: boolean): boolean {
  if (name === '') return false;
  for (let i = 0; i < name.length; i++) {
    if (!isLegacyChar(name.charCodeAt(i), i === 0, colon)) return false;
  }
  return true;
}

/** A metric name Prometheus 2 reads: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export function isLegacyMetricName(name: string): boolean {
  return isLegacy(name, true);
}

/** A label name Prometheus 2 reads: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isLegacyLabelName(name: string): boolean {
  return isLegacy(name, false);
}

/** Whether a code point taken from a string is a Unicode scalar value (not a lone surrogate). */
function isScalar(codePoint: number): boolean {
  return codePoint < 0xd800 || codePoint > 0xdfff;
}

/**
 * `name` under one of the three schemes that leave only legacy characters (`underscores`, `dots`,
 * `values`), or as it is if it is legacy already. `colon` says whether `:` is legacy here (metric
 * names) or not (label names).
 */
export function escapeName(
  name: string,
  scheme: Exclude<EscapingScheme, 'allow-utf-8'>,
  colon = true,
): string {
  if (isLegacy(name, colon)) return name;
  let out = scheme === 'values' ? 'U__' : '';
  let index = 0;
  // By code point, as Go ranges over a string's runes.
  for (const char of name) {
    const code = char.codePointAt(0) as number;
    const first = index++ === 0;
    if (scheme === 'underscores') {
      out += isLegacyChar(code, first, colon) ? char : '_';
    } else if (code === 0x5f) {
      out += '__';
    } else if (scheme === 'dots' && code === 0x2e) {
      out += '_dot_';
    } else if (isLegacyChar(code, first, colon)) {
      out += char;
    } else if (scheme === 'dots') {
      out += '__';
    } else {
      out += isScalar(code) ? `_${code.toString(16)}_` : '_FFFD_';
    }
  }
  return out;
}

/**
 * A name in double quotes, as the UTF-8 syntax of Prometheus' parsers reads it (`{"a.b",le="1"}`,
 * `# TYPE "a.b" histogram`): backslash, newline and double quote escaped (escaping_schemes.md,
 * "No Escaping"). Lone surrogates, which UTF-8 cannot carry, become U+FFFD.
 */
export function quoteName(name: string): string {
  let out = '"';
  for (const char of name) {
    const code = char.codePointAt(0) as number;
    if (code === 0x5c) out += '\\\\';
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x22) out += '\\"';
    else out += isScalar(code) ? char : '\ufffd';
  }
  return `${out}"`;
}

/** A family's name as the metadata lines (`# TYPE`, `# HELP`, `# UNIT`) write it. */
export function metadataName(name: string): string {
  return isLegacyMetricName(name) ? name : quoteName(name);
}
