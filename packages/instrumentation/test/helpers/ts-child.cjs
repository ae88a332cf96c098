'use strict';
/*
 * Preloaded (`node --require`) into a Node process that a test starts to run TypeScript from
 * this package, for work that must not run under jest's open-handle tracker, which takes a stack
 * trace for every async resource. Each file is transpiled on its own, without type checking, as
 * ts-jest does in the test process; `tsc --noEmit` checks the types.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload has no imports */
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true,
};

Module._extensions['.ts'] = (module, filename) => {
  const source = readFileSync(filename, 'utf8');
  module._compile(
    ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText,
    filename,
  );
};

// The sources name each other './x.js', as NodeNext resolution wants; on disk they are './x.ts'.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveTs(request, ...rest) {
  try {
    return resolveFilename.call(this, request, ...rest);
  } catch (err) {
    if (!request.startsWith('.') || !request.endsWith('.js')) throw err;
    return resolveFilename.call(this, `${request.slice(0, -3)}.ts`, ...rest);
  }
};
