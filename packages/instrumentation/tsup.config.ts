import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  tsconfig: 'tsconfig.build.json',
  format: ['esm', 'cjs'],
  dts: true,
  // No source maps: the build is not minified, so a stack trace into it reads as it is, and maps
  // would point at sources the package does not ship (they were two thirds of its size).
  sourcemap: false,
  // __filename in the ES module build too: it is where optional exporters are looked up from.
  shims: true,
  clean: true,
  target: 'node22',
  outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
});
