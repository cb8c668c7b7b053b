import { hostname } from 'node:os';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig, type Config } from '../../config/env';
import { StartupError } from '../../runtime/startup-error';
import { MongoClient } from 'mongodb';
import { countStalePendingEvents } from '../../store/event-store';

/**
 * `hookrelay healthcheck api|worker|dispatcher`: a container health check for one role,
 * run inside the role's container (docker-compose uses it). Prints one line; exits 0
 * when healthy, 1 when not.
 *
 *   api         GET /readyz on HOST:PORT answers 200 (MongoDB and Temporal reachable)
 *   worker      a worker of this host polls TEMPORAL_TASK_QUEUE (Temporal saw it recently)
 *   dispatcher  MongoDB answers and no event has waited in `pending` longer than it should
 */

const TIMEOUT_MS = 8_000;
/** Workers long-poll for about a minute; one not seen for this long is gone or stuck. */
export const WORKER_SEEN_WITHIN_MS = 3 * 60_000;
/** The dispatcher starts new events at once and sweeps leftovers after 10 s; older pending events mean it is stuck. */
export const PENDING_TOO_LONG_MS = 2 * 60_000;

type Check = (config: Config) => Promise<string>;

class Unhealthy extends Error {}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unhealthy(`${what} did not answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const checkApi: Check = async (config) => {
  const host = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST === '::' ? '[::1]' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${config.PORT}/readyz`;
  const response = await withTimeout(fetch(url), url);
  const body = await response.text();
  if (response.status !== 200) throw new Unhealthy(`${url} answered ${response.status}: ${body.slice(0, 300)}`);
  return `api ready (${url})`;
};

const checkWorker: Check = async (config) => {
  const connection = await withTimeout(Connection.connect({ address: config.TEMPORAL_ADDRESS, connectTimeout: TIMEOUT_MS }), 'Temporal');
  try {
    // The SDK's default worker identity is "<pid>@<hostname>": pollers of this container end in "@<hostname>".
    const suffix = `@${hostname()}`;
    const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = temporal.api.enums.v1.TaskQueueType;
    const seen: string[] = [];
    for (const taskQueueType of [TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY]) {
      const { pollers } = await withTimeout(
        connection.workflowService.describeTaskQueue({
          namespace: config.TEMPORAL_NAMESPACE,
          taskQueue: { name: config.TEMPORAL_TASK_QUEUE },
          taskQueueType,
        }),
        'Temporal',
      );
      const recent = (pollers ?? []).filter((poller) => {
        const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
        return poller.identity?.endsWith(suffix) && Date.now() - seconds * 1000 < WORKER_SEEN_WITHIN_MS;
      });
      if (recent.length === 0) {
        const kind = taskQueueType === TASK_QUEUE_TYPE_WORKFLOW ? 'workflow' : 'activity';
        throw new Unhealthy(`no worker of ${hostname()} polled the ${kind} task queue "${config.TEMPORAL_TASK_QUEUE}" in the last ${WORKER_SEEN_WITHIN_MS / 60_000} minutes`);
      }
      seen.push(...recent.map((poller) => poller.identity!));
    }
    return `worker polling "${config.TEMPORAL_TASK_QUEUE}" (${[...new Set(seen)].join(', ')})`;
  } finally {
    await connection.close().catch(() => undefined);
  }
};

const checkDispatcher: Check = async (config) => {
  if (!config.MONGODB_URL) throw new Unhealthy('MONGODB_URL is not set');
  // A plain client: a health check must not create indexes or write anything.
  const client = new MongoClient(config.MONGODB_URL, { serverSelectionTimeoutMS: TIMEOUT_MS, appName: 'hookrelay-healthcheck' });
  try {
    await withTimeout(client.connect(), 'MongoDB');
    const olderThan = new Date(Date.now() - PENDING_TOO_LONG_MS);
    const stuck = await withTimeout(
      countStalePendingEvents(client.db(config.MONGODB_DB), olderThan),
      'MongoDB',
    );
    if (stuck > 0) {
      throw new Unhealthy(`${stuck} event(s) pending for more than ${PENDING_TOO_LONG_MS / 1000} s: workflows are not being started (is Temporal reachable?)`);
    }
    return 'dispatcher: MongoDB reachable, no event waiting too long';
  } finally {
    await client.close();
  }
};

const CHECKS: Record<string, Check> = { api: checkApi, worker: checkWorker, dispatcher: checkDispatcher };

export async function healthcheckCommand(args: string[]): Promise<void> {
  const [role, ...rest] = args;
  const check = role ? CHECKS[role] : undefined;
  if (!check || rest.length > 0) throw new StartupError(`usage: hookrelay healthcheck ${Object.keys(CHECKS).join('|')}`);
  const config = loadConfig();
  try {
    console.log(`healthy: ${await check(config)}`);
  } catch (error) {
    console.log(`unhealthy: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
