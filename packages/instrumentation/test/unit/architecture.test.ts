/**
 * The import rules of ARCHITECTURE.md: data flows one way, and the folders of one layer do not
 * import each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';

const SRC = join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [relative(SRC, join(dir, entry.name)).split('\\').join('/')]
        : [],
  );
}

const BASE = new Set([
  'labels.ts',
  'catalogue.ts',
  'names.ts',
  'instruments.ts',
  'report.ts',
  'request-target.ts',
  'express-internals.ts',
  'export/collected.ts',
]);

/** The part of ARCHITECTURE.md's table a source file belongs to. */
function partOf(file: string): string {
  if (BASE.has(file) || file.startsWith('platform/')) return 'base';
  if (['cluster/primary.ts', 'register.ts', 'prometheus-reader.ts'].includes(file)) return 'entry';
  const folder = file.includes('/') ? (file.split('/')[0] as string) : file;
  return folder;
}

/** Which parts each part may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  base: ['base'],
  options: ['base'],
  'views.ts': ['base', 'options'],
  exemplars: ['base'],
  http: ['base', 'options', 'exemplars'],
  collectors: ['base', 'options'],
  export: ['base', 'options'],
  cluster: ['base'],
  'pipeline.ts': ['base', 'options', 'views.ts', 'exemplars', 'http', 'collectors', 'export'],
  entry: [
    'base',
    'options',
    'views.ts',
    'exemplars',
    'http',
    'collectors',
    'export',
    'cluster',
    'pipeline.ts',
  ],
  'index.ts': ['base', 'options', 'views.ts', 'export', 'entry'],
};

function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) =>
    posix.normalize(posix.join(posix.dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))),
  );
}

describe('the import rules', () => {
  const files = sources(SRC);

  it('know every source file', () => {
    for (const file of files) expect([file, partOf(file) in ALLOWED]).toEqual([file, true]);
  });

  it('hold for every import', () => {
    const broken: string[] = [];
    for (const file of files) {
      const from = partOf(file);
      for (const target of importsOf(file)) {
        const to = partOf(target);
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) broken.push(`${file} -> ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('let nothing import an entry point or index.ts but index.ts', () => {
    const importers = files.filter((f) =>
      importsOf(f).some((t) => t === 'index.ts' || (partOf(t) === 'entry' && f !== 'index.ts')),
    );
    expect(importers).toEqual([]);
  });

  it('keep index.ts to re-exports', () => {
    const text = readFileSync(join(SRC, 'index.ts'), 'utf8');
    const statements = text
      .split(';')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const statement of statements) expect(statement).toMatch(/^export /);
  });
});
