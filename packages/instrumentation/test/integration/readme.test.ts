import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import express from 'express5';
import { CATALOGUE, type CatalogueEntry, type SeriesDef } from '../../src/catalogue';
import { prometheusName } from '../../src/export/prometheus-name';
import {
  ENDPOINT_LABELS,
  LABELS,
  registerMetrics,
  RUNTIME_LABELS,
  SEMCONV_ATTRIBUTES,
  SEMCONV_METRICS,
} from '../../src/index';
import { until } from '../helpers/wait';
import { listen } from '../helpers/apps';
import { parseExposition } from '../helpers/exposition';
import { histogramPoints, InMemoryReader, metricOf } from '../helpers/reader';
import { send } from '../helpers/request';

const readme = readFileSync(join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');

/** The series named in the first cell of each row of the README's "## Metrics" tables. */
function readmeSeries(): string[] {
  const section = readme.slice(
    readme.indexOf('## Metrics'),
    readme.indexOf('\n## ', readme.indexOf('## Metrics') + 1),
  );
  return [...section.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string).sort();
}

/**
 * The catalogue's series of one process, which the "Metrics" tables list (a cluster primary's
 * own are in "Many processes").
 */
const ENTRIES: CatalogueEntry[] = [
  CATALOGUE.app,
  CATALOGUE.endpoint,
  CATALOGUE.process,
  CATALOGUE.nodejs,
].flatMap((group) => Object.values(group) as CatalogueEntry[]);

/** A Prometheus name as a family of the exposition: a counter gains `_total`. */
const familyOf = (name: string): string =>
  ENTRIES.some((e) => e.prometheus.name === name && e.prometheus.kind === 'counter')
    ? `${name}_total`
    : name;

/** The catalogue's series, as the exposition's families. */
const FAMILIES = ENTRIES.map((e) => familyOf(e.prometheus.name));

/** The series an entry's semconv cell names: its own, the one that carries it, or its own name. */
function semconvNameOf(entry: CatalogueEntry): string {
  const { semconv } = entry;
  if (semconv === 'kept') return entry.prometheus.name;
  if ('in' in semconv) return SEMCONV_METRICS[semconv.in as keyof typeof SEMCONV_METRICS];
  return semconv.name;
}

/**
 * The name the endpoint writes an entry's semconv series under, in `naming: 'semconv'`: the
 * translation of its own series or of the one that carries it (a counter carried by a histogram is
 * its `_count`), or of its Prometheus name when kept.
 */
function scrapedNameOf(entry: CatalogueEntry): string | undefined {
  const { semconv } = entry;
  let series: SeriesDef | undefined;
  if (semconv === 'kept') series = entry.prometheus;
  else if ('in' in semconv) {
    series = ENTRIES.map((e) => e.semconv).find(
      (s): s is Exclude<typeof s, 'kept'> & SeriesDef =>
        typeof s === 'object' && 'key' in s && s.key === semconv.in,
    );
  } else series = semconv;
  if (series === undefined) return undefined;
  const name = prometheusName(series.name, series.unit, series.kind);
  const counted = series.kind === 'histogram' && entry.prometheus.kind === 'counter';
  return counted ? `${name}_count` : name;
}

describe('the README metric table', () => {
  it('lists exactly the series the package exports', async () => {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const app = express();
    // With the series that are off by default, which the tables list too.
    const metrics = registerMetrics(app, {
      endpoint: { mode: 'none' },
      inFlight: true,
      bodySizes: true,
    });
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    const running = await listen(app);
    try {
      // A request, so that the request series exist too.
      expect((await send(running.url, 'GET', '/users/1')).status).toBe(200);
      const text = await until(
        () => metrics.scrape(),
        (t) =>
          t.includes('nodejs_gc_duration_seconds_count') && t.includes('endpoint="/users/:id"'),
      );
      const exported = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);
      expect([...new Set(exported)].sort()).toEqual([...FAMILIES].sort());
      expect(readmeSeries()).toEqual([...FAMILIES].sort());
    } finally {
      await running.close();
      await metrics.shutdown();
    }
  });
});

/** A cell of the naming table: its first code span is the name, the others its labels. */
interface NamedCell {
  name: string;
  labels: Array<{ key: string; value?: string }>;
}

function parseCell(cell: string): NamedCell {
  const spans = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  const [name, ...rest] = spans;
  if (name === undefined) throw new Error(`no name in the cell "${cell}"`);
  const labels = rest.map((span) => {
    const m = /^([a-z0-9_.]+)(?:="([^"]*)")?$/.exec(span);
    if (m === null) throw new Error(`not a label in "${cell}": ${span}`);
    return m[2] === undefined ? { key: m[1] as string } : { key: m[1] as string, value: m[2] };
  });
  return { name, labels };
}

/** The rows of the table under "## Naming", as their Prometheus and semconv cells. */
function namingRows(): Array<{ prometheus: NamedCell; semconv: NamedCell; scraped: NamedCell }> {
  const start = readme.indexOf('## Naming');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const lines = section.split('\n');
  // The rows follow the header and its `| --- |` line.
  const body = lines.slice(lines.findIndex((line) => line.startsWith('| ---')) + 1);
  return body
    .filter((line) => line.startsWith('|'))
    .map((line) => {
      const [prometheus = '', semconv = '', scraped = ''] = line.split('|').slice(1);
      return {
        prometheus: parseCell(prometheus),
        semconv: parseCell(semconv),
        scraped: parseCell(scraped),
      };
    });
}

