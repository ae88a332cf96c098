import { nodeVersionParts } from '../gather/runtime.js';
import { NODEJS_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/** `nodejs_version_info`: the counterpart of the seed's `python_info`. */
export const nodejsVersionCollector: Collector = {
  name: 'nodejs-version',
  group: 'runtime',
  start(ctx) {
    const gauge = ctx.meter.createObservableGauge(NODEJS_METRICS.versionInfo, {
      description: 'Node.js version info; always 1.',
    });
    const attributes = nodeVersionParts(process.version);
    return observeBatch(ctx, [gauge], (result) => result.observe(gauge, 1, attributes));
  },
};
