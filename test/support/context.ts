import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { MongoClient, type Db } from 'mongodb';
import { inject } from 'vitest';
import { createActivities, type ActivityDependencies } from '../../activities';
import { parseCidrList } from '../../src/security/ssrf';
import { createHttpTransport, type HttpTransport } from '../../src/delivery/http-transport';
import { AttemptSlots } from '../../src/delivery/attempt-slots';
import { createEndpointLimiter } from '../../src/delivery/endpoint-limiter';
import { createEndpointBreaker } from '../../src/delivery/endpoint-breaker';
import { closeChannelSenders, createChannelSenders, type ChannelSenders } from '../../src/delivery/channel-senders';
import { loadConfig, type Config } from '../../src/config/env';
import { createSecretBox, generateEncryptionKey, type SecretBox } from '../../src/security/secret-box';
import { ensureIndexes } from '../../src/store/indexes';
import { createTurnNotifier } from '../../src/temporal/delivery-turns';
import { createHookrelayWorker, ReceiverWaits, type HookrelayWorkerOptions } from '../../src/temporal/worker';

type WorkerTuning = Pick<
  HookrelayWorkerOptions,
  'maxConcurrentActivityTaskExecutions' | 'maxConcurrentLocalActivityExecutions' | 'maxBusyWorkflowTasks'
> & {
  /** Another bundle than the run's hookrelay workflows (a test's own workflows). */
  workflowBundle?: HookrelayWorkerOptions['workflowBundle'];
};

let runtimeInstalled = false;

/** Quiet SDK logs unless a test run asks for them. */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(process.env.TEST_TEMPORAL_LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR') });
}

export interface TestContext {
  name: string;
  config: Config;
  db: Db;
  mongo: MongoClient;
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  taskQueue: string;
  box: SecretBox;
  transport: HttpTransport;
  /** Starts a worker with real activities; stopped by `close`. */
  startWorker(overrides?: Partial<ActivityDependencies>, workerOptions?: WorkerTuning): Promise<Worker>;
  close(): Promise<void>;
}

/**
 * Per test file: its own database and task queue on the run's shared servers, a
 * transport whose SSRF guard lets loopback receivers through (as HOOKRELAY_ALLOWED_CIDRS
 * does in development), and real activities.
 */
export async function createTestContext(name: string, env: NodeJS.ProcessEnv = {}): Promise<TestContext> {
  installRuntime();
  const suffix = randomBytes(4).toString('hex');
  const config = loadConfig({
    MONGODB_URL: inject('mongoUrl'),
    MONGODB_DB: `test_${name.replace(/[^a-z0-9]/gi, '_')}_${suffix}`,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-${name}-${suffix}`,
    HOOKRELAY_ENCRYPTION_KEY: generateEncryptionKey(),
    HOOKRELAY_ALLOW_HTTP: 'true',
    HOOKRELAY_ALLOWED_CIDRS: '127.0.0.0/8,::1/128',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const mongo = await MongoClient.connect(config.MONGODB_URL!);
  const db = mongo.db(config.MONGODB_DB);
  await ensureIndexes(db);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const box = createSecretBox(config.HOOKRELAY_ENCRYPTION_KEY!);
  const transport = createHttpTransport({
    allowHttp: config.HOOKRELAY_ALLOW_HTTP,
    allowedCidrs: parseCidrList(config.HOOKRELAY_ALLOWED_CIDRS),
    userAgent: 'hookrelay/test',
  });
  const workers: Array<{ worker: Worker; running: Promise<void> }> = [];
  const senderSets: ChannelSenders[] = [];

  return {
    name,
    config,
    db,
    mongo,
    client,
    connection,
    nativeConnection,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    box,
    transport,
    async startWorker(overrides = {}, workerOptions = {}) {
      const senders = createChannelSenders({ config, transport, box, userAgent: 'hookrelay/test', db });
      senderSets.push(senders);
      // Wired as the worker role wires it: a task whose first attempts wait on receivers is not at work.
      const receiverWaits = new ReceiverWaits();
      const worker = await createHookrelayWorker({
        connection: nativeConnection,
        receiverWaits,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        workflowSandboxTimeoutMs: config.HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS,
        ...workerOptions,
        workflowBundle: workerOptions.workflowBundle ?? { codePath: inject('workflowBundlePath') },
        activities: createActivities({
          db,
          box,
          senders,
          limiter: createEndpointLimiter(config.HOOKRELAY_ENDPOINT_CONCURRENCY),
          notifyTurn: createTurnNotifier(client),
          breaker: createEndpointBreaker(config.HOOKRELAY_BREAKER_FAILURES),
          receiverWaits,
          // As the local-activity slots bounded first attempts before the first round.
          ...(workerOptions.maxConcurrentLocalActivityExecutions
            ? { attemptSlots: new AttemptSlots(workerOptions.maxConcurrentLocalActivityExecutions) }
            : {}),
          ...overrides,
        }),
      });
      workers.push({ worker, running: worker.run() });
      return worker;
    },
    async close() {
      for (const { worker } of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.allSettled(workers.map((w) => w.running));
      await Promise.all(senderSets.map((senders) => closeChannelSenders(senders)));
      await transport.close();
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
      await connection.close();
      await nativeConnection.close();
    },
  };
}
