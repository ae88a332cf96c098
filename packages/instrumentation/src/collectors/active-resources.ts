import { countByType } from '../gather/runtime.js';
import { NODEJS_METRICS, RUNTIME_LABELS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/**
 * `nodejs_active_resources{type}`, from the public `process.getActiveResourcesInfo()` (the handle
 * and request lists other exporters read are private APIs). The types are Node's own names, a
 * small fixed set.
 */
export const activeResourcesCollector: Collector = {
  name: 'active-resources',
  group: 'runtime',
  start(ctx) {
    const gauge = ctx.meter.createObservableGauge(NODEJS_METRICS.activeResources, {
      description: 'Resources keeping the event loop alive, by type.',
    });
    return observeBatch(ctx, [gauge], (result) => {
      for (const [type, count] of countByType(process.getActiveResourcesInfo())) {
        result.observe(gauge, count, { [RUNTIME_LABELS.type]: type });
      }
    });
  },
};
