import express from 'express5';
import { registerMetrics, type MetricsHandle, type RegisterMetricsOptions } from '../../src/index';
import { samplesOf, valueOf } from './exposition';

/** A registration with no endpoint, read in-process; `collectors` as given. */
export function standalone(options: RegisterMetricsOptions = {}): MetricsHandle {
  return registerMetrics(express(), { endpoint: { mode: 'none' }, ...options });
}

/** The value of one unlabelled (or exactly labelled) sample in a fresh scrape. */
export async function read(
  metrics: MetricsHandle,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return valueOf(await metrics.scrape(), name, labels);
}

/** Whether any sample of `name` is in a fresh scrape. */
export async function has(metrics: MetricsHandle, name: string): Promise<boolean> {
  return samplesOf(await metrics.scrape(), name).length > 0;
}
