import { constants } from 'node:perf_hooks';
import { GC_KINDS } from '../labels.js';

/** `v24.1.0` -> its parts, for `nodejs_version_info`. */
export function nodeVersionParts(version: string): {
  version: string;
  major: string;
  minor: string;
  patch: string;
} {
  const [major = '', minor = '', patch = ''] = version.replace(/^v/, '').split(/[.-]/);
  return { version, major, minor, patch };
}

const GC_KIND_BY_FLAG = new Map<number, (typeof GC_KINDS)[number]>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** The `kind` label of a GC performance entry's `detail.kind`; undefined for unknown kinds. */
export function gcKind(flag: number | undefined): (typeof GC_KINDS)[number] | undefined {
  return flag === undefined ? undefined : GC_KIND_BY_FLAG.get(flag);
}

/** `old_space` -> `old`: the `space` label, as other Node.js exporters write it. */
export function heapSpaceLabel(spaceName: string): string {
  return spaceName.endsWith('_space') ? spaceName.slice(0, -'_space'.length) : spaceName;
}

/** Counts of `process.getActiveResourcesInfo()` by resource type. */
export function countByType(resources: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}
