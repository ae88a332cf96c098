// The newcomer's path: pack the library as npm would publish it, install the tarball from a fresh
// project outside the workspace (its dependencies from the registry, as a user gets them), and run
// the README's usage example there, as written but for its ports: an ES module TypeScript project
// (`nodenext`, `strict`, `noUnusedLocals`) and a CommonJS JavaScript one, on express 4 and 5. Each
// is scraped and checked (the series' values and labels, then `promtool check metrics`). Also: the
// tarball's files, the install's size and package count next to prom-client + express-prom-bundle,
// that an OTLP exporter which is not installed stops the app at setup with a message naming it,
// and that once installed it exports. Prints a table; exits 1 on any failure.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const library = join(root, 'packages', 'instrumentation');
const work = mkdtempSync(join(tmpdir(), 'packed-install-'));
const keep = process.argv.includes('--keep');

/** Install targets of the issue that made scrape-only installs lean. */
const TARGET_MB = 25;
const TARGET_PACKAGES = 90;

/** Exactly what a user needs: the builds, their types, the README and the licence. */
const EXPECTED_FILES = [
  'LICENSE',
  'README.md',
  'dist/index.cjs',
  'dist/index.d.mts',
  'dist/index.d.ts',
  'dist/index.mjs',
  'package.json',
];

/**
 * The environment of a user's shell: without what pnpm adds for the workspace's scripts, NODE_PATH
 * above all, through which the fresh projects would find the workspace's own packages (the OTLP
 * exporters among them).
 */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => key !== 'NODE_PATH' && !/^(npm|pnpm)_/i.test(key) && !key.startsWith('PNPM_'),
  ),
);

const failures = [];
function check(condition, what) {
  if (!condition) {
    failures.push(what);
    console.error(`FAILED: ${what}`);
  }
  return condition;
}

