// The Temporal floor's worker and client, in a process of their own so its CPU and
// memory can be measured like hookrelay's. Started by bench/lib/floor-runner.ts, which
// sends it commands over Node IPC (bench/floor/protocol.ts).
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { HookrelayActivities } from '../../activities';
import { createHookrelayWorker, ReceiverWaits, workflowTaskSlotLimits } from '../../src/temporal/worker';
import { openLoop, pollUntil, withConcurrency } from '../lib/load';
import { createFloorActivities, type ActivityObserver } from './activities';
import type {
  FloorLatencyRequest,
  FloorLatencyResult,
  FloorMessage,
  FloorRequest,
  FloorThroughputRequest,
  FloorThroughputResult,
} from './protocol';

const NAMESPACE = 'default';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function send(message: FloorMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const address = required('BENCH_TEMPORAL_ADDRESS');
  const taskQueue = required('BENCH_TASK_QUEUE');
  const bundlePath = required('BENCH_FLOOR_BUNDLE');
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  let observe: ActivityObserver = () => undefined;
  const connection = await NativeConnection.connect({ address });
  // hookrelay's own worker factory, so the floor has exactly its slots, pollers and cache.
  const worker = await createHookrelayWorker({
    connection,
    namespace: NAMESPACE,
    taskQueue,
    workflowBundle: { codePath: bundlePath },
    receiverWaits: new ReceiverWaits(), // its activities call no receiver
    activities: createFloorActivities((workflowId, at) => observe(workflowId, at)) as unknown as HookrelayActivities,
  });
  const running = worker.run();
  // The client shares the worker's connection, as the dispatcher next to a worker does,
  // so eager workflow start hands the first workflow task straight to this worker.
  const client = new Client({ connection, namespace: NAMESPACE });
  const start = (workflowId: string, fanOut: number) =>
    client.workflow.start('floorWorkflow', { workflowId, taskQueue, args: [fanOut], requestEagerStart: true });

  async function latency(request: FloorLatencyRequest): Promise<FloorLatencyResult> {
    const startedAt = new Map<string, { at: number; measured: boolean }>();
    const latenciesMs: number[] = [];
    const warmupCount = Math.round((request.ratePerS * request.warmupMs) / 1000);
    let received = 0;
    let startErrors = 0;
    observe = (workflowId, at) => {
      const started = startedAt.get(workflowId);
      if (!started) return;
      startedAt.delete(workflowId);
      received++;
      if (started.measured) latenciesMs.push(at - started.at);
    };
    const loop = await openLoop({
      ratePerS: request.ratePerS,
      durationMs: request.warmupMs + request.durationMs,
      tick: (index) => {
        const workflowId = `${request.runId}-${index}`;
        startedAt.set(workflowId, { at: performance.now(), measured: index >= warmupCount });
        start(workflowId, 1).catch(() => {
          startErrors++;
          startedAt.delete(workflowId);
        });
      },
    });
    await pollUntil(() => startedAt.size === 0, request.drainMs, 50);
    // Not run by the end of the drain: counted with the time waited so far (a lower bound).
    const now = performance.now();
    for (const started of startedAt.values()) if (started.measured) latenciesMs.push(now - started.at);
    return {
      latenciesMs,
      sent: loop.sent,
      measured: Math.max(0, loop.sent - warmupCount),
      received,
      startErrors,
      maxLagMs: loop.maxLagMs,
    };
  }

  async function throughput(request: FloorThroughputRequest): Promise<FloorThroughputResult> {
    const times: number[] = [];
    const expected = request.workflows * request.fanOut;
    let startErrors = 0;
    observe = (_workflowId, at) => void times.push(at);
    const t0 = performance.now();
    await withConcurrency(request.workflows, request.concurrency, async (index) => {
      await start(`${request.runId}-${index}`, request.fanOut).catch(() => void startErrors++);
    });
    const startsDoneMs = performance.now() - t0;
    await pollUntil(() => times.length >= expected, Math.max(0, request.timeoutMs - startsDoneMs), 50);
    return { activityTimesMs: times.map((at) => at - t0), expected, startsDoneMs, startErrors };
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close().catch(() => undefined);
      process.exit(0);
    })());

  process.on('message', (raw: { id: number } & FloorRequest) => {
    const run = async (): Promise<unknown> => {
      switch (raw.cmd) {
        case 'latency':
          return latency(raw);
        case 'throughput':
          return throughput(raw);
        case 'stop':
          void stop();
          return null;
      }
    };
    run().then(
      (result) => send({ type: 'reply', id: raw.id, ok: true, result }),
      (error: Error) => send({ type: 'reply', id: raw.id, ok: false, error: error.stack ?? String(error) }),
    );
  });
  // The bench went away (even killed): stop too.
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  const { maxCachedWorkflows, workflowThreadPoolSize, workflowTaskPollerBehavior, activityTaskPollerBehavior, tuner } =
    worker.options;
  // The workflow-task supplier is code: its limits stand in for it.
  const { activityTaskSlotSupplier, localActivityTaskSlotSupplier } = tuner as unknown as Record<string, unknown>;
  const workerSettings = JSON.parse(
    JSON.stringify({
      maxCachedWorkflows,
      workflowThreadPoolSize,
      workflowTaskPollerBehavior,
      activityTaskPollerBehavior,
      tuner: { workflowTaskSlots: workflowTaskSlotLimits(), activityTaskSlotSupplier, localActivityTaskSlotSupplier },
    }),
  ) as Record<string, unknown>;
  send({ type: 'ready', workerSettings });
}

main().catch((error: Error) => {
  console.error(error.stack ?? String(error));
  process.exit(1);
});
