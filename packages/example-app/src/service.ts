/** The example's `service.name` when `OTEL_SERVICE_NAME` does not give one. */
export const SERVICE_NAME = 'example-app';
