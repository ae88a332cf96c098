import express from 'express5';
import type { Express } from 'express';
import type { RegisterMetricsOptions } from '../../src/index';
import { resolveExport, type ResolvedExporter } from '../../src/options/exporters';
import { resolveOptions } from '../../src/options/resolve';
import { createReporter } from '../../src/report';

export type Env = Record<string, string | undefined>;

/** Sets variables for the length of `fn`, then puts back what was there. */
export async function withEnv<T>(vars: Env, fn: () => Promise<T>): Promise<T> {
  const saved: Env = {};
  for (const [name, value] of Object.entries(vars)) {
    saved[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** The exporters the package would build for these options and variables. */
export function exportersFor(options: RegisterMetricsOptions, env: Env): ResolvedExporter[] {
  const target = resolveExport(resolveOptions(options), env, createReporter());
  if (target.kind !== 'own')
    throw new Error(`expected a provider of the package's, got ${target.kind}`);
  return target.exporters;
}

/** Express' own request entry point, which the package wraps to see every request. */
export const handleOf = (app: Express): unknown => (app as unknown as { handle: unknown }).handle;

/** An app with two routes: GET /users/:id and POST /users. */
export function usersApp(): Express {
  const app = express();
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.post('/users', (_req, res) => {
    res.status(201).json({ created: true });
  });
  return app;
}
