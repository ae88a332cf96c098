/**
 * What the OpenMetrics 1.0 text format writes differently from the 0.0.4 text format
 * (text-format.ts has the rules both share: names, label values, sample values). Sections named
 * here are those of the specification, prometheus/OpenMetrics specification/OpenMetrics.md at
 * v1.0.0.
 */

import { kindOf, type Exemplar } from './collected.js';
import { metadataName } from './escaping.js';
import type { Family } from './families.js';
import { prometheusUnit } from './prometheus-name.js';
import { labelValue, sampleValue } from './text-format.js';

/** The last line of every exposition ("Overall Structure": expositions MUST end with EOF). */
export const EOF = '# EOF\n';

/**
 * The family name of the resource's `target_info` (section "Supporting target metadata in both
 * push-based and pull-based systems"): an info family whose one sample is `target_info`.
 */
const TARGET = 'target';

/**
 * OpenMetrics caps the label names and values of an exemplar at 128 UTF-8 characters together
 * (section "Exemplars").
 */
export const EXEMPLAR_LABELS_MAX = 128;

/** `trace_id` and `span_id`, the two label names of an exemplar here. */
const EXEMPLAR_NAMES_LENGTH = 'trace_id'.length + 'span_id'.length;

/** A family's name, type and unit in OpenMetrics. */
export interface OpenMetricsFamily {
  /** Without the `_total` of a counter's samples. */
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'info' | 'unknown';
  /** '' for none. */
  readonly unit: string;
}

/**
 * How a family of the 0.0.4 exposition (families.ts) is described in OpenMetrics:
 *
 * - A counter's family is named without the `_total` its samples keep (section "Counter": the
 *   Total sample's name MUST have the suffix `_total`; client_golang's
 *   expfmt/openmetrics_create.go cuts it from the metadata likewise).
 * - What the 0.0.4 format calls `untyped` is `unknown` (section "Type"), except a gauge written
 *   `untyped` there only because its name ends in a suffix promtool's lint keeps for other types
 *   (prometheus-name.ts `prometheusType`: `process_unix_file_descriptor_count`). That lint reads
 *   the 0.0.4 format alone, and OpenMetrics allows a gauge of that name, so it is a `gauge` here,
 *   the type Prometheus' OTLP receiver gives it too.
 * - `target_info`, when it is the resource's, is the info family `target`, as OpenTelemetry's
 *   compatibility specification asks of Prometheus exporters (compatibility/
 *   prometheus_and_openmetrics.md, "Resource Attributes": "The `target` info metric MUST be an
 *   info-typed metric"); the 0.0.4 format has no info type, hence the gauge there.
 * - The unit is the Prometheus unit of the OpenTelemetry unit (`s` -> `seconds`, `By` -> `bytes`,
 *   as prometheus-name.ts `prometheusUnit`), written only when the family's name ends in it after
 *   an underscore (section "MetricFamily metadata": "an underscore and the unit MUST be the
 *   suffix of the MetricFamily name"; Prometheus' parser fails the whole scrape otherwise, "unit
 *   not a suffix of metric" in model/textparse/openmetricsparse.go). So
 *   `process_virtual_memory_bytes` (`By`) has `# UNIT ... bytes`, `app_request_count` (no unit)
 *   and `nodejs_eventloop_utilization_ratio` (`1`, which names no unit) none. An info family has
 *   none (section "Info": its unit MUST be empty).
 */
export function openMetricsFamily(family: Family, resource: boolean): OpenMetricsFamily {
  if (resource) return { name: TARGET, type: 'info', unit: '' };
  let { name } = family;
  let type: OpenMetricsFamily['type'];
  switch (family.type) {
    case 'counter':
      type = 'counter';
      // Every counter family is named with `_total` (families.ts); this is for safety only.
      if (name.endsWith('_total')) name = name.slice(0, -'_total'.length);
      break;
    case 'gauge':
    case 'histogram':
      type = family.type;
      break;
    default: {
      const member = family.members[0];
      const kind = member === undefined ? undefined : kindOf(member.metric);
      type = kind === 'gauge' || kind === 'updown' ? 'gauge' : 'unknown';
    }
  }
  const unit = prometheusUnit(family.unit);
  return { name, type, unit: unit !== '' && name.endsWith(`_${unit}`) ? unit : '' };
}

