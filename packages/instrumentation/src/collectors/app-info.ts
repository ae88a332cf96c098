import { CATALOGUE } from '../catalogue.js';
import { LABELS } from '../labels.js';
import { observableOf, observeBatch, type Collector } from './collector.js';

/** `app_version_info`: flask_prometheus_metrics' gauge, 1 with the version and config labels. */
export const appInfoCollector: Collector = {
  name: 'app-info',
  start(ctx) {
    const { instrument } = observableOf(ctx, CATALOGUE.app.versionInfo);
    const attributes = {
      [LABELS.version]: ctx.options.appVersion,
      [LABELS.config]: ctx.options.appConfig,
    };
    return observeBatch(ctx, [instrument], (result) => result.observe(instrument, 1, attributes));
  },
};
