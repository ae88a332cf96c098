import { CATALOGUE } from '../catalogue.js';
import { countByType } from '../platform/runtime.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

/**
 * `nodejs_active_resources{type}`, from the public `process.getActiveResourcesInfo()` (the handle
 * and request lists other exporters read are private APIs). The types are Node's own names, a
 * small fixed set. The semantic conventions call it `v8js.resource.active{v8js.resource.type}`.
 */
export const activeResourcesCollector: Collector = {
  name: 'active-resources',
  group: 'runtime',
  start(ctx) {
    const { instrument, series } = observableOf(ctx, CATALOGUE.nodejs.activeResources);
    const [key = ''] = series.attributes;
    return observeBatch(ctx, [instrument], (result) => {
      for (const [type, count] of countByType(process.getActiveResourcesInfo())) {
        result.observe(instrument, count, { [key]: type });
      }
    });
  },
};
