/**
 * The README's option tables against the facts of the options, each written once: the keys and
 * `@default`s of the public interfaces (src/options/types.ts), the keys the validation knows,
 * and the defaults the resolution fills in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as api from '../../src/index';
import { resolveExport } from '../../src/options/exporters';
import {
  COLLECTOR_GROUPS,
  OPTION_KEYS,
  resolveOptions,
  resolvePrimaryOptions,
} from '../../src/options/resolve';
import { resolveServing } from '../../src/options/serving';
import { createReporter } from '../../src/report';

const ROOT = join(__dirname, '..', '..', '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const TYPES = join(__dirname, '..', '..', 'src', 'options', 'types.ts');

/** Each property of the interface `name` and the text of its `@default` tag. */
function documented(name: string): Array<{ key: string; default: string }> {
  const source = ts.createSourceFile(
    TYPES,
    readFileSync(TYPES, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const found = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (found === undefined) throw new Error(`no interface ${name} in ${TYPES}`);
  return found.members.map((member) => {
    const key = (member.name as ts.Identifier).text;
    const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
    const text = ts.getTextOfJSDocComment(tag?.comment)?.replace(/\s+/g, ' ').trim();
    if (text === undefined) throw new Error(`${name}.${key} has no @default`);
    return { key, default: text };
  });
}

/** The rows of the first table after `heading`: each first cell's code span and second cell. */
function tableAfter(heading: string): Array<{ keys: string[]; default: string }> {
  const start = readme.indexOf(heading);
  if (start === -1) throw new Error(`no "${heading}" in the README`);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('| ---'));
  const rows: Array<{ keys: string[]; default: string }> = [];
  for (const line of lines.slice(first + 1)) {
    if (!line.startsWith('|')) break;
    const [option = '', value = ''] = line.split('|').slice(1);
    rows.push({
      keys: [...option.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string),
      default: value.trim(),
    });
  }
  return rows;
}

/** A default as the README or a `@default` writes it. */
type Default =
  | { kind: 'value'; value: unknown }
  | { kind: 'variable'; variable: string; otherwise: unknown }
  | { kind: 'prose' };

/** `'unknown'`, `2000`, `true`, `[]`, a constant the package exports, or `undefined`/`none`. */
function literal(text: string): unknown {
  if (text === 'none' || text === 'undefined') return undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === '[]') return [];
  if (/^'[^']*'$/.test(text)) return text.slice(1, -1);
  if (/^\d+$/.test(text)) return Number(text);
  if (text in api) return (api as Record<string, unknown>)[text];
  throw new Error(`not a default the test knows how to read: ${text}`);
}

/** The README's form: code spans, "`X`, else `y`", or none. */
function readmeDefault(cell: string): Default {
  const spans = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  if (cell === 'none') return { kind: 'value', value: undefined };
  if (/^`[A-Z_]+`, else `[^`]+`$/.test(cell)) {
    return {
      kind: 'variable',
      variable: spans[0] as string,
      otherwise: literal(spans[1] as string),
    };
  }
  if (spans.length === 1 && cell === `\`${spans[0]}\``) {
    return { kind: 'value', value: literal(spans[0] as string) };
  }
  return { kind: 'prose' };
}

