import { INSTRUMENTS, LABELS } from '../names.js';
import { observeBatch, type Collector } from './collector.js';

/** `app_version_info`: the counterpart of the seed's gauge, 1 with the version and config labels. */
export const appInfoCollector: Collector = {
  name: 'app-info',
  start(ctx) {
    const gauge = ctx.meter.createObservableGauge(INSTRUMENTS.versionInfo, {
      description: 'Application version and config; always 1.',
    });
    const attributes = {
      [LABELS.version]: ctx.options.appVersion,
      [LABELS.config]: ctx.options.appConfig,
    };
    return observeBatch(ctx, [gauge], (result) => result.observe(gauge, 1, attributes));
  },
};
