import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { HookrelayActivities } from '../../activities';

export interface HookrelayWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: HookrelayActivities;
  /** A prebuilt bundle (production) or its code; see src/temporal/workflow-bundle.ts. */
  workflowBundle: { code: string } | { codePath: string };
  /** Concurrent retrying delivery attempts per worker process. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Concurrent first attempts and bookkeeping steps per worker process. */
  maxConcurrentLocalActivityExecutions?: number;
}

/** A worker that runs hookrelay's workflows and activities on one task queue. */
export async function createHookrelayWorker(options: HookrelayWorkerOptions): Promise<Worker> {
  const workerOptions: WorkerOptions = {
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle,
    activities: options.activities,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 200,
    maxConcurrentLocalActivityExecutions: options.maxConcurrentLocalActivityExecutions ?? 200,
    // A workflow task stays open while its local first attempts wait on receivers: as many
    // slots as local activities, so slow receivers cannot starve other events' tasks.
    maxConcurrentWorkflowTaskExecutions: 200,
  };
  return Worker.create(workerOptions);
}

export { NativeConnection };
