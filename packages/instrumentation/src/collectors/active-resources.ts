import { countByType } from '../gather/runtime.js';
import { NODEJS_METRICS, RUNTIME_LABELS, SEMCONV_ATTRIBUTES, SEMCONV_METRICS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/**
 * `nodejs_active_resources{type}`, from the public `process.getActiveResourcesInfo()` (the handle
 * and request lists other exporters read are private APIs). The types are Node's own names, a
 * small fixed set. The semantic conventions call it `v8js.resource.active{v8js.resource.type}`.
 */
export const activeResourcesCollector: Collector = {
  name: 'active-resources',
  group: 'runtime',
  start(ctx) {
    const semconv = ctx.options.naming === 'semconv';
    const gauge = semconv
      ? ctx.meter.createObservableGauge(SEMCONV_METRICS.resourceActive, {
          description:
            'Gauge of the active resources that are currently keeping the event loop alive.',
          unit: '{resource}',
        })
      : ctx.meter.createObservableGauge(NODEJS_METRICS.activeResources, {
          description: 'Resources keeping the event loop alive, by type.',
        });
    const key = semconv ? SEMCONV_ATTRIBUTES.resourceType : RUNTIME_LABELS.type;
    return observeBatch(ctx, [gauge], (result) => {
      for (const [type, count] of countByType(process.getActiveResourcesInfo())) {
        result.observe(gauge, count, { [key]: type });
      }
    });
  },
};