/**
 * TYPE, UNIT and HELP, in the order the specification advises (section "MetricFamily metadata").
 * The help text is an escaped-string of the ABNF: backslash, newline and double quote escaped,
 * as in a label value. Empty help is left out, which the specification reads as no HELP line at
 * all (the 0.0.4 writer writes `description missing`, as the stock serializer does).
 */
export function openMetricsMetadata(family: OpenMetricsFamily, help: string): string {
  const name = metadataName(family.name);
  let out = `# TYPE ${name} ${family.type}\n`;
  if (family.unit !== '') out += `# UNIT ${name} ${family.unit}\n`;
  if (help !== '') out += `# HELP ${name} ${labelValue(help)}\n`;
  return out;
}

/**
 * The `le` label value of a bucket bound in OpenMetrics (section "Considerations: Canonical
 * Numbers"): Go's shortest `%g` rendering with `.0` added when it has neither a point nor an
 * exponent, so `1.0`, `10.0`, `0.005`, `100000.0`, `1e+06`, `1e-05`. The 0.0.4 format writes `1`
 * and `10`, which OpenMetrics forbids for `le` ("Arbitrary integer and floating point rendering
 * of numbers MUST NOT be used for "quantile" and "le" label values"). Go's `%g` with the shortest
 * precision switches to the exponent form below 1e-4 and from 1e+6 (strconv ftoa.go: "if
 * precision was the shortest possible, use precision 6 for this decision"), with at least two
 * exponent digits; JavaScript's shortest digits are the same digits.
 */
export function canonicalBound(bound: number | undefined): string {
  if (bound === undefined || bound === Infinity) return '+Inf';
  if (bound === -Infinity) return '-Inf';
  if (Number.isNaN(bound)) return 'NaN';
  if (bound === 0) return '0.0';
  const [mantissa = '', exponentText = '0'] = bound.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const digits = Math.abs(exponent);
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${digits < 10 ? '0' : ''}${digits}`;
  }
  const fixed = String(bound);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/**
 * Whether an exemplar's labels are within {@link EXEMPLAR_LABELS_MAX}. Prometheus' storage holds
 * exemplars of every format to the same limit (prometheus/prometheus tsdb/exemplar.go, against
 * model/exemplar/exemplar.go `ExemplarMaxLabelSetLength`), so the protobuf writer applies it too.
 */
export function exemplarLabelsFit(exemplar: Exemplar): boolean {
  // JavaScript's length counts UTF-16 code units, never fewer than the UTF-8 characters counted.
  return (
    EXEMPLAR_NAMES_LENGTH + exemplar.traceId.length + exemplar.spanId.length <= EXEMPLAR_LABELS_MAX
  );
}

/**
 * What follows a sample that carries an exemplar (the ABNF's `exemplar`):
 * ` # {trace_id="…",span_id="…"} <value> <timestamp in seconds>`, the labels OpenTelemetry's
 * compatibility specification gives a trace's exemplar ("Exemplar Conversion"). Undefined when
 * its labels exceed {@link EXEMPLAR_LABELS_MAX}: a trace id of 32 hex digits and a span id of 16
 * take 63 characters, so only a malformed one can. A timestamp that is not a finite number is
 * left out, as the ABNF allows.
 */
export function exemplarText(exemplar: Exemplar): string | undefined {
  const { traceId, spanId, value, timestamp } = exemplar;
  if (!exemplarLabelsFit(exemplar)) return undefined;
  // A division by 1000 is correctly rounded, so a whole number of milliseconds prints as its
  // seconds with at most three decimals.
  const seconds = Number.isFinite(timestamp) ? ` ${sampleValue(timestamp / 1000)}` : '';
  return ` # {trace_id="${labelValue(traceId)}",span_id="${labelValue(spanId)}"} ${sampleValue(value)}${seconds}`;
}
