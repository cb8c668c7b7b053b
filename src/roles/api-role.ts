import { buildApp } from '../api/app';
import type { Metrics } from '../observability/metrics';
import type { Services } from '../runtime/services';
import type { Role } from './role';

/** Serves the REST API on HOST:PORT until stopped; in-flight requests finish first. */
export async function startApiRole(services: Services, metrics?: Metrics): Promise<Role> {
  const { config, logger } = services;
  const app = await buildApp({
    db: services.mongo.db,
    box: services.box,
    temporal: services.temporal,
    config,
    logger,
    metrics,
  });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  logger.info({ address, docs: `${address}/docs` }, 'api listening');
  return { name: 'api', stop: () => app.close() };
}
