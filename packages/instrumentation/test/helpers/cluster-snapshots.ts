import { mergeCollected, type Contribution } from '../../src/cluster/merge';
import { readSnapshot, type Snapshot, type SnapshotMetric } from '../../src/cluster/snapshot';
import type { Collected } from '../../src/export/collected';
import { createResource } from '../../src/export/resource';

/** A worker's request counter, as a snapshot carries it. */
export const counter = (value: number, status = '200'): SnapshotMetric => ({
  name: 'app_request_count',
  description: 'Requests',
  unit: '',
  kind: 'counter',
  points: [{ attributes: { method: 'GET', endpoint: '/users/:id', http_status: status }, value }],
});

/** The processes' parts: a worker's as it arrives (a snapshot), or data already merged. */
export function parts(of: Array<[string, Snapshot | Collected, boolean]>): Contribution[] {
  return of.map(([worker, s, fresh]) => ({
    worker,
    data: 'scopes' in s ? readSnapshot(s) : s,
    fresh,
  }));
}

/** The merge of the parts, warnings to `warn`. */
export const merge = (
  contributions: Contribution[],
  warn: (key: string, message: string) => void = () => undefined,
) => mergeCollected(contributions, createResource(), warn);
