import {
  context,
  isSpanContextValid,
  trace,
  TraceFlags,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * The context of the span active now, when it is sampled (its trace is kept, so an exemplar can
 * link to it); otherwise undefined. Where no context manager is registered, this is a read of the
 * API's global registry and a lookup in the root context, with nothing allocated.
 */
export function sampledSpanContext(active: Context = context.active()): SpanContext | undefined {
  const span = trace.getSpanContext(active);
  if (span === undefined || (span.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return isSpanContextValid(span) ? span : undefined;
}
