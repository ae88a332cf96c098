import { CATALOGUE } from '../catalogue.js';
import { nodeVersionParts } from '../platform/runtime.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

/** `nodejs_version_info`: the counterpart of flask_prometheus_metrics' `python_info`. */
export const nodejsVersionCollector: Collector = {
  name: 'nodejs-version',
  group: 'runtime',
  start(ctx) {
    const { instrument } = observableOf(ctx, CATALOGUE.nodejs.versionInfo);
    const attributes = nodeVersionParts(process.version);
    return observeBatch(ctx, [instrument], (result) => result.observe(instrument, 1, attributes));
  },
};
