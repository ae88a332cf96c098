import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DASHBOARD_PATH = join(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'dashboards',
  'express-otel-metrics.json',
);

interface Panel {
  title: string;
  targets?: Array<{ expr: string; refId: string }>;
}

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

/** The panels that read native histograms, which an app of classic buckets leaves empty. */
export const NATIVE_PANEL = / \(native histograms\)$/;

/**
 * Every query of every panel of the kind asked for (`native`: those of {@link NATIVE_PANEL}, else
 * the others), with the template variables replaced by the given values.
 */
export function panelQueries(values: Record<string, string>, native = false): PanelQuery[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as { panels: Panel[] };
  const queries: PanelQuery[] = [];
  for (const panel of dashboard.panels) {
    if (NATIVE_PANEL.test(panel.title) !== native) continue;
    for (const target of panel.targets ?? []) {
      const expr = target.expr.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_whole, braced?: string, bare?: string) => {
          const name = (braced ?? bare) as string;
          const value = values[name];
          if (value === undefined)
            throw new Error(`panel "${panel.title}" uses $${name}, which has no test value`);
          return value;
        },
      );
      queries.push({ panel: panel.title, refId: target.refId, expr });
    }
  }
  return queries;
}

/** The names of the dashboard's template variables. */
export function templateVariables(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as {
    templating: { list: Array<{ name: string }> };
  };
  return dashboard.templating.list.map((v) => v.name);
}
