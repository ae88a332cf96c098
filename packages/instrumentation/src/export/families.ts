import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { InstrumentKind, Naming } from '../catalogue.js';
import type { TranslationStrategy } from '../options/types.js';
import {
  kindOf,
  NATIVE_SUFFIX,
  type Collected,
  type CollectedMetric,
  type CollectedScope,
} from './collected.js';
import { escapeName } from './escaping.js';
import { prometheusName, prometheusType, utf8PrometheusName } from './prometheus-name.js';
import { metricName } from './text-format.js';

/** The family of the resource's attributes, written first when asked for. */
export const TARGET_INFO = 'target_info';

/** An exponential histogram metric, what Prometheus calls a native histogram. */
export type ExponentialMetric = Extract<
  CollectedMetric,
  { dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM }
>;

/** One instrument's metric in a family. */
export interface Member {
  readonly metric: CollectedMetric;
  readonly scope: CollectedScope['scope'];
  /**
   * With `latencyHistogram: 'both'`, the exponential histogram recorded beside this classic one
   * under its name and NATIVE_SUFFIX (collected.ts), in the same scope: the native buckets of the
   * same series, which Prometheus' protobuf format carries in the classic series' own messages.
   * The text formats have no place for them and leave it out.
   */
  readonly native?: ExponentialMetric;
}

/** One name in the exposition, with the instruments that write under it. */
export interface Family {
  /** The Prometheus name, `_total` included. */
  readonly name: string;
  readonly type: string;
  help: string;
  unit: string;
  readonly members: Member[];
  /** Two instruments gave the name different types; neither is written. */
  dropped: boolean;
}

/**
 * The kind a metric's family is named and typed by: a histogram for an exponential histogram too,
 * which every format writes as one (a native histogram in protobuf; its count and sum in the text
 * formats, as client_golang writes a histogram without classic buckets).
 */
function familyKind(metric: CollectedMetric): InstrumentKind | undefined {
  return metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM
    ? 'histogram'
    : kindOf(metric);
}

/** The Prometheus type of a kind. */
function typeOfKind(kind: InstrumentKind | undefined): string {
  if (kind === undefined) return 'untyped';
  return kind === 'updown' ? 'gauge' : kind;
}

/**
 * The native halves of a scope's histograms (see {@link Member.native}), by the name of the
 * classic metric they belong to: an exponential histogram named as a classic histogram of the
 * scope plus NATIVE_SUFFIX. One without such a classic histogram is a family of its own.
 */
function nativeHalves(metrics: readonly CollectedMetric[]): Map<string, ExponentialMetric> {
  const halves = new Map<string, ExponentialMetric>();
  let classic: Set<string> | undefined;
  for (const metric of metrics) {
    if (metric.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) continue;
    const { name } = metric.descriptor;
    if (!name.endsWith(NATIVE_SUFFIX)) continue;
    classic ??= new Set(
      metrics
        .filter((m) => m.dataPointType === DataPointType.HISTOGRAM)
        .map((m) => m.descriptor.name),
    );
    const base = name.slice(0, -NATIVE_SUFFIX.length);
    if (classic.has(base) && !halves.has(base)) halves.set(base, metric);
  }
  return halves;
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
  const kind = familyKind(metric);
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
 * stock exporter does, since Prometheus would reject the second TYPE. The native half of a
 * histogram recorded both ways is no family of its own but the {@link Member.native} of its
 * classic half.
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
    const halves = nativeHalves(metrics);
    for (const metric of metrics) {
      const { descriptor } = metric;
      let native: ExponentialMetric | undefined;
      if (halves.size > 0) {
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          native = halves.get(descriptor.name);
        } else if (
          metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM &&
          halves.get(descriptor.name.slice(0, -NATIVE_SUFFIX.length)) === metric
        ) {
          continue;
        }
      }
      const member: Member = native === undefined ? { metric, scope } : { metric, scope, native };
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
          members: [member],
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
      family.members.push(member);
    }
  }
  const kept: Family[] = [];
  for (const family of families.values()) if (!family.dropped) kept.push(family);
  return kept;
}
