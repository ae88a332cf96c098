/**
 * The meeting point of registrations with `meterProvider` and createPrometheusReader's readers:
 * every shared store decorates what a reader collects, and spans are wanted only while a reader
 * is open.
 */
import { TraceFlags } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { METER_NAME } from '../../../src/catalogue';
import {
  openReader,
  readersOpen,
  shareStore,
  withSharedExemplars,
} from '../../../src/exemplars/shared';
import { ExemplarStore } from '../../../src/exemplars/store';
import type { Collected, Point } from '../../../src/export/collected';

const span = (n: number) => ({
  traceId: String(n).padStart(32, '0'),
  spanId: String(n).padStart(16, '0'),
  traceFlags: TraceFlags.SAMPLED,
});

const counted = (name: string, endpoint: string): Collected => ({
  resource: { attributes: {} },
  scopeMetrics: [
    {
      scope: { name: METER_NAME },
      metrics: [
        {
          descriptor: { name, description: '', unit: '' },
          dataPointType: DataPointType.SUM,
          isMonotonic: true,
          dataPoints: [{ attributes: { endpoint }, value: 1 }],
        },
      ],
    },
  ],
});

const exemplarIds = (collected: Collected) =>
  (
    collected.scopeMetrics[0]?.metrics[0]?.dataPoints as Array<Point<number>> | undefined
  )?.[0]?.exemplars?.map((e) => e?.spanId);

describe('shared exemplar stores', () => {
  it('decorate with every store, each on its own series, until unshared', () => {
    const first = new ExemplarStore(2000, () => undefined);
    const second = new ExemplarStore(2000, () => undefined);
    first.counter('a_count', ['endpoint']).offer({ endpoint: '/x' }, 1, span(1));
    second.counter('b_count', ['endpoint']).offer({ endpoint: '/y' }, 1, span(2));
    const unshareFirst = shareStore(first);
    const unshareSecond = shareStore(second);
    try {
      expect(exemplarIds(withSharedExemplars(counted('a_count', '/x')))).toEqual([span(1).spanId]);
      expect(exemplarIds(withSharedExemplars(counted('b_count', '/y')))).toEqual([span(2).spanId]);
      // A series no store kept is left as collected.
      const other = counted('a_count', '/z');
      expect(withSharedExemplars(other)).toBe(other);
      unshareFirst();
      expect(exemplarIds(withSharedExemplars(counted('a_count', '/x')))).toBeUndefined();
    } finally {
      unshareFirst();
      unshareSecond();
    }
  });

  it('are wanted only while a reader is open, each closed once', () => {
    expect(readersOpen()).toBe(false);
    const closeOne = openReader();
    const closeTwo = openReader();
    expect(readersOpen()).toBe(true);
    closeOne();
    closeOne();
    expect(readersOpen()).toBe(true);
    closeTwo();
    expect(readersOpen()).toBe(false);
  });
});
