import { methodLabel, statusLabel } from '../../../src/http/labels';
import { KNOWN_METHODS } from '../../../src/labels';

describe('label bounds', () => {
  it('keeps the standard methods and folds the rest into _OTHER', () => {
    for (const m of KNOWN_METHODS) expect(methodLabel(m)).toBe(m);
    expect(KNOWN_METHODS).toHaveLength(10);
    for (const m of ['PROPFIND', 'MKCOL', 'get', 'BREW', '', undefined]) {
      expect(methodLabel(m)).toBe('_OTHER');
    }
  });

  it('keeps 100-599, folds the rest, and marks an abandoned response as 499', () => {
    expect(statusLabel(200, false)).toBe('200');
    expect(statusLabel(599, false)).toBe('599');
    expect(statusLabel(100, false)).toBe('100');
    expect(statusLabel(99, false)).toBe('other');
    expect(statusLabel(600, false)).toBe('other');
    expect(statusLabel(999, false)).toBe('other');
    expect(statusLabel(200.5, false)).toBe('other');
    expect(statusLabel(200, true)).toBe('499');
  });
});
