import {
  nodeVersionParts,
  gcKind,
  heapSpaceLabel,
  countByType,
} from '../../../src/platform/runtime';

describe('runtime readers', () => {
  it('split the version, name GC kinds and heap spaces, count resources', () => {
    expect(nodeVersionParts('v24.21.0')).toEqual({
      version: 'v24.21.0',
      major: '24',
      minor: '21',
      patch: '0',
    });
    expect(nodeVersionParts('v25.0.0-pre')).toMatchObject({ major: '25', minor: '0', patch: '0' });
    expect([1, 4, 8, 16].map(gcKind)).toEqual(['minor', 'major', 'incremental', 'weakcb']);
    expect(gcKind(2)).toBeUndefined();
    expect(gcKind(undefined)).toBeUndefined();
    expect(heapSpaceLabel('old_space')).toBe('old');
    expect(heapSpaceLabel('new_large_object_space')).toBe('new_large_object');
    expect(heapSpaceLabel('odd')).toBe('odd');
    expect([...countByType(['Timeout', 'TCPSocketWrap', 'Timeout'])]).toEqual([
      ['Timeout', 2],
      ['TCPSocketWrap', 1],
    ]);
  });
});
