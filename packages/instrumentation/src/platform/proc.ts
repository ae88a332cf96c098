import { readdirSync, readFileSync } from 'node:fs';

/**
 * Linux `/proc` readings. Each returns undefined where `/proc` is absent or unreadable, so the
 * series that need it are simply not exported on other platforms.
 */

/** Open file descriptors of this process. */
export function readOpenFds(procDir = '/proc/self'): number | undefined {
  try {
    // The directory handle that reads the listing is itself one of the entries.
    return readdirSync(`${procDir}/fd`).length - 1;
  } catch {
    return undefined;
  }
}

/** The soft limit of open file descriptors (`ulimit -n`), from the limits table. */
export function parseMaxFds(limits: string): number | undefined {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  // "unlimited" has no number to export; leaving the series out is more honest than +Inf.
  const n = Number(soft);
  return Number.isFinite(n) ? n : undefined;
}

export function readMaxFds(procDir = '/proc/self'): number | undefined {
  try {
    return parseMaxFds(readFileSync(`${procDir}/limits`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Virtual memory size in bytes, from the `VmSize` line of `status`. */
export function parseVirtualMemoryBytes(status: string): number | undefined {
  const m = /^VmSize:\s+(\d+)\s+kB$/m.exec(status);
  return m === null ? undefined : Number(m[1]) * 1024;
}

export function readVirtualMemoryBytes(procDir = '/proc/self'): number | undefined {
  try {
    return parseVirtualMemoryBytes(readFileSync(`${procDir}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Whether `/proc` describes this process: decides once whether the Linux-only series exist. */
export function hasProc(procDir = '/proc/self'): boolean {
  return readOpenFds(procDir) !== undefined;
}