/** Labels of each series in the "## Metrics" tables: the code spans of the third column. */
function metricsTableLabels(): Map<string, string[]> {
  const start = readme.indexOf('## Metrics');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const labels = new Map<string, string[]>();
  for (const m of section.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|[^|]*\|([^|]*)\|/gm)) {
    labels.set(
      m[1] as string,
      [...(m[2] as string).matchAll(/`([^`]+)`/g)].map((l) => l[1]!),
    );
  }
  return labels;
}

const SEMCONV_NAMES = new Set<string>(Object.values(SEMCONV_METRICS));

describe('the README naming table', () => {
  const rows = namingRows();

  it("maps every series of the catalogue once, to the catalogue's semconv counterpart", () => {
    expect(rows.map((r) => r.prometheus.name).sort()).toEqual([...FAMILIES].sort());
    for (const { prometheus, semconv, scraped } of rows) {
      const entry = ENTRIES.find((e) => familyOf(e.prometheus.name) === prometheus.name);
      expect([prometheus.name, semconv.name, scraped.name]).toEqual([
        prometheus.name,
        entry === undefined ? undefined : semconvNameOf(entry),
        entry === undefined ? undefined : scrapedNameOf(entry),
      ]);
      expect([scraped.name, scraped.labels]).toEqual([scraped.name, []]);
    }

    const labelsOf = metricsTableLabels();
    const prometheusLabels = new Set<string>([
      ...Object.values(LABELS),
      ...Object.values(ENDPOINT_LABELS),
      ...Object.values(RUNTIME_LABELS),
    ]);
    const semconvAttributes = new Set<string>(Object.values(SEMCONV_ATTRIBUTES));
    const kept: string[] = [];
    for (const { prometheus, semconv } of rows) {
      // The labels are the ones the Metrics section gives the series, all of them labels.ts' own.
      const keys = prometheus.labels.map((l) => l.key);
      expect([prometheus.name, keys]).toEqual([prometheus.name, labelsOf.get(prometheus.name)]);
      for (const key of keys) expect([key, prometheusLabels.has(key)]).toEqual([key, true]);
      if (SEMCONV_NAMES.has(semconv.name)) {
        for (const { key } of semconv.labels) {
          expect([semconv.name, key, semconvAttributes.has(key)]).toEqual([
            semconv.name,
            key,
            true,
          ]);
        }
      } else {
        // No counterpart: the series keeps its name (a counter's gains `_total` in the
        // exposition) and labels.
        expect({ ...semconv, name: familyOf(semconv.name) }).toEqual(prometheus);
        kept.push(prometheus.name);
      }
    }
    expect(kept.sort()).toEqual([
      'app_scrapes_rejected_total',
      'app_version_info',
      'nodejs_external_memory_bytes',
      'nodejs_version_info',
      'process_max_fds',
    ]);
    const mapped = new Set(rows.map((r) => r.semconv.name));
    expect([...SEMCONV_NAMES].filter((name) => !mapped.has(name))).toEqual([]);
  });

  it('names series that exist, with those labels, in each naming', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const naming of ['prometheus', 'semconv'] as const) {
      const reader = new InMemoryReader();
      const app = express();
      const metrics = registerMetrics(app, {
        naming,
        endpoint: { mode: 'none' },
        exporters: ['prometheus', reader],
        inFlight: true,
        bodySizes: true,
      });
      app.get('/users/:id', (_req, res) => {
        res.send('ok');
      });
      app.get('/boom', () => {
        throw new Error('handler failure');
      });
      const running = await listen(app);
      try {
        expect((await send(running.url, 'GET', '/users/1')).status).toBe(200);
        expect((await send(running.url, 'GET', '/boom')).status).toBe(500);
        gc();
        if (naming === 'prometheus') {
          const text = await until(
            () => metrics.scrape(),
            (t) =>
              t.includes('nodejs_gc_duration_seconds_count') && t.includes('http_status="500"'),
          );
          const samples = parseExposition(text);
          for (const { prometheus } of rows) {
            const family = samples.filter((s) =>
              [
                prometheus.name,
                ...['_bucket', '_count', '_sum'].map((x) => prometheus.name + x),
              ].includes(s.name),
            );
            expect([prometheus.name, family.length > 0]).toEqual([prometheus.name, true]);
            for (const { key } of prometheus.labels) {
              expect([prometheus.name, key, family.some((s) => key in s.labels)]).toEqual([
                prometheus.name,
                key,
                true,
              ]);
            }
          }
        } else {
          const collected = await until(
            () => reader.metrics(),
            (m) =>
              m.has(SEMCONV_METRICS.gcDuration) &&
              histogramPoints(metricOf(m, SEMCONV_METRICS.requestDuration)).length === 2,
          );
          for (const { semconv } of rows) {
            const points = metricOf(collected, semconv.name).dataPoints;
            expect([semconv.name, points.length > 0]).toEqual([semconv.name, true]);
            for (const { key, value } of semconv.labels) {
              const found = points.some(
                (p) => key in p.attributes && (value === undefined || p.attributes[key] === value),
              );
              expect([semconv.name, key, value, found]).toEqual([semconv.name, key, value, true]);
            }
          }
          // And the endpoint writes each under the name of the third column.
          const scrapedNames = new Set(parseExposition(await metrics.scrape()).map((s) => s.name));
          for (const { scraped } of rows) {
            const found = ['', '_count'].some((x) => scrapedNames.has(scraped.name + x));
            expect([scraped.name, found]).toEqual([scraped.name, true]);
          }
        }
      } finally {
        await running.close();
        await metrics.shutdown();
      }
    }
  });
});
