import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Attributes, Context, Meter, SpanContext } from '@opentelemetry/api';
import { CATALOGUE, type Naming, type SeriesDef } from '../catalogue.js';
import type { ExpressRequestFields } from '../express-internals.js';
import type { ExemplarStore } from '../exemplars/store.js';
import { createCounter, createHistogram, createUpDownCounter } from '../instruments.js';
import { LABELS, SEMCONV_ATTRIBUTES, UNMATCHED_ENDPOINT } from '../labels.js';
import { BODY_SIZE_BUCKETS } from '../options/defaults.js';
import type { ResolvedOptions } from '../options/resolve.js';
import type { ExtraLabels } from './extra-labels.js';
import type { RouteResolver } from './route-template.js';
import { errorType, methodLabel, protocolVersion, statusLabel, urlScheme } from './labels.js';

// Hoisted so that the request path reads module constants, not nested properties.
const VERSION = SEMCONV_ATTRIBUTES.networkProtocolVersion;
const ROUTE = SEMCONV_ATTRIBUTES.httpRoute;
const STATUS = SEMCONV_ATTRIBUTES.httpResponseStatusCode;
const ERROR = SEMCONV_ATTRIBUTES.errorType;

/**
 * Records one request that has ended and took `seconds`; `complete` is false when the client went
 * away before it had the whole response; `span` is the sampled span it ran in, if any (looked for
 * only where exemplars are kept). The naming is chosen once, when the recorder is made, so the
 * request path never asks for it.
 */
export type RecordRequest = (
  req: IncomingMessage,
  res: ServerResponse,
  seconds: number,
  complete: boolean,
  span: SpanContext | undefined,
  /** The response body bytes the app wrote, where counted (option `bodySizes`). */
  bodyBytes?: number,
  /**
   * The context active when the request ended, given to the SDK with each recording: without it,
   * the SDK reads it again for each (its attribute processors take it).
   */
  active?: Context,
) => void;

// The attributes are object literals with literal keys: V8 builds such an object from the
// literal's template, where a computed key (`[LABELS.method]`) costs a call into its runtime per
// key and request. These types hold the literal keys to the names in labels.ts.
type Keyed<K extends string> = Record<K, string>;
type MethodLabels = Keyed<typeof LABELS.method>;
type TimedLabels = Keyed<typeof LABELS.method | typeof LABELS.endpoint>;
type CountedLabels = Keyed<
  typeof LABELS.method | typeof LABELS.endpoint | typeof LABELS.httpStatus
>;
type SemconvBase = Keyed<
  typeof SEMCONV_ATTRIBUTES.httpRequestMethod | typeof SEMCONV_ATTRIBUTES.urlScheme
>;

/**
 * The requests in flight (option `inFlight`): `start` counts a request in and returns the
 * attributes to count it out with, so that both land on one series whatever happens in between.
 */
export interface InFlight {
  start(req: IncomingMessage): Attributes;
  end(attributes: Attributes): void;
}

/** The in-flight instrument of `naming`, by the method (and, in the conventions, the scheme). */
export function createInFlight(meter: Meter, naming: Naming): InFlight {
  const entry = CATALOGUE.app.requestsInFlight;
  if (naming === 'semconv') {
    const counter = createUpDownCounter(meter, entry.semconv);
    return {
      // The scheme of the connection: Express' `req.protocol` (trust proxy) is not set up yet
      // when the request starts.
      start(req) {
        const attributes: SemconvBase = {
          'http.request.method': methodLabel(req.method),
          'url.scheme': urlScheme(req),
        };
        counter.add(1, attributes);
        return attributes;
      },
      end: (attributes) => counter.add(-1, attributes),
    };
  }
  const counter = createUpDownCounter(meter, entry.prometheus);
  return {
    start(req) {
      const attributes: MethodLabels = { method: methodLabel(req.method) };
      counter.add(1, attributes);
      return attributes;
    },
    end: (attributes) => counter.add(-1, attributes),
  };
}

/**
 * A request's body size: its `Content-Length`; 0 with neither it nor `Transfer-Encoding` (no body,
 * RFC 9112 6.3); undefined for a chunked body, which the app reads or not: counting it would mean
 * reading it, and 0 would drag the distribution down with requests that had a body.
 */
export function requestBodySize(req: IncomingMessage): number | undefined {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    const n = Number(length);
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  }
  return req.headers['transfer-encoding'] === undefined ? 0 : undefined;
}

/** A response's body size: what the app wrote, but 0 where HTTP sends no body whatever it wrote. */
export function responseBodySize(
  req: IncomingMessage,
  res: ServerResponse,
  written: number,
): number {
  const status = res.statusCode;
  if (req.method === 'HEAD' || status < 200 || status === 204 || status === 304) return 0;
  return written;
}

/** The two body-size histograms of one naming, recorded with the latency's attributes. */
function sizeRecorder(
  meter: Meter,
  naming: Naming,
): (
  req: IncomingMessage,
  res: ServerResponse,
  written: number,
  attributes: Attributes,
  active: Context | undefined,
) => void {
  const { requestSize, responseSize } = CATALOGUE.app;
  const request = createHistogram(meter, requestSize[naming], naming, BODY_SIZE_BUCKETS);
  const response = createHistogram(meter, responseSize[naming], naming, BODY_SIZE_BUCKETS);
  return (req, res, written, attributes, active) => {
    const size = requestBodySize(req);
    if (size !== undefined) request.record(size, attributes, active);
    response.record(responseBodySize(req, res, written), attributes, active);
  };
}

