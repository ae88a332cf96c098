/**
 * Prometheus' protobuf exposition decoded by an independent decoder: protobufjs, against
 * prometheus/client_model's metrics.proto (test/fixtures/prometheus).
 */
import path from 'node:path';
import * as protobuf from 'protobufjs';

const root = protobuf.loadSync(path.join(__dirname, '../fixtures/prometheus/metrics.proto'));
const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');

export interface Label {
  name: string;
  value: string;
}
export interface DecodedExemplar {
  label?: Label[];
  value?: number;
  timestamp?: { seconds?: number; nanos?: number };
}
export interface Span {
  offset?: number;
  length?: number;
}
export interface DecodedHistogram {
  sampleCount?: number;
  sampleSum?: number;
  bucket?: Array<{ cumulativeCount?: number; upperBound?: number; exemplar?: DecodedExemplar }>;
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  negativeSpan?: Span[];
  negativeDelta?: number[];
  positiveSpan?: Span[];
  positiveDelta?: number[];
}
export interface DecodedMetric {
  label?: Label[];
  gauge?: { value?: number };
  counter?: { value?: number; exemplar?: DecodedExemplar };
  untyped?: { value?: number };
  histogram?: DecodedHistogram;
}
export interface DecodedFamily {
  name: string;
  help?: string;
  type?: string;
  metric?: DecodedMetric[];
  unit?: string;
}

/**
 * The length-delimited MetricFamily messages of an exposition, decoded; each one also checked to
 * be the canonical encoding, byte for byte: protobufjs writes fields in the proto's order,
 * present ones only, varints at their shortest, which the writer's must be too.
 */
export function decodeFamilies(bytes: Buffer): DecodedFamily[] {
  const reader = protobuf.Reader.create(bytes);
  const families: DecodedFamily[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const message = MetricFamily.decodeDelimited(reader);
    const again = Buffer.from(MetricFamily.encodeDelimited(message).finish());
    expect(again.equals(bytes.subarray(start, reader.pos))).toBe(true);
    families.push(
      MetricFamily.toObject(message, { longs: Number, enums: String }) as DecodedFamily,
    );
  }
  return families;
}
