/**
 * A checker of the OpenMetrics 1.0 text format, for the rules the writer must keep
 * (prometheus/OpenMetrics specification/OpenMetrics.md, v1.0.0): no promtool reads this format,
 * and Prometheus' own parser is lenient on most of them. It throws on the first line that breaks
 * one, with the line.
 */

export interface OpenMetricsFamily {
  name: string;
  type: string;
  unit?: string;
  help?: string;
}

export interface OpenMetricsSample {
  name: string;
  labels: Record<string, string>;
  value: string;
  exemplar?: { labels: Record<string, string>; value: string; timestamp?: string };
}

const TYPES = [
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'stateset',
  'info',
  'summary',
  'unknown',
];
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABELS = String.raw`\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[n"\\])*",?)*)\}`;
const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\d*\.\d+(?:[eE][+-]?\d+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN]`;
const SAMPLE = new RegExp(
  `^(${NAME})(?:${LABELS})? (${NUMBER})(?: # ${LABELS} (${NUMBER})(?: (${NUMBER}))?)?$`,
);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const ESCAPED_STRING = /^(?:[^"\\\n]|\\[n"\\])*$/;
/** Canonical `le` values: a point or an exponent of at least two digits (section "Canonical Numbers"). */
const CANONICAL = /^(?:\+Inf|-Inf|-?\d+\.\d+|-?\d(?:\.\d+)?e[+-]\d{2,})$/;

function labelsOf(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of (text ?? '').matchAll(LABEL)) {
    const name = m[1] as string;
    if (name in labels) throw new Error(`label ${name} twice in {${text}}`);
    labels[name] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** The sample names a family of `type` may have (section "Metric types"). */
function sampleNames(family: OpenMetricsFamily): string[] {
  const { name } = family;
  switch (family.type) {
    case 'counter':
      return [`${name}_total`, `${name}_created`];
    case 'histogram':
      return [`${name}_bucket`, `${name}_count`, `${name}_sum`, `${name}_created`];
    case 'info':
      return [`${name}_info`];
    default:
      return [name];
  }
}

/** Checks `text` and returns its families and samples, in order. */
export function checkOpenMetrics(text: string): {
  families: OpenMetricsFamily[];
  samples: OpenMetricsSample[];
} {
  if (!text.endsWith('# EOF\n')) throw new Error('the exposition does not end with "# EOF\\n"');
  const lines = text.slice(0, -'# EOF\n'.length).split('\n');
  if (lines.pop() !== '') throw new Error('the line before # EOF is not complete');
  const families: OpenMetricsFamily[] = [];
  const samples: OpenMetricsSample[] = [];
  const seen = new Set<string>();
  let family: OpenMetricsFamily | undefined;
  let hadSamples = false;
  for (const line of lines) {
    const fail = (why: string): never => {
      throw new Error(`${why}: ${JSON.stringify(line)}`);
    };
    if (line.startsWith('#')) {
      const m = new RegExp(`^# (TYPE|UNIT|HELP) (${NAME}) (.*)$`).exec(line);
      if (m === null) return fail('a comment other than TYPE, UNIT, HELP and EOF');
      const [, what, name, rest] = m as unknown as [string, string, string, string];
      if (family?.name !== name || hadSamples) {
        if (seen.has(name)) fail('a family named twice');
        seen.add(name);
        family = { name, type: 'unknown' };
        families.push(family);
        hadSamples = false;
      }
      if (what === 'TYPE') {
        if (!TYPES.includes(rest)) fail('an unknown type');
        family.type = rest;
      } else if (what === 'UNIT') {
        if (!/^[a-zA-Z0-9_:]+$/.test(rest) || !name.endsWith(`_${rest}`)) {
          fail('a unit that is not the suffix of its family name');
        }
        if (family.type === 'info') fail('a unit on an info family');
        family.unit = rest;
      } else {
        if (!ESCAPED_STRING.test(rest)) fail('help text that is not an escaped-string');
        family.help = rest;
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) return fail('not a sample line');
    const [, name, labelText, value, exemplarLabels, exemplarValue, exemplarTime] =
      m as unknown as Array<string | undefined> as [
        string,
        string,
        string | undefined,
        string,
        string | undefined,
        string | undefined,
        string | undefined,
      ];
    if (family === undefined || !sampleNames(family).includes(name)) {
      fail(`a sample outside its family (${family?.name ?? 'none'})`);
    }
    hadSamples = true;
    const sample: OpenMetricsSample = { name, labels: labelsOf(labelText), value };
    if (name.endsWith('_bucket') && !CANONICAL.test(sample.labels.le ?? '')) {
      fail('an le value that is not canonical');
    }
    if (family?.type === 'info' && value !== '1') fail('an info sample whose value is not 1');
    if (exemplarLabels !== undefined) {
      if (!name.endsWith('_total') && !name.endsWith('_bucket')) fail('an exemplar on this sample');
      const labels = labelsOf(exemplarLabels);
      const length = Object.entries(labels).reduce(
        (sum, [k, v]) => sum + [...k].length + [...v].length,
        0,
      );
      if (length > 128) fail('an exemplar with more than 128 characters of labels');
      sample.exemplar = { labels, value: exemplarValue as string };
      if (exemplarTime !== undefined) sample.exemplar.timestamp = exemplarTime;
    }
    samples.push(sample);
  }
  return { families, samples };
}
