import {
  canonicalBound,
  EXEMPLAR_LABELS_MAX,
  exemplarText,
} from '../../../src/export/openmetrics-format';

describe('canonicalBound', () => {
  it('writes the examples of the specification as it does (section "Canonical Numbers")', () => {
    const examples: Array<[number, string]> = [
      [0, '0.0'],
      [0.001, '0.001'],
      [0.002, '0.002'],
      [0.01, '0.01'],
      [0.1, '0.1'],
      [0.9, '0.9'],
      [0.95, '0.95'],
      [0.99, '0.99'],
      [0.999, '0.999'],
      [1, '1.0'],
      [1.7, '1.7'],
      [10, '10.0'],
      [1e-10, '1e-10'],
      [1e-9, '1e-09'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [100000, '100000.0'],
      [1e6, '1e+06'],
      [1e10, '1e+10'],
      [1e23, '1e+23'],
      [1.1e23, '1.1e+23'],
    ];
    for (const [value, text] of examples)
      expect([value, canonicalBound(value)]).toEqual([value, text]);
  });

  it('writes the package buckets, infinities and negative bounds', () => {
    expect([0.005, 0.025, 0.075, 2.5, 5, 7.5, 123456, 1234567].map(canonicalBound)).toEqual([
      '0.005',
      '0.025',
      '0.075',
      '2.5',
      '5.0',
      '7.5',
      '123456.0',
      '1.234567e+06',
    ]);
    expect(canonicalBound(undefined)).toBe('+Inf');
    expect(canonicalBound(Infinity)).toBe('+Inf');
    expect(canonicalBound(-Infinity)).toBe('-Inf');
    expect(canonicalBound(-1)).toBe('-1.0');
    expect(canonicalBound(-0.00001)).toBe('-1e-05');
  });
});

describe('exemplarText', () => {
  const exemplar = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    value: 0.042,
    timestamp: 1767225600123,
  };

  it('writes the trace and span ids, the value and the time in seconds', () => {
    expect(exemplarText(exemplar)).toBe(
      ' # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 0.042 1767225600.123',
    );
    expect(exemplarText({ ...exemplar, value: 1, timestamp: 1767225600000 })).toBe(
      ' # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 1 1767225600',
    );
    expect(exemplarText({ ...exemplar, timestamp: NaN })).toBe(
      ' # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 0.042',
    );
  });

  it("keeps within OpenMetrics' 128 characters of labels, which a real trace is far from", () => {
    expect(EXEMPLAR_LABELS_MAX).toBe(128);
    // trace_id, 32 hex digits, span_id, 16: the label names and values a trace's exemplar has.
    const used = 'trace_id'.length + 32 + 'span_id'.length + 16;
    expect(used).toBe(63);
    expect(used).toBeLessThanOrEqual(EXEMPLAR_LABELS_MAX);
    // At the limit it is written; one character beyond, it is not.
    const at = { ...exemplar, traceId: 'a'.repeat(128 - 15 - 16) };
    expect(exemplarText(at)).toContain(`trace_id="${at.traceId}"`);
    expect(exemplarText({ ...at, traceId: `${at.traceId}a` })).toBeUndefined();
  });

  it('escapes what a label value must escape', () => {
    expect(exemplarText({ ...exemplar, traceId: 'a"b\\c\nd' })).toContain(
      'trace_id="a\\"b\\\\c\\nd"',
    );
  });
});