/** The `@default` form: a literal or "VARIABLE, else literal", then any comment. */
function jsdocDefault(text: string): Default {
  const head = (text.split(/ \(|; /)[0] as string).trim();
  const variable = /^([A-Z_]+), else (.+)$/.exec(head);
  if (variable !== null) {
    return {
      kind: 'variable',
      variable: variable[1] as string,
      otherwise: literal(variable[2] as string),
    };
  }
  if (head.startsWith('{')) return { kind: 'prose' };
  return { kind: 'value', value: literal(head) };
}

/** What the package resolves an option to, under `env`, by its README path (`endpoint.port`). */
function resolved(path: string, env: Record<string, string>): unknown {
  const options = resolveOptions({});
  if (path === 'endpoint.port' || path === 'endpoint.host') {
    const serving = resolveServing(options, resolveExport(options, env, createReporter()), env);
    if (serving.mode !== 'port') throw new Error(`serving ${serving.mode}`);
    return serving.address[path === 'endpoint.port' ? 'port' : 'host'];
  }
  if (path === 'exporters') {
    const target = resolveExport(options, env, createReporter());
    if (target.kind !== 'own') throw new Error(target.kind);
    return target.exporters.map((e) => e.type).join(',');
  }
  let value: unknown = options;
  for (const part of path.split('.')) value = (value as Record<string, unknown>)[part];
  return value;
}

/** A value of each variable that differs from its default, to see that it is read. */
const VARIABLE_VALUES: Record<string, { set: string; resolves: unknown }> = {
  OTEL_EXPORTER_PROMETHEUS_PORT: { set: '9999', resolves: 9999 },
  OTEL_EXPORTER_PROMETHEUS_HOST: { set: '::1', resolves: '::1' },
  OTEL_METRICS_EXPORTER: { set: 'none', resolves: '' },
};

function expectResolvedAs(path: string, expected: Default): void {
  if (expected.kind === 'prose') return;
  if (expected.kind === 'value') {
    expect([path, resolved(path, {})]).toEqual([path, expected.value]);
    return;
  }
  expect([path, resolved(path, {})]).toEqual([path, expected.otherwise]);
  const probe = VARIABLE_VALUES[expected.variable];
  if (probe === undefined) throw new Error(`no probe value for ${expected.variable}`);
  expect([path, resolved(path, { [expected.variable]: probe.set })]).toEqual([
    path,
    probe.resolves,
  ]);
}

describe("the README's table of options", () => {
  const rows = tableAfter('## Options');
  const nested: Record<string, string> = {
    endpoint: 'EndpointOptions',
    collectors: 'CollectorOptions',
  };
  // The interface's options, with the nested ones by their paths, in the interface's order.
  const facts = documented('RegisterMetricsOptions').flatMap((option) =>
    option.key in nested
      ? documented(nested[option.key] as string).map((n) => ({
          ...n,
          key: `${option.key}.${n.key}`,
        }))
      : [option],
  );

  it('has a row for every option of the interface, in its order, and no other', () => {
    expect(rows.map((r) => r.keys[0])).toEqual(facts.map((f) => f.key));
  });

  it('names the options the validation knows', () => {
    const top = documented('RegisterMetricsOptions').map((o) => o.key);
    expect([...OPTION_KEYS]).toEqual(top);
    expect([...COLLECTOR_GROUPS]).toEqual(documented('CollectorOptions').map((o) => o.key));
    // A key the interface does not have is refused by name, whatever the level.
    expect(() => resolveOptions({ nope: 1 })).toThrow(`the known ones are ${top.join(', ')}`);
    expect(() => resolveOptions({ endpoint: { nope: 1 } })).toThrow(
      `the known ones are ${documented('EndpointOptions')
        .map((o) => o.key)
        .join(', ')}`,
    );
  });

  it("gives each option the interface's @default, which is what the package resolves", () => {
    for (const [i, fact] of facts.entries()) {
      const row = rows[i];
      const fromReadme = readmeDefault(row?.default ?? '');
      const fromDoc = jsdocDefault(fact.default);
      expect([fact.key, fromReadme]).toEqual([fact.key, fromDoc]);
      expectResolvedAs(fact.key, fromDoc);
    }
  });
});

describe("the README's table of serveClusterMetrics options", () => {
  const rows = tableAfter('Its options:');
  const facts = documented('ClusterPrimaryOptions');

  it('names every option of the interface once', () => {
    expect(rows.flatMap((r) => r.keys).sort()).toEqual(facts.map((f) => f.key).sort());
  });

  it('gives the @default where it writes one, which is what the package resolves', () => {
    const base = resolvePrimaryOptions({});
    // The primary's own options, beside those it resolves as registerMetrics does.
    const value = (key: string): unknown =>
      key === 'workerTimeout' || key === 'gatherInterval'
        ? base[key]
        : (base.base as Record<string, unknown>)[key];
    for (const fact of facts) {
      const row = rows.find((r) => r.keys.includes(fact.key));
      const fromReadme = readmeDefault(row?.default ?? '');
      const fromDoc = jsdocDefault(fact.default);
      if (fromReadme.kind !== 'prose') expect([fact.key, fromReadme]).toEqual([fact.key, fromDoc]);
      if (fromDoc.kind === 'value')
        expect([fact.key, value(fact.key)]).toEqual([fact.key, fromDoc.value]);
    }
  });
});
