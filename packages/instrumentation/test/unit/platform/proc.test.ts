import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hasProc,
  parseMaxFds,
  parseVirtualMemoryBytes,
  readMaxFds,
  readOpenFds,
  readVirtualMemoryBytes,
} from '../../../src/platform/proc';

describe('the /proc readers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'proc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true }));

  it('parse the limits table and the status file', () => {
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units\n' +
      'Max cpu time              unlimited            unlimited            seconds\n' +
      'Max open files            1024                 524288               files\n';
    expect(parseMaxFds(limits)).toBe(1024);
    expect(parseMaxFds(limits.replace('1024', 'unlimited'))).toBeUndefined();
    expect(parseMaxFds('')).toBeUndefined();
    expect(parseVirtualMemoryBytes('Name:\tnode\nVmSize:\t  123456 kB\nVmRSS:\t 1 kB\n')).toBe(
      123456 * 1024,
    );
    expect(parseVirtualMemoryBytes('Name:\tnode\n')).toBeUndefined();
  });

  it('read a /proc-like folder and return undefined, not throw, where there is none', () => {
    writeFileSync(join(dir, 'limits'), 'Max open files            4096   4096   files\n');
    writeFileSync(join(dir, 'status'), 'VmSize:\t  2048 kB\n');
    expect(readMaxFds(dir)).toBe(4096);
    expect(readVirtualMemoryBytes(dir)).toBe(2048 * 1024);
    expect(readOpenFds(dir)).toBeUndefined();
    expect(hasProc(dir)).toBe(false);
    const missing = join(dir, 'missing');
    expect(readMaxFds(missing)).toBeUndefined();
    expect(readVirtualMemoryBytes(missing)).toBeUndefined();
    expect(readOpenFds(missing)).toBeUndefined();
  });
});
