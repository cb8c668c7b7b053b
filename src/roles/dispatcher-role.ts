import { Dispatcher } from '../dispatcher/dispatcher';
import type { Metrics } from '../observability/metrics';
import type { Services } from '../runtime/services';
import type { Role } from './role';

/** Watches `webhook_events` and starts one workflow per event until stopped. */
export async function startDispatcherRole(services: Services, metrics?: Metrics): Promise<Role> {
  const dispatcher = new Dispatcher({
    db: services.mongo.db,
    client: services.temporal,
    taskQueue: services.config.TEMPORAL_TASK_QUEUE,
    logger: services.logger.child({ role: 'dispatcher' }),
    onStarted: metrics ? (_event, lagMs) => metrics.observeDispatchLag(lagMs) : undefined,
  });
  await dispatcher.start();
  services.logger.info('dispatcher running');
  return { name: 'dispatcher', stop: () => dispatcher.stop() };
}
