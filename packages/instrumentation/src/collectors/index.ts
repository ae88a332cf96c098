import { activeResourcesCollector } from './active-resources.js';
import { appInfoCollector } from './app-info.js';
import type { Collector } from './collector.js';
import { eventLoopLagCollector } from './event-loop-lag.js';
import { eventLoopUtilizationCollector } from './event-loop-utilization.js';
import { gcCollector } from './gc.js';
import { heapCollector } from './heap.js';
import { nodejsVersionCollector } from './nodejs-version.js';
import { processCpuCollector } from './process-cpu.js';
import { processFdsCollector } from './process-fds.js';
import { processResidentMemoryCollector } from './process-resident-memory.js';
import { processStartTimeCollector } from './process-start-time.js';
import { processVirtualMemoryCollector } from './process-virtual-memory.js';

/** Every collector, started in this order by `registerMetrics` when its group is on. */
export const COLLECTORS: readonly Collector[] = [
  appInfoCollector,
  processCpuCollector,
  processResidentMemoryCollector,
  processVirtualMemoryCollector,
  processStartTimeCollector,
  processFdsCollector,
  nodejsVersionCollector,
  heapCollector,
  activeResourcesCollector,
  gcCollector,
  eventLoopLagCollector,
  eventLoopUtilizationCollector,
];

export type { Collector, CollectorContext } from './collector.js';
