import type { Metrics } from '../observability/metrics';
import { startMetricsServer } from '../observability/metrics-server';
import type { Services } from '../runtime/services';
import type { Role } from './role';

/**
 * `GET /metrics` on HOST:HOOKRELAY_METRICS_PORT for a worker or dispatcher process,
 * which has no API to serve its registry; nothing when the port is not set.
 */
export async function startMetricsRole(services: Services, metrics: Metrics): Promise<Role> {
  const { config, logger } = services;
  if (config.HOOKRELAY_METRICS_PORT === undefined) return { name: 'metrics', stop: async () => undefined };
  const server = await startMetricsServer(metrics.registry, config.HOST, config.HOOKRELAY_METRICS_PORT);
  logger.info({ address: `${server.url}/metrics` }, 'metrics listening');
  return { name: 'metrics', stop: () => server.close() };
}
