import { Floors } from '../../../src/cluster/floors';
import type { Snapshot } from '../../../src/cluster/snapshot';
import { counter, merge, parts } from '../../helpers/cluster-snapshots';

describe('the floors of the totals', () => {
  it('keep the series of two versions of one scope apart', () => {
    // An app that records through two versions of one library: the same names, two scopes.
    const versions = (v1: number, v2: number): Snapshot => ({
      scopes: [
        { name: 'lib', version: '1.0.0', metrics: [counter(v1)] },
        { name: 'lib', version: '2.0.0', metrics: [counter(v2)] },
      ],
    });
    const floors = new Floors();
    const served = (v1: number, v2: number): number[] => {
      const merged = merge(parts([['0', versions(v1, v2), true]]));
      floors.apply(merged);
      return merged.scopeMetrics.map((s) => s.metrics[0]?.dataPoints[0]?.value as number);
    };
    expect(served(10, 5)).toEqual([10, 5]);
    expect(served(11, 6)).toEqual([11, 6]);
    // A total below what was served of it is raised to it; the other version's is not its floor.
    expect(served(11, 5.5)).toEqual([11, 6]);
  });
});
