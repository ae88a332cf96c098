import { randomUUID } from 'node:crypto';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceNameEnvDetector,
  type Resource,
} from '@opentelemetry/resources';

/** The resource attribute that tells instances of one service apart (semantic conventions). */
const SERVICE_INSTANCE_ID = 'service.instance.id';
const SERVICE_NAME = 'service.name';

let instanceId: string | undefined;

/**
 * One id per process, made on first use: two registrations in one process (two apps, a test
 * suite) describe the same running instance, and a backend must not count it twice.
 */
function processInstanceId(): string {
  instanceId ??= randomUUID();
  return instanceId;
}

/**
 * What the package's own provider says about the app, which OTLP carries with every export and the
 * Prometheus side shows only in `target_info` (option `targetInfo`): the SDK's defaults, a
 * `service.instance.id`, then `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME`, then option
 * `serviceName`, each merge winning over the one before, so the variables can set the instance id
 * too.
 */
export function createResource(serviceName?: string): Resource {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [SERVICE_INSTANCE_ID]: processInstanceId() }))
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }));
  return serviceName === undefined
    ? resource
    : resource.merge(resourceFromAttributes({ [SERVICE_NAME]: serviceName }));
}
