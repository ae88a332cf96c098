/**
 * The lexical rules of the Prometheus text format 0.0.4, as OpenTelemetry's Prometheus exporter
 * applies them, so that our writer's series are the ones the stock serializer would write. They
 * walk character codes rather than running regexes: they sit on the path of every label value.
 */

const UNDERSCORE = 0x5f;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const NEWLINE = 0x0a;

function isNameChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === UNDERSCORE
  );
}

/** Whether `name` needs no sanitising: only `[a-zA-Z0-9_]`, never two underscores in a row. */
function isCleanName(name: string): boolean {
  let previous = 0;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (!isNameChar(code) || (code === UNDERSCORE && previous === UNDERSCORE)) return false;
    previous = code;
  }
  return true;
}

/**
 * Every character outside `[a-zA-Z0-9_]` becomes `_` and runs of `_` shrink to one. The stock
 * exporter escapes a metric name's newline to `\n` before sanitising, which leaves an `n`
 * behind (`a\nb` -> `a_nb`); label names have no such step, hence `newline`.
 */
function sanitize(name: string, newline: string): string {
  if (isCleanName(name)) return name;
  let out = '';
  let underscore = false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isNameChar(code) && code !== UNDERSCORE) {
      out += name[i];
      underscore = false;
    } else {
      if (!underscore) out += '_';
      underscore = true;
      if (code === NEWLINE && newline !== '') {
        out += newline;
        underscore = false;
      }
    }
  }
  return out;
}

/** A label name from an attribute key. */
export function labelName(key: string): string {
  return sanitize(key, '');
}

/**
 * The metric family name of an OTel metric name, before the `_total` suffix; undefined when
 * nothing usable is left (`''` or `_`), which the stock exporter drops too.
 */
export function metricName(name: string): string | undefined {
  const sanitized = sanitize(name, 'n');
  if (sanitized === '' || sanitized === '_') return undefined;
  const first = sanitized.charCodeAt(0);
  return first >= 0x30 && first <= 0x39 ? `_${sanitized}` : sanitized;
}

/** Escapes `\`, newline and, in label values, `"`; returns `text` itself when none occurs. */
function escape(text: string, quotes: boolean): string {
  let i = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === BACKSLASH || code === NEWLINE || (quotes && code === QUOTE)) break;
  }
  if (i === text.length) return text;
  let out = text.slice(0, i);
  let from = i;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let replacement: string;
    if (code === BACKSLASH) replacement = '\\\\';
    else if (code === NEWLINE) replacement = '\\n';
    else if (quotes && code === QUOTE) replacement = '\\"';
    else continue;
    out += text.slice(from, i) + replacement;
    from = i + 1;
  }
  return out + text.slice(from);
}

/** HELP and UNIT text: backslash and newline escaped. */
export function escapeHelp(text: string): string {
  return escape(text, false);
}

/**
 * A label value from an attribute value. Strings go as they are; other values (numbers, booleans,
 * arrays) as their JSON, as the stock exporter writes them; a missing value as ''.
 */
export function labelValue(value: unknown): string {
  if (typeof value === 'string') return escape(value, true);
  if (value === undefined) return '';
  return escape(String(JSON.stringify(value)), true);
}

/** A sample value: `+Inf`, `-Inf`, `NaN`, or JavaScript's shortest round-trip form. */
export function sampleValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

/** The `le` label value of a bucket's upper bound; a missing bound is the `+Inf` bucket. */
export function bucketBound(bound: number | undefined): string {
  return bound === undefined || bound === Infinity ? '+Inf' : String(bound);
}