function run(cmd, args, cwd, env = {}) {
  return execFileSync(cmd, args, {
    cwd,
    env: { ...userEnv, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** npm install, with what it printed (its warnings go to stderr). */
function npmInstall(cwd, packages) {
  const child = spawnSyncCapture('npm', ['install', '--no-audit', '--no-fund', ...packages], cwd);
  if (child.status !== 0) throw new Error(`npm install failed in ${cwd}:\n${child.output}`);
  return child.output;
}

/** Runs a command to its end: its exit status and all it printed; -1 when it is not installed. */
function capture(cmd, args, { cwd, input } = {}) {
  try {
    const out = execFileSync(cmd, args, {
      cwd,
      input,
      env: userEnv,
      encoding: 'utf8',
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    return { status: 0, output: out };
  } catch (err) {
    if (err.code === 'ENOENT') return { status: -1, output: `${cmd} is not on the PATH` };
    return { status: err.status ?? 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

const spawnSyncCapture = (cmd, args, cwd) => capture(cmd, args, { cwd });

/** Size on disk of node_modules (as `du` counts it) and the number of packages installed. */
function installSize(cwd) {
  const kib = Number(run('du', ['-sk', 'node_modules'], cwd).split('\t')[0]);
  const parseable = spawnSyncCapture('npm', ['ls', '--all', '--parseable'], cwd).output;
  const packages = parseable.split('\n').filter((l) => l.includes('node_modules')).length;
  return { mb: kib / 1024, packages };
}

function project(name, packageJson) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, private: true, ...packageJson }, null, 2),
  );
  return dir;
}

/** The first fenced block of `lang` in the README section that starts with `heading`. */
function readmeBlock(heading, lang) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  if (match === null) throw new Error(`README's "${heading}" has no \`\`\`${lang} block`);
  return match[1];
}

/** The example with its ports made free ones on loopback, since tests bind nothing else. */
function withPort(source, port) {
  const listen = 'app.listen(3000);';
  if (source.split(listen).length !== 2) throw new Error(`the example should call ${listen} once`);
  return source.replace(listen, `app.listen(${port}, '127.0.0.1');`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function fetchText(url) {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`timeout: ${url}`)));
  });
}

async function until(read, accept, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not in ${ms} ms (last: ${String(last?.body ?? last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(cwd, args, env) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...userEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

function sampleValue(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const promtoolCheck = (text) => capture('promtool', ['check', 'metrics'], { input: text });

/** npm pack's JSON report, after what the prepack script printed to the same stream. */
function packJson(output) {
  const start = output.startsWith('[') ? 0 : output.lastIndexOf('\n[') + 1;
  return JSON.parse(output.slice(start))[0];
}

async function main() {
  console.log(`== packing ${library} (prepack builds it)`);
  const packed = packJson(run('npm', ['pack', '--json', '--pack-destination', work], library));
  const tarball = join(work, packed.filename);
  const files = packed.files.map((f) => f.path).sort();
  console.log(
    `tarball ${packed.filename}: ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked`,
  );
  for (const f of packed.files.sort((a, b) => a.path.localeCompare(b.path))) {
    console.log(`  ${f.path.padEnd(20)} ${(f.size / 1024).toFixed(1).padStart(7)} KiB`);
  }
  check(
    JSON.stringify(files) === JSON.stringify(EXPECTED_FILES),
    `the tarball holds exactly ${EXPECTED_FILES.join(', ')}`,
  );

  console.log('== what npm and TypeScript tooling say of the package');
  const attw = spawnSyncCapture('npx', ['-y', '@arethetypeswrong/cli@0.18', tarball], work);
  console.log(attw.output.trim());
  check(attw.status === 0, 'arethetypeswrong finds no problem');
  const publint = spawnSyncCapture('npx', ['-y', 'publint@0.3', '--pack', 'npm', library], work);
  console.log(publint.output.trim());
  check(
    publint.status === 0 && !/warning|error/i.test(publint.output.replace(/publint/g, '')),
    'publint finds nothing to report',
  );

  const ts = readmeBlock('## Usage', 'ts');
  const js = readmeBlock('## Usage', 'js');
  const sizes = [];

  for (const express of ['4', '5']) {
    // CommonJS JavaScript: the install a scrape-only user makes, measured before anything is added.
    const cjs = project(`cjs-express${express}`, { type: 'commonjs' });
    const cjsInstall = npmInstall(cjs, [tarball, `express@${express}`, '@opentelemetry/api']);
    check(
      !/install-scripts|EBADENGINE/.test(cjsInstall),
      `cjs-express${express}: npm install prints no install-script or engine warning:\n${cjsInstall}`,
    );
    sizes.push({
      what: `express-otel-metrics + express@${express} + @opentelemetry/api`,
      ...installSize(cjs),
    });
    const cjsPort = await freePort();
    writeFileSync(join(cjs, 'index.js'), withPort(js, cjsPort));
    await runExampleAt(`CommonJS JavaScript, express ${express}`, cjs, 'index.js', cjsPort);

    // ES module TypeScript, compiled as the README says a TypeScript user sets it up.
    const esm = project(`esm-ts-express${express}`, { type: 'module' });
    npmInstall(esm, [
      tarball,
      `express@${express}`,
      '@opentelemetry/api',
      'typescript',
      `@types/express@${express}`,
      '@types/node@22',
    ]);
    writeFileSync(
      join(esm, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          strict: true,
          noUnusedLocals: true,
          types: ['node'],
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src'],
      }),
    );
    mkdirSync(join(esm, 'src'));
    const esmPort = await freePort();
    writeFileSync(join(esm, 'src', 'index.ts'), withPort(ts, esmPort));
    const tsc = spawnSyncCapture('npx', ['tsc', '-p', '.'], esm);
    const tscVersion = spawnSyncCapture('npx', ['tsc', '--version'], esm).output.trim();
    if (
      check(
        tsc.status === 0,
        `ESM TypeScript, express ${express}: the README's example compiles (${tscVersion}):\n${tsc.output}`,
      )
    ) {
      await runExampleAt(
        `ES module TypeScript (${tscVersion}), express ${express}`,
        esm,
        'dist/index.js',
        esmPort,
      );
    }

    if (express === '5') {
      await missingExporter(cjs);
      const before = installSize(esm);
      npmInstall(esm, ['@opentelemetry/exporter-metrics-otlp-proto@~0.301.0']);
      const after = installSize(esm);
      sizes.push({
        what: 'adding @opentelemetry/exporter-metrics-otlp-proto (OTLP)',
        mb: after.mb - before.mb,
        packages: after.packages - before.packages,
        delta: true,
      });
      await exportsOverOtlp(esm, esmPort);
    }
  }

  const peers = project('peers', { type: 'commonjs' });
  npmInstall(peers, ['prom-client', 'express-prom-bundle', 'express@5']);
  sizes.push({ what: 'prom-client + express-prom-bundle + express@5', ...installSize(peers) });

  console.log('\n| install (fresh project, npm) | size on disk | packages |');
  console.log('| --- | --- | --- |');
  for (const s of sizes) {
    const sign = s.delta ? '+' : '';
    console.log(`| ${s.what} | ${sign}${s.mb.toFixed(1)} MB | ${sign}${s.packages} |`);
  }
  const lean = sizes.find((s) => s.what.startsWith('express-otel-metrics + express@5'));
  check(
    lean.mb <= TARGET_MB && lean.packages <= TARGET_PACKAGES,
    `scrape-only install with express 5 within ${TARGET_MB} MB and ${TARGET_PACKAGES} packages (${lean.mb.toFixed(1)} MB, ${lean.packages})`,
  );
}

/** Starts `entry` in `dir` with `env`, runs `checks` against it, and stops it whatever happens. */
async function withApp(label, dir, entry, env, checks) {
  const app = start(dir, [entry], env);
  try {
    await checks(app);
    console.log(`ok: ${label}`);
  } catch (err) {
    check(false, `${label}: ${err.message}\n${app.output()}`);
  } finally {
    app.child.kill('SIGTERM');
    await app.exited;
  }
}

/** The example listens on `appPort` (written into its source); its metrics on a free port. */
async function runExampleAt(label, dir, entry, appPort) {
  const metricsPort = await freePort();
  await withApp(label, dir, entry, { OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort) }, () =>
    checkRunning(label, appPort, metricsPort),
  );
}

async function checkRunning(label, appPort, metricsPort) {
  const answer = await until(
    () => fetchText(`http://127.0.0.1:${appPort}/`),
    (r) => r.status === 200,
    15_000,
    'the app answers',
  );
  check(
    answer.body === 'Test',
    `${label}: GET / answers "Test" (got ${JSON.stringify(answer.body)})`,
  );
  const { body } = await until(
    () => fetchText(`http://127.0.0.1:${metricsPort}/metrics`),
    (r) => r.status === 200 && r.body.includes('app_request_count_total{'),
    15_000,
    'the request in the exposition',
  );
  const expected = {
    'app_request_count_total{method="GET",endpoint="/",http_status="200"}': 1,
    'app_request_latency_seconds_count{method="GET",endpoint="/"}': 1,
    'app_request_latency_seconds_bucket{method="GET",endpoint="/",le="+Inf"}': 1,
    'app_version_info{version="v0.1.2",config="staging"}': 1,
  };
  for (const [series, value] of Object.entries(expected)) {
    check(
      sampleValue(body, series) === value,
      `${label}: ${series} is ${value} (got ${sampleValue(body, series)})`,
    );
  }
  const rss = sampleValue(body, 'process_resident_memory_bytes');
  check(
    rss !== undefined && rss > 1e6,
    `${label}: process_resident_memory_bytes is a size (got ${rss})`,
  );
  const major = process.versions.node.split('.')[0];
  check(
    body.includes(`nodejs_version_info{version="v${process.versions.node}",major="${major}",`),
    `${label}: nodejs_version_info names this Node.js`,
  );
  const promtool = promtoolCheck(body);
  if (promtool.status === -1 && process.env.CI !== 'true')
    console.log(`${label}: promtool not found, check skipped`);
  else
    check(
      promtool.status === 0 && promtool.output.trim() === '',
      `${label}: promtool check metrics is clean:\n${promtool.output}`,
    );
}

/** Without the OTLP exporter a configuration asks for, the app stops at setup, naming both. */
async function missingExporter(dir) {
  const cases = [
    {
      env: { OTEL_METRICS_EXPORTER: 'otlp' },
      pkg: '@opentelemetry/exporter-metrics-otlp-proto',
      askedBy: 'OTEL_METRICS_EXPORTER=otlp',
    },
    {
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus,otlp',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
      },
      pkg: '@opentelemetry/exporter-metrics-otlp-grpc',
      askedBy: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc',
    },
  ];
  for (const { env, pkg, askedBy } of cases) {
    const app = start(dir, ['index.js'], env);
    const code = await Promise.race([
      app.exited,
      new Promise((r) => setTimeout(() => r('running'), 10_000)),
    ]);
    if (code === 'running') app.child.kill('SIGKILL');
    const out = app.output();
    const label = `missing exporter (${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')})`;
    check(code !== 0 && code !== 'running', `${label}: the app stops at setup (exit ${code})`);
    check(
      out.includes(askedBy) && out.includes(`npm install ${pkg}@~0.301.0`),
      `${label}: the error names ${askedBy} and ${pkg}:\n${out}`,
    );
    if (code !== 0 && code !== 'running')
      console.log(
        `ok: ${label}: ${out.split('\n').find((l) => l.includes('express-otel-metrics:'))}`,
      );
  }
}

/** With the exporter installed, the same app pushes its series over OTLP/HTTP protobuf. */
async function exportsOverOtlp(dir, appPort) {
  const bodies = [];
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      bodies.push({
        path: req.url,
        type: req.headers['content-type'],
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const label = 'OTLP http/protobuf, exporter installed (ES module TypeScript, express 5)';
  const env = {
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.address().port}`,
    OTEL_METRIC_EXPORT_INTERVAL: '500',
  };
  try {
    await withApp(label, dir, 'dist/index.js', env, async () => {
      await until(
        () => fetchText(`http://127.0.0.1:${appPort}/`),
        (r) => r.status === 200,
        15_000,
        'the app answers',
      );
      const got = await until(
        async () => bodies.find((b) => b.body.includes('app_request_count')),
        (b) => b !== undefined,
        15_000,
        'an export with the request count',
      );
      check(
        got.path === '/v1/metrics' && got.type === 'application/x-protobuf',
        `${label}: POST /v1/metrics as protobuf (got ${got.path}, ${got.type})`,
      );
      check(
        got.body.includes('app_request_latency_seconds') && got.body.includes('v0.1.2'),
        `${label}: the export carries the latency histogram and the version`,
      );
    });
  } finally {
    receiver.close();
  }
}

try {
  await main();
} catch (err) {
  check(false, err.stack ?? String(err));
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
if (failures.length > 0) {
  console.error(`\n${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('\npacked install: every check passed');
