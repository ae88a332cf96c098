import type { InstrumentKind, Naming } from '../catalogue.js';
import type { TranslationStrategy } from '../options/types.js';
import { kindOf, type Collected, type CollectedMetric, type CollectedScope } from './collected.js';
import { escapeName } from './escaping.js';
import { prometheusName, prometheusType, utf8PrometheusName } from './prometheus-name.js';
import { metricName } from './text-format.js';

/** The family of the resource's attributes, written first when asked for. */
export const TARGET_INFO = 'target_info';

/** One name in the exposition, with the instruments that write under it. */
export interface Family {
  /** The Prometheus name, `_total` included. */
  readonly name: string;
  readonly type: string;
  help: string;
  unit: string;
  readonly members: Array<{ metric: CollectedMetric; scope: CollectedScope['scope'] }>;
  /** Two instruments gave the name different types; neither is written. */
  dropped: boolean;
}

/** The Prometheus type of a kind; exponential histograms have no form in the 0.0.4 text format. */
function typeOfKind(kind: InstrumentKind | undefined): string {
  if (kind === undefined) return 'untyped';
  return kind === 'updown' ? 'gauge' : kind;
}

/**
 * The family a metric is written in: in the Prometheus naming, its name as OpenTelemetry JS'
 * Prometheus exporter writes it (dots to underscores, a counter gains `_total`), so that the text
 * is the stock serializer's; in the semantic conventions', as Prometheus' OTLP receiver names it
 * (`prometheus-name.ts`: unit and type suffixes), so that a dashboard reads one name whether the
 * app is scraped or pushes OTLP, under the receiver's translation strategy `strategy`.
 * Undefined when no usable name is left.
 */
function familyOf(
  metric: CollectedMetric,
  naming: Naming,
  strategy: TranslationStrategy,
): { name: string; type: string } | undefined {
  const kind = kindOf(metric);
  if (naming === 'semconv') {
    const { name: otelName, unit } = metric.descriptor;
    if (strategy === 'NoUTF8EscapingWithSuffixes') {
      const name = utf8PrometheusName(otelName, unit, kind);
      // Typed by the legacy name a 0.0.4 scraper gets (`….count` is `…_count` there).
      return name === undefined
        ? undefined
        : { name, type: prometheusType(escapeName(name, 'underscores'), kind) };
    }
    const name = prometheusName(otelName, unit, kind);
    return name === undefined ? undefined : { name, type: prometheusType(name, kind) };
  }
  const name = metricName(metric.descriptor.name);
  if (name === undefined) return undefined;
  return {
    name: kind === 'counter' && !name.endsWith('_total') ? `${name}_total` : name,
    type: typeOfKind(kind),
  };
}

/**
 * Groups the metrics by family name, in order of first appearance: one HELP and TYPE per name
 * even when several scopes record it. A name claimed with two types is dropped whole, as the
 * stock exporter does, since Prometheus would reject the second TYPE.
 */
export function collectFamilies(
  resourceMetrics: Collected,
  targetInfo: boolean,
  naming: Naming,
  strategy: TranslationStrategy,
  warn: (key: string, message: string) => void,
): Family[] {
  const families = new Map<string, Family>();
  if (targetInfo) {
    families.set(TARGET_INFO, {
      name: TARGET_INFO,
      type: 'gauge',
      help: 'Target metadata',
      unit: '',
      members: [],
      dropped: false,
    });
  }
  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      const { descriptor } = metric;
      const named = familyOf(metric, naming, strategy);
      if (named === undefined) {
        warn(
          `name:${descriptor.name}`,
          `metric "${descriptor.name}" has no usable Prometheus name`,
        );
        continue;
      }
      const { name, type } = named;
      const family = families.get(name);
      if (family === undefined) {
        const { description: help, unit } = descriptor;
        families.set(name, {
          name,
          type,
          help,
          unit,
          members: [{ metric, scope }],
          dropped: false,
        });
        continue;
      }
      if (family.dropped) continue;
      if (family.type !== type) {
        warn(`type:${name}`, `metric "${name}" is both ${family.type} and ${type}; dropped`);
        family.dropped = true;
        continue;
      }
      // Scopes may describe one name differently; the first description and unit given win.
      if (family.help === '') family.help = descriptor.description;
      else if (descriptor.description !== '' && descriptor.description !== family.help) {
        warn(`help:${name}`, `metric "${name}" has two descriptions; the first is kept`);
      }
      if (family.unit === '') family.unit = descriptor.unit;
      else if (descriptor.unit !== '' && descriptor.unit !== family.unit) {
        warn(`unit:${name}`, `metric "${name}" has two units; the first is kept`);
      }
      family.members.push({ metric, scope });
    }
  }
  const kept: Family[] = [];
  for (const family of families.values()) if (!family.dropped) kept.push(family);
  return kept;
}
