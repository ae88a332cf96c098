import { diag, type DiagLogger } from '@opentelemetry/api';
import { samplesOf } from '../helpers/exposition';
import { standalone } from '../helpers/metrics';

// A platform without /proc (macOS, Windows), as the readers see it.
jest.mock('../../src/platform/proc', () => ({
  hasProc: () => false,
  readOpenFds: () => undefined,
  readMaxFds: () => undefined,
  readVirtualMemoryBytes: () => undefined,
}));

it('leaves the Linux-only series out, quietly, and keeps the rest', async () => {
  const reports: unknown[][] = [];
  const record = (...args: unknown[]): void => {
    reports.push(args);
  };
  const logger: DiagLogger = {
    error: record,
    warn: record,
    info: record,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger);
  const metrics = standalone();
  try {
    for (let i = 0; i < 3; i++) {
      const text = await metrics.scrape();
      for (const linuxOnly of [
        'process_open_fds',
        'process_max_fds',
        'process_virtual_memory_bytes',
      ]) {
        expect(samplesOf(text, linuxOnly)).toHaveLength(0);
        expect(text).not.toContain(linuxOnly);
      }
      for (const portable of [
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'process_start_time_seconds',
      ]) {
        expect(samplesOf(text, portable)).toHaveLength(1);
      }
    }
    expect(reports).toEqual([]);
  } finally {
    diag.disable();
    await metrics.shutdown();
  }
});
