import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { closeChannelSenders, createChannelSenders } from '../delivery/channel-senders';
import { createEndpointBreaker } from '../delivery/endpoint-breaker';
import { createEndpointLimiter } from '../delivery/endpoint-limiter';
import { createHttpTransport } from '../delivery/http-transport';
import type { Metrics } from '../observability/metrics';
import type { Services } from '../runtime/services';
import { parseCidrList } from '../security/ssrf';
import { createTurnNotifier } from '../temporal/delivery-turns';
import { sdkSkipsWatchdogWithoutLimit } from '../temporal/sandbox-limit';
import { ensureSearchAttributes } from '../temporal/search-attribute-registry';
import { createHookrelayWorker, ReceiverWaits } from '../temporal/worker';
import { loadWorkflowBundle } from '../temporal/workflow-bundle';
import { USER_AGENT } from '../version';
import type { Role } from './role';

/** Runs deliverEvent workflows and their activities until stopped. */
export async function startWorkerRole(services: Services, metrics?: Metrics): Promise<Role> {
  const { config, logger } = services;
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const registered = await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
  if (registered.length > 0) logger.info({ registered }, 'registered search attributes');
  const transport = createHttpTransport({
    allowHttp: config.HOOKRELAY_ALLOW_HTTP,
    allowedCidrs: parseCidrList(config.HOOKRELAY_ALLOWED_CIDRS),
    userAgent: USER_AGENT,
    // No pool limit: HOOKRELAY_ENDPOINT_CONCURRENCY bounds each endpoint and the worker's
    // slots bound the whole. A limit per origin would make the many endpoints behind one
    // origin (every Slack channel is on hooks.slack.com) queue for connections, with
    // their attempt timeouts running meanwhile.
    connectionsPerOrigin: null,
  });
  const senders = createChannelSenders({ config, transport, box: services.box, userAgent: USER_AGENT, db: services.mongo.db });
  const receiverWaits = new ReceiverWaits();
  if (config.HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS === 0 && !sdkSkipsWatchdogWithoutLimit()) {
    logger.warn(
      'the Temporal SDK is installed without patches/ (npm ci applies them): each call into the workflow sandbox still starts a watchdog thread',
    );
  }
  const worker = await createHookrelayWorker({
    connection,
    receiverWaits,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundle: await loadWorkflowBundle(),
    workflowSandboxTimeoutMs: config.HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS,
    activities: createActivities({
      db: services.mongo.db,
      box: services.box,
      senders,
      limiter: createEndpointLimiter(config.HOOKRELAY_ENDPOINT_CONCURRENCY),
      notifyTurn: createTurnNotifier(services.temporal),
      breaker: createEndpointBreaker(config.HOOKRELAY_BREAKER_FAILURES),
      receiverWaits,
      events: services.recentEvents,
      onAttempt: metrics?.observeAttempt,
    }),
  });
  const running = worker.run();
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker running');
  return {
    name: 'worker',
    done: running,
    workerConnection: connection,
    async stop() {
      // In-flight attempts finish; anything left is picked up again by Temporal.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await closeChannelSenders(senders);
      await transport.close();
      await connection.close();
    },
  };
}
