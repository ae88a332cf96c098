/** A parsed sample line of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Every sample of the exposition, in order. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = unescape(l[2] as string);
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The samples of one series name whose labels include `labels`. */
export function samplesOf(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return parseExposition(text).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of the one sample matching `name` and `labels` exactly on those labels; throws otherwise. */
export function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(text, name, labels);
  if (found.length !== 1) {
    throw new Error(
      `expected one sample of ${name}${JSON.stringify(labels)}, found ${found.length}:\n${text}`,
    );
  }
  return (found[0] as Sample).value;
}

/** The distinct values of one label across the samples of `name`. */
export function labelValues(text: string, name: string, label: string): string[] {
  const values = new Set(samplesOf(text, name).map((s) => s.labels[label] ?? ''));
  return [...values].sort();
}

/** The `# TYPE` of a metric family. */
export function typeOf(text: string, family: string): string | undefined {
  const m = new RegExp(`^# TYPE ${family} (\\S+)$`, 'm').exec(text);
  return m?.[1];
}

/**
 * The lines of an exposition in a comparable form: its HELP, UNIT and TYPE lines and its sample
 * lines, each sorted, every sample line checked to parse. Two writers agree on what a scraper
 * sees when these are equal, whatever order they write families and series in.
 */
export function expositionLines(text: string): { metadata: string[]; samples: string[] } {
  const lines = text.split('\n').filter((line) => line !== '');
  const samples = lines.filter((line) => !line.startsWith('#'));
  parseExposition(samples.join('\n'));
  const metadata = lines.filter((line) => /^# (HELP|UNIT|TYPE) /.test(line));
  return { metadata: metadata.sort(), samples: samples.sort() };
}
