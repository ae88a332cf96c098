/**
 * One record per series the package emits: its names in both namings, kind, unit, description,
 * labels, the options that shape its Views, and how a cluster's primary merges it. The Views
 * (`views.ts`), the collectors' instruments (`instruments.ts`), the cluster's merge rules
 * (`names.ts`' `CLUSTER_GAUGE_MERGE`, read by `cluster/merge.ts`), the public name constants
 * (`names.ts`) and the README's tables (through their test) are all read from here, so a series
 * is renamed or added here or nowhere. The file is long because it is a table of some thirty
 * records; split, it would be several places to look again.
 */

import {
  ENDPOINT_LABELS,
  LABELS,
  RUNTIME_LABELS,
  SEMCONV_ATTRIBUTES,
  SEMCONV_REQUEST_ATTRIBUTES,
} from './labels.js';

/** The kinds of instrument, as Prometheus tells them apart (`updown` is a gauge to it). */
export type InstrumentKind = 'counter' | 'updown' | 'gauge' | 'histogram';

/**
 * How the primary combines a series that every process reports, in cluster mode:
 * - `total`: added up, and what a worker counted stays in the total after it exits, so a counter
 *   never goes down (every counter and histogram);
 * - `sum`: added up over the live processes, the primary included (memory, descriptors, handles);
 * - `once`: each distinct label set once, with its value (the info series);
 * - `worker`: one series per process, labelled `worker` (everything that is per process by
 *   nature: start time, limits, event-loop delay and utilization; also any gauge not listed here).
 */
export type ClusterMerge = 'total' | 'sum' | 'once' | 'worker';

/**
 * The naming schemes of option `naming`: flask_prometheus_metrics' Prometheus names, or
 * OpenTelemetry's semantic conventions.
 */
export const NAMINGS = ['prometheus', 'semconv'] as const;

export type Naming = (typeof NAMINGS)[number];

/** The meter every instrument of the package is created on. */
export const METER_NAME = 'express-otel-metrics' as const;

/** The meter of OpenTelemetry's host metrics instrumentation, one instrument of which is renamed. */
export const HOST_METRICS_METER = '@opentelemetry/instrumentation-host-metrics' as const;

/** One series in one naming. */
export interface SeriesDef {
  /** The name the exposition shows, before the `_total` of a counter. */
  readonly name: string;
  /** The name it is recorded under, when a View renames it to `name`. */
  readonly instrument?: string;
  /** The meter that records it, when not the package's own. */
  readonly meter?: string;
  readonly kind: InstrumentKind;
  /** UCUM, as OpenTelemetry writes units; '' for none. */
  readonly unit: string;
  readonly description: string;
  /** Its labels (attribute keys), in the order they are recorded. */
  readonly attributes: readonly string[];
  /**
   * The option that gives a histogram its buckets, or `'bodySizeBuckets'`, the fixed
   * `BODY_SIZE_BUCKETS` of `options/defaults.ts`.
   */
  readonly buckets?: 'latencyBuckets' | 'gcDurationBuckets' | 'bodySizeBuckets';
  /** Recorded with request data: its series are bounded by `cardinalityLimit`. */
  readonly limited?: true;
  /** Recorded once or rarely: a View keeps exactly its `attributes`, against a stray one. */
  readonly allowList?: true;
}

/** A series of the semantic-convention naming, under its key in `SEMCONV_METRICS`. */
export interface SemconvDef extends SeriesDef {
  readonly key: string;
}

export interface CatalogueEntry {
  readonly prometheus: SeriesDef;
  /**
   * Its series in the semantic-convention naming: one of its own; `'kept'` when the conventions
   * describe none, so that it keeps its Prometheus name (a dotted name of ours under `process.`,
   * `v8js.` or `nodejs.` would squat on a namespace the conventions own); or `{ in: key }` when the
   * series of another entry carries it too (as a sum over an attribute, or as a histogram's count).
   */
  readonly semconv: SemconvDef | 'kept' | { readonly in: string };
  readonly merge: ClusterMerge;
}

