import { appInfoCollector } from './app-info.js';
import type { Collector } from './collector.js';

/** Every collector, started in this order by `registerMetrics`. */
export const COLLECTORS: readonly Collector[] = [appInfoCollector];

export type { Collector } from './collector.js';
