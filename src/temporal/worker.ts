import { availableParallelism } from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { HookrelayActivities } from '../../activities';
import { DEFAULT_ATTEMPT_SLOTS } from '../delivery/attempt-slots';
import { isolateExecutionTimeout } from './sandbox-limit';
import { createWorkflowTaskSlotSupplier, ReceiverWaits, type WorkflowTaskSlotLimits } from './workflow-task-slots';

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
  /**
   * The record of first attempts waiting on receivers that `activities` keep (pass the
   * same one to createActivities): without it, tasks resting on slow receivers count as
   * at work and hold the worker back. See workflow-task-slots.ts.
   */
  receiverWaits: ReceiverWaits;
  /** Tasks at work below which the worker polls for new ones (default: 4 per core, at least 8). */
  maxBusyWorkflowTasks?: number;
  /** How long one call into the workflow sandbox may run, in ms; 0 (default): no limit, no watchdog (sandbox-limit.ts). */
  workflowSandboxTimeoutMs?: number;
}

// A workflow task stays open while its local first attempts wait on receivers: as many
// slots as local activities, so slow receivers cannot starve other events' tasks.
const WORKFLOW_TASK_SLOTS = 200;
// Tasks at work below which the worker polls for new ones: enough to keep its CPU busy
// between its calls to Temporal and MongoDB, few enough that a burst's tasks wait in the
// task queue, where other organizations' tasks are served in turn, rather than here.
const BUSY_WORKFLOW_TASKS_PER_CORE = 4;
const MIN_BUSY_WORKFLOW_TASKS = 8;

/** The workflow-task slots of a worker on this machine (see workflow-task-slots.ts). */
export function workflowTaskSlotLimits(maxBusy?: number): WorkflowTaskSlotLimits {
  return {
    maxSlots: WORKFLOW_TASK_SLOTS,
    maxBusy: maxBusy ?? Math.max(MIN_BUSY_WORKFLOW_TASKS, BUSY_WORKFLOW_TASKS_PER_CORE * availableParallelism()),
  };
}

/** A worker that runs hookrelay's workflows and activities on one task queue. */
export async function createHookrelayWorker(options: HookrelayWorkerOptions): Promise<Worker> {
  const workerOptions: WorkerOptions = {
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle,
    activities: options.activities,
    tuner: {
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: options.maxConcurrentActivityTaskExecutions ?? 200 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: options.maxConcurrentLocalActivityExecutions ?? DEFAULT_ATTEMPT_SLOTS },
      workflowTaskSlotSupplier: createWorkflowTaskSlotSupplier(
        workflowTaskSlotLimits(options.maxBusyWorkflowTasks),
        options.receiverWaits,
      ),
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    },
  };
  // The SDK reads this option like the others but leaves it out of WorkerOptions' type.
  const sandboxLimit = { isolateExecutionTimeout: isolateExecutionTimeout(options.workflowSandboxTimeoutMs ?? 0) };
  return Worker.create({ ...workerOptions, ...sandboxLimit } as WorkerOptions);
}

export { NativeConnection, ReceiverWaits };
