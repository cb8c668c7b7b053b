import { Client } from '@temporalio/client';
import { Dispatcher } from '../dispatcher/dispatcher';
import type { Metrics } from '../observability/metrics';
import type { Services } from '../runtime/services';
import type { Role } from './role';

/** Watches `webhook_events` and starts one workflow per event until stopped. */
export async function startDispatcherRole(services: Services, metrics?: Metrics, started: readonly Role[] = []): Promise<Role> {
  // Next to a worker in the same process, start workflows through its connection so
  // the server can hand the first workflow task straight to it (eager start).
  const workerConnection = started.find((role) => role.workerConnection)?.workerConnection;
  const client = workerConnection
    ? new Client({ connection: workerConnection, namespace: services.config.TEMPORAL_NAMESPACE })
    : services.temporal;
  const dispatcher = new Dispatcher({
    db: services.mongo.db,
    client,
    eagerStart: workerConnection !== undefined,
    taskQueue: services.config.TEMPORAL_TASK_QUEUE,
    logger: services.logger.child({ role: 'dispatcher' }),
    onStarted: metrics ? (_event, lagMs) => metrics.observeDispatchLag(lagMs) : undefined,
    // The worker beside it then reads each event from memory instead of MongoDB.
    recentEvents: workerConnection ? services.recentEvents : undefined,
  });
  await dispatcher.start();
  services.logger.info({ eagerStart: workerConnection !== undefined }, 'dispatcher running');
  return { name: 'dispatcher', stop: () => dispatcher.stop() };
}
