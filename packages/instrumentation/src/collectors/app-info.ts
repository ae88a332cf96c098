import { INSTRUMENTS, LABELS } from '../names.js';
import type { Collector } from './collector.js';

/** `app_version_info`: the counterpart of the seed's gauge, 1 with the version and config labels. */
export const appInfoCollector: Collector = {
  name: 'app-info',
  start(meter, options) {
    const gauge = meter.createObservableGauge(INSTRUMENTS.versionInfo, {
      description: 'Application version and config; always 1.',
    });
    const attributes = { [LABELS.version]: options.appVersion, [LABELS.config]: options.appConfig };
    const callback = (result: { observe(value: number, attrs: typeof attributes): void }): void => {
      result.observe(1, attributes);
    };
    gauge.addCallback(callback);
    return () => gauge.removeCallback(callback);
  },
};