/** The seven statistics of the event-loop lag, one gauge each. */
function lag<S extends string, K extends string>(stat: S, key: K, what: string) {
  const description = `${what} of the event-loop lag since the previous collection, in seconds.`;
  return {
    prometheus: {
      name: `nodejs_eventloop_lag_${stat}_seconds`,
      kind: 'gauge',
      unit: 's',
      description,
      attributes: [],
    },
    semconv: {
      key,
      name: `nodejs.eventloop.delay.${stat}`,
      kind: 'gauge',
      unit: 's',
      description,
      attributes: [],
    },
    merge: 'worker',
  } as const;
}

export const CATALOGUE = {
  /** The request series and the app's version: flask_prometheus_metrics' three. */
  app: {
    requestLatency: {
      prometheus: {
        name: 'app_request_latency_seconds',
        instrument: 'app_request_latency',
        kind: 'histogram',
        unit: 's',
        description: 'Application request latency.',
        attributes: [LABELS.method, LABELS.endpoint],
        buckets: 'latencyBuckets',
        limited: true,
      },
      semconv: {
        key: 'requestDuration',
        name: 'http.server.request.duration',
        kind: 'histogram',
        unit: 's',
        description: 'Duration of HTTP server requests.',
        attributes: SEMCONV_REQUEST_ATTRIBUTES,
        buckets: 'latencyBuckets',
        limited: true,
      },
      merge: 'total',
    },
    requestCount: {
      prometheus: {
        name: 'app_request_count',
        kind: 'counter',
        unit: '',
        description: 'Application request count.',
        attributes: [LABELS.method, LABELS.endpoint, LABELS.httpStatus],
        limited: true,
      },
      // The conventions define no request counter: the histogram's count is the number of requests.
      semconv: { in: 'requestDuration' },
      merge: 'total',
    },
    // The next three are recorded only with their options (`inFlight`, `bodySizes`), so that the
    // request path of the defaults is flask_prometheus_metrics' three series and nothing more.
    requestsInFlight: {
      prometheus: {
        name: 'app_requests_in_flight',
        kind: 'updown',
        unit: '',
        description: 'Requests being handled now.',
        attributes: [LABELS.method],
        limited: true,
      },
      semconv: {
        key: 'activeRequests',
        name: 'http.server.active_requests',
        kind: 'updown',
        unit: '{request}',
        description: 'Number of active HTTP server requests.',
        attributes: [SEMCONV_ATTRIBUTES.httpRequestMethod, SEMCONV_ATTRIBUTES.urlScheme],
        limited: true,
      },
      // What is in flight in a worker that died is not in flight anywhere: not a total.
      merge: 'sum',
    },
    requestSize: {
      prometheus: {
        name: 'app_request_size_bytes',
        instrument: 'app_request_size',
        kind: 'histogram',
        unit: 'By',
        description: 'Application request body size, from Content-Length.',
        attributes: [LABELS.method, LABELS.endpoint],
        buckets: 'bodySizeBuckets',
        limited: true,
      },
      semconv: {
        key: 'requestBodySize',
        name: 'http.server.request.body.size',
        kind: 'histogram',
        unit: 'By',
        description: 'Size of HTTP server request bodies.',
        attributes: SEMCONV_REQUEST_ATTRIBUTES,
        buckets: 'bodySizeBuckets',
        limited: true,
      },
      merge: 'total',
    },
    responseSize: {
      prometheus: {
        name: 'app_response_size_bytes',
        instrument: 'app_response_size',
        kind: 'histogram',
        unit: 'By',
        description: 'Application response body size.',
        attributes: [LABELS.method, LABELS.endpoint],
        buckets: 'bodySizeBuckets',
        limited: true,
      },
      semconv: {
        key: 'responseBodySize',
        name: 'http.server.response.body.size',
        kind: 'histogram',
        unit: 'By',
        description: 'Size of HTTP server response bodies.',
        attributes: SEMCONV_REQUEST_ATTRIBUTES,
        buckets: 'bodySizeBuckets',
        limited: true,
      },
      merge: 'total',
    },
    versionInfo: {
      prometheus: {
        name: 'app_version_info',
        kind: 'gauge',
        unit: '',
        description: 'Application version and config; always 1.',
        attributes: [LABELS.version, LABELS.config],
        allowList: true,
      },
      semconv: 'kept',
      merge: 'once',
    },
  },
  /** The metrics endpoint's series about itself. */
  endpoint: {
    scrapesRejected: {
      prometheus: {
        name: 'app_scrapes_rejected',
        kind: 'counter',
        unit: '',
        description:
          'Scrapes answered 503 because a limit on scrapes in flight was reached, by the limit.',
        attributes: [ENDPOINT_LABELS.limit],
      },
      semconv: 'kept',
      merge: 'total',
    },
  },
  /** A cluster primary's series about the workers it gathers from. */
  cluster: {
    workers: {
      prometheus: {
        name: 'app_cluster_workers',
        kind: 'gauge',
        unit: '',
        description: 'Live cluster workers that report metrics.',
        attributes: [],
      },
      semconv: 'kept',
      merge: 'once',
    },
    unresponsive: {
      prometheus: {
        name: 'app_cluster_workers_unresponsive',
        kind: 'gauge',
        unit: '',
        description:
          'Cluster workers that did not answer this scrape in time; their counters are served as last reported.',
        attributes: [],
      },
      semconv: 'kept',
      merge: 'once',
    },
  },
  /** Process series: the names every Prometheus client library uses. */
  process: {
    cpuSeconds: {
      prometheus: {
        name: 'process_cpu_seconds',
        kind: 'counter',
        unit: 's',
        description: 'Total user and system CPU time spent in seconds.',
        attributes: [],
      },
      semconv: {
        key: 'cpuTime',
        name: 'process.cpu.time',
        kind: 'counter',
        unit: 's',
        description: 'Total CPU seconds broken down by different CPU modes.',
        attributes: [SEMCONV_ATTRIBUTES.cpuMode],
      },
      merge: 'total',
    },
    cpuUserSeconds: {
      prometheus: {
        name: 'process_cpu_user_seconds',
        kind: 'counter',
        unit: 's',
        description: 'Total user CPU time spent in seconds.',
        attributes: [],
      },
      semconv: { in: 'cpuTime' },
      merge: 'total',
    },
    cpuSystemSeconds: {
      prometheus: {
        name: 'process_cpu_system_seconds',
        kind: 'counter',
        unit: 's',
        description: 'Total system CPU time spent in seconds.',
        attributes: [],
      },
      semconv: { in: 'cpuTime' },
      merge: 'total',
    },
    residentMemory: {
      // Host metrics records it; a View gives it the standard name.
      prometheus: {
        name: 'process_resident_memory_bytes',
        instrument: 'process.memory.usage',
        meter: HOST_METRICS_METER,
        kind: 'gauge',
        unit: '',
        description: 'Resident memory size in bytes.',
        attributes: [],
      },
      semconv: {
        key: 'memoryUsage',
        name: 'process.memory.usage',
        kind: 'updown',
        unit: 'By',
        description: 'The amount of physical memory in use.',
        attributes: [],
      },
      merge: 'sum',
    },
    virtualMemory: {
      prometheus: {
        name: 'process_virtual_memory_bytes',
        kind: 'gauge',
        unit: 'By',
        description: 'Virtual memory size in bytes.',
        attributes: [],
      },
      semconv: {
        key: 'memoryVirtual',
        name: 'process.memory.virtual',
        kind: 'updown',
        unit: 'By',
        description: 'The amount of committed virtual memory.',
        attributes: [],
      },
      merge: 'sum',
    },
    startTime: {
      prometheus: {
        name: 'process_start_time_seconds',
        kind: 'gauge',
        unit: 's',
        description: 'Start time of the process since unix epoch in seconds.',
        attributes: [],
      },
      semconv: {
        key: 'uptime',
        name: 'process.uptime',
        kind: 'gauge',
        unit: 's',
        description: 'The time the process has been running.',
        attributes: [],
      },
      merge: 'worker',
    },
    openFds: {
      prometheus: {
        name: 'process_open_fds',
        kind: 'gauge',
        unit: '',
        description: 'Number of open file descriptors.',
        attributes: [],
      },
      semconv: {
        key: 'fileDescriptorCount',
        name: 'process.unix.file_descriptor.count',
        kind: 'updown',
        unit: '{file_descriptor}',
        description: 'Number of UNIX file descriptors in use by the process.',
        attributes: [],
      },
      merge: 'sum',
    },
    maxFds: {
      prometheus: {
        name: 'process_max_fds',
        kind: 'gauge',
        unit: '',
        description: 'Maximum number of open file descriptors.',
        attributes: [],
      },
      semconv: 'kept',
      merge: 'worker',
    },
  },
  /** Node.js runtime series: the counterparts of flask_prometheus_metrics' `python_*`. */
  nodejs: {
    versionInfo: {
      prometheus: {
        name: 'nodejs_version_info',
        kind: 'gauge',
        unit: '',
        description: 'Node.js version info; always 1.',
        attributes: [
          RUNTIME_LABELS.version,
          RUNTIME_LABELS.major,
          RUNTIME_LABELS.minor,
          RUNTIME_LABELS.patch,
        ],
      },
      semconv: 'kept',
      merge: 'once',
    },
    gcDuration: {
      prometheus: {
        name: 'nodejs_gc_duration_seconds',
        kind: 'histogram',
        unit: 's',
        description: 'Garbage collection duration by kind, in seconds.',
        attributes: [RUNTIME_LABELS.kind],
        buckets: 'gcDurationBuckets',
        allowList: true,
      },
      semconv: {
        key: 'gcDuration',
        name: 'v8js.gc.duration',
        kind: 'histogram',
        unit: 's',
        description: 'Garbage collection duration.',
        attributes: [SEMCONV_ATTRIBUTES.gcType],
        buckets: 'gcDurationBuckets',
        allowList: true,
      },
      merge: 'total',
    },
    eventLoopLagMin: lag('min', 'eventLoopDelayMin', 'Minimum'),
    eventLoopLagMax: lag('max', 'eventLoopDelayMax', 'Maximum'),
    eventLoopLagMean: lag('mean', 'eventLoopDelayMean', 'Mean'),
    eventLoopLagStddev: lag('stddev', 'eventLoopDelayStddev', 'Standard deviation'),
    eventLoopLagP50: lag('p50', 'eventLoopDelayP50', 'Median'),
    eventLoopLagP90: lag('p90', 'eventLoopDelayP90', '90th percentile'),
    eventLoopLagP99: lag('p99', 'eventLoopDelayP99', '99th percentile'),
    eventLoopUtilization: {
      prometheus: {
        name: 'nodejs_eventloop_utilization_ratio',
        kind: 'gauge',
        unit: '1',
        description: 'Share of time the event loop was busy since the previous collection (0..1).',
        attributes: [],
      },
      semconv: {
        key: 'eventLoopUtilization',
        name: 'nodejs.eventloop.utilization',
        kind: 'gauge',
        unit: '1',
        description: 'Share of time the event loop was busy since the previous collection (0..1).',
        attributes: [],
      },
      merge: 'worker',
    },
    heapSizeTotal: {
      prometheus: {
        name: 'nodejs_heap_size_total_bytes',
        kind: 'gauge',
        unit: 'By',
        description: 'Process heap size from V8 in bytes.',
        attributes: [],
      },
      semconv: { in: 'heapSpaceSize' },
      merge: 'sum',
    },
    heapSizeUsed: {
      prometheus: {
        name: 'nodejs_heap_size_used_bytes',
        kind: 'gauge',
        unit: 'By',
        description: 'Process heap size used from V8 in bytes.',
        attributes: [],
      },
      semconv: { in: 'heapUsed' },
      merge: 'sum',
    },
    externalMemory: {
      prometheus: {
        name: 'nodejs_external_memory_bytes',
        kind: 'gauge',
        unit: 'By',
        description: 'V8 external memory size in bytes.',
        attributes: [],
      },
      semconv: 'kept',
      merge: 'sum',
    },
    heapSpaceSizeTotal: {
      prometheus: {
        name: 'nodejs_heap_space_size_total_bytes',
        kind: 'gauge',
        unit: 'By',
        description: 'Size of each V8 heap space in bytes.',
        attributes: [RUNTIME_LABELS.space],
      },
      semconv: {
        key: 'heapSpaceSize',
        name: 'v8js.memory.heap.space.size',
        kind: 'updown',
        unit: 'By',
        description: 'Total heap memory size pre-allocated for a heap space.',
        attributes: [SEMCONV_ATTRIBUTES.heapSpaceName],
      },
      merge: 'sum',
    },
    heapSpaceSizeUsed: {
      prometheus: {
        name: 'nodejs_heap_space_size_used_bytes',
        kind: 'gauge',
        unit: 'By',
        description: 'Used size of each V8 heap space in bytes.',
        attributes: [RUNTIME_LABELS.space],
      },
      semconv: {
        key: 'heapUsed',
        name: 'v8js.memory.heap.used',
        kind: 'updown',
        unit: 'By',
        description: 'Heap Memory size allocated.',
        attributes: [SEMCONV_ATTRIBUTES.heapSpaceName],
      },
      merge: 'sum',
    },
    heapSpaceSizeAvailable: {
      prometheus: {
        name: 'nodejs_heap_space_size_available_bytes',
        kind: 'gauge',
        unit: 'By',
        description: 'Available size of each V8 heap space in bytes.',
        attributes: [RUNTIME_LABELS.space],
      },
      semconv: {
        key: 'heapSpaceAvailableSize',
        name: 'v8js.memory.heap.space.available_size',
        kind: 'updown',
        unit: 'By',
        description: 'Heap space available size.',
        attributes: [SEMCONV_ATTRIBUTES.heapSpaceName],
      },
      merge: 'sum',
    },
    activeResources: {
      prometheus: {
        name: 'nodejs_active_resources',
        kind: 'gauge',
        unit: '',
        description: 'Resources keeping the event loop alive, by type.',
        attributes: [RUNTIME_LABELS.type],
      },
      semconv: {
        key: 'resourceActive',
        name: 'v8js.resource.active',
        kind: 'gauge',
        unit: '{resource}',
        description:
          'Gauge of the active resources that are currently keeping the event loop alive.',
        attributes: [SEMCONV_ATTRIBUTES.resourceType],
      },
      merge: 'sum',
    },
  },
} as const satisfies Record<string, Record<string, CatalogueEntry>>;

/** Every entry of the catalogue, in its order. */
export const ENTRIES: readonly CatalogueEntry[] = Object.values(CATALOGUE).flatMap(
  (group): CatalogueEntry[] => Object.values(group),
);

/** The series an entry has in `naming`, if one of its own (not a part of another entry's). */
export function seriesOf(entry: CatalogueEntry, naming: Naming): SeriesDef | undefined {
  if (naming === 'prometheus' || entry.semconv === 'kept') return entry.prometheus;
  return 'in' in entry.semconv ? undefined : entry.semconv;
}