export interface RecorderDeps {
  meter: Meter;
  options: Pick<ResolvedOptions, 'naming' | 'latencyBuckets' | 'latencyHistogram'> & {
    extraLabels?: ResolvedOptions['extraLabels'];
    bodySizes?: boolean;
  };
  /** The route template, or {@link UNMATCHED_ENDPOINT}. */
  resolveEndpoint: RouteResolver;
  /** The user's labels, when configured. */
  extraLabels?: ExtraLabels;
  /** Where the exemplars of requests in sampled spans are kept, when they are. */
  exemplars?: ExemplarStore;
}

/** Creates the request instruments of the naming in `deps.options` and the function that records. */
export function createRequestRecorder(deps: RecorderDeps): RecordRequest {
  return deps.options.naming === 'semconv' ? semconvRecorder(deps) : prometheusRecorder(deps);
}

/** The label names of a request series, as the exemplar store keys it: its own, then the user's. */
/**
 * Latency exemplars sit on classic buckets: a `'native'` latency histogram has none, and its
 * requests keep exemplars on their count alone.
 */
function classicExemplars(options: RecorderDeps['options']): boolean {
  return options.latencyHistogram !== 'native';
}

function labelNamesOf(series: SeriesDef, options: RecorderDeps['options']): string[] {
  return [...series.attributes, ...(options.extraLabels?.names ?? [])];
}

/** flask_prometheus_metrics' histogram and counter, by `method`, `endpoint` and `http_status`. */
function prometheusRecorder({
  meter,
  options,
  resolveEndpoint,
  extraLabels,
  exemplars,
}: RecorderDeps): RecordRequest {
  const { requestLatency, requestCount } = CATALOGUE.app;
  const latency = createHistogram(
    meter,
    requestLatency.prometheus,
    'prometheus',
    options.latencyBuckets,
  );
  const count = createCounter(meter, requestCount.prometheus);
  const latencyExemplars = classicExemplars(options)
    ? exemplars?.histogram(
        requestLatency.prometheus.name,
        labelNamesOf(requestLatency.prometheus, options),
        options.latencyBuckets,
      )
    : undefined;
  const countExemplars = exemplars?.counter(
    requestCount.prometheus.name,
    labelNamesOf(requestCount.prometheus, options),
  );
  const sizes = options.bodySizes === true ? sizeRecorder(meter, 'prometheus') : undefined;
  return (req, res, seconds, complete, span, bodyBytes, active) => {
    const method = methodLabel(req.method);
    const endpoint = resolveEndpoint(req as IncomingMessage & ExpressRequestFields, res.statusCode);
    let timed: Attributes = { method, endpoint } satisfies TimedLabels;
    let counted: Attributes = {
      method,
      endpoint,
      http_status: statusLabel(res.statusCode, !complete),
    } satisfies CountedLabels;
    if (extraLabels !== undefined) {
      const extra = extraLabels(req, res);
      timed = { ...extra, ...timed };
      counted = { ...extra, ...counted };
    }
    latency.record(seconds, timed, active);
    count.add(1, counted, active);
    if (sizes !== undefined) sizes(req, res, bodyBytes ?? 0, timed, active);
    if (span !== undefined) {
      latencyExemplars?.offer(timed, seconds, span);
      countExemplars?.offer(counted, 1, span);
    }
  };
}

/**
 * `http.server.request.duration` alone. The conventions define no request counter: the
 * histogram's count is the number of requests, by the same attributes, so a counter would only
 * cost a second recording per request. Attributes the conventions make conditional are left out
 * when their condition does not hold: `http.route` when no route matched, the status code when
 * none was sent, `error.type` when the request did not fail.
 */
function semconvRecorder({
  meter,
  options,
  resolveEndpoint,
  extraLabels,
  exemplars,
}: RecorderDeps): RecordRequest {
  const series = CATALOGUE.app.requestLatency.semconv;
  const duration = createHistogram(meter, series, 'semconv', options.latencyBuckets);
  const durationExemplars = classicExemplars(options)
    ? exemplars?.histogram(series.name, labelNamesOf(series, options), options.latencyBuckets)
    : undefined;
  const sizes = options.bodySizes === true ? sizeRecorder(meter, 'semconv') : undefined;
  return (req, res, seconds, complete, span, bodyBytes, active) => {
    let attributes: Attributes = {
      'http.request.method': methodLabel(req.method),
      'url.scheme': urlScheme(req),
    } satisfies SemconvBase;
    const version = protocolVersion(req.httpVersion);
    if (version !== undefined) attributes[VERSION] = version;
    const route = resolveEndpoint(req as IncomingMessage & ExpressRequestFields, res.statusCode);
    if (route !== UNMATCHED_ENDPOINT) attributes[ROUTE] = route;
    if (res.headersSent) attributes[STATUS] = res.statusCode;
    const error = errorType(res.statusCode, !complete);
    if (error !== undefined) attributes[ERROR] = error;
    if (extraLabels !== undefined) attributes = { ...extraLabels(req, res), ...attributes };
    duration.record(seconds, attributes, active);
    if (sizes !== undefined) sizes(req, res, bodyBytes ?? 0, attributes, active);
    if (span !== undefined) durationExemplars?.offer(attributes, seconds, span);
  };
}
