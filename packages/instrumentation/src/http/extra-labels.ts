import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { ExtraLabelsOption } from '../options/types.js';
import type { Reporter } from '../report.js';

/** Longest value kept: a label value is an identifier, not a payload. */
export const MAX_EXTRA_LABEL_LENGTH = 128;

export type ExtraLabels = (req: IncomingMessage, res: ServerResponse) => Record<string, string>;

/**
 * The user's label hook, made safe for the request path: exactly the declared names, string
 * values cut to a bounded length, '' for anything missing, and a throw reported once.
 */
export function createExtraLabels(option: ExtraLabelsOption, report: Reporter): ExtraLabels {
  const { names, values } = option;
  const empty = Object.fromEntries(names.map((n) => [n, '']));
  return (req, res) => {
    let given: unknown;
    try {
      given = values(req as Request, res as Response);
    } catch (err) {
      report.error('extra-labels', 'the extraLabels function threw; its labels are empty', err);
      return empty;
    }
    if (typeof given !== 'object' || given === null) return empty;
    const labels: Record<string, string> = {};
    for (const name of names) {
      const v = (given as Record<string, unknown>)[name];
      labels[name] = typeof v === 'string' ? v.slice(0, MAX_EXTRA_LABEL_LENGTH) : '';
    }
    return labels;
  };
}
