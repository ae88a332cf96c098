/*
 * The README's NodeSDK setup ("An app that already runs the OpenTelemetry SDK"), its two files as
 * written, run in a Node process of its own: NodeSDK sets process-wide globals, its
 * instrumentations patch `http` for the whole process, and its OTLP transport loads `http` with
 * import(), which jest's sandbox refuses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PACKAGE = join(__dirname, '..', '..');
const README = join(PACKAGE, '..', '..', 'README.md');
export const SDK_SECTION = '### An app that already runs the OpenTelemetry SDK';
const SPECIFIER = "from 'express-otel-metrics'";

/** The section's text, up to the next heading of its level or above. */
export function readmeSdkSection(): string {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(SDK_SECTION);
  if (start < 0) throw new Error(`no "${SDK_SECTION}" in the README`);
  const rest = readme.slice(start + SDK_SECTION.length);
  const end = rest.search(/^#{1,3} /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The section's first two TypeScript blocks: `otel.ts`, then `app.ts`, as the README names them. */
export function readmeSdkFiles(): { otel: string; app: string } {
  const blocks = [...readmeSdkSection().matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const [otel, app] = blocks;
  if (otel === undefined || app === undefined) throw new Error('expected two ts blocks');
  if (!otel.startsWith('// otel.ts') || !app.startsWith('// app.ts')) {
    throw new Error('expected the blocks to start with "// otel.ts" and "// app.ts"');
  }
  return { otel, app };
}

/**
 * Starts the README's app, with `edit` applied to its two files (each edit must find what it
 * replaces) and these variables on top of the test's own. The package is its sources, as
 * elsewhere in these tests; the files sit in a directory of their own that sees the package's
 * dependencies.
 */
export function spawnReadmeSdkApp(
  env: Record<string, string>,
  edit: (files: { otel: string; app: string }) => { otel: string; app: string } = (f) => f,
): { child: ChildProcess; exited: Promise<number | null> } {
  const files = edit(readmeSdkFiles());
  const index = `from ${JSON.stringify(join(PACKAGE, 'src', 'index.ts'))}`;
  const dir = mkdtempSync(join(tmpdir(), 'readme-sdk-'));
  symlinkSync(join(PACKAGE, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [name, source] of Object.entries(files)) {
    if (source.split(SPECIFIER).length !== 2) throw new Error(`${name}.ts: one ${SPECIFIER}`);
    writeFileSync(join(dir, `${name}.ts`), source.replace(SPECIFIER, index));
  }
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'ts-child.cjs'), join(dir, 'app.ts')],
    { cwd: PACKAGE, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  void exited.then(() => rmSync(dir, { recursive: true, force: true }));
  return { child, exited };
}

/** `text` with `from` replaced once; throws if it is not there exactly once. */
export function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`expected one "${from}", found ${parts.length - 1}`);
  return parts.join(to);
}
