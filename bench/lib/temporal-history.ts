import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { EventType } = temporal.api.enums.v1;
const CLOSE_EVENTS: Record<number, string> = {
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]: 'completed',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]: 'failed',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT]: 'timed out',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]: 'terminated',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED]: 'canceled',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW]: 'continued as new',
};

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function statusOf(events: HistoryEvent[]): string {
  const last = events[events.length - 1];
  return (last && CLOSE_EVENTS[last.eventType ?? 0]) ?? 'running';
}

function lastTaskFailure(events: HistoryEvent[]): string | undefined {
  const failed = events.filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).pop();
  const attributes = failed?.workflowTaskFailedEventAttributes;
  if (!attributes) return undefined;
  const cause = temporal.api.enums.v1.WorkflowTaskFailedCause[attributes.cause ?? 0] ?? String(attributes.cause);
  return `${cause}: ${attributes.failure?.message ?? ''}`.slice(0, 300);
}

/** What one workflow run cost the server: its history, by the kinds of event that matter. */
export interface HistoryShape {
  workflowId: string;
  events: number;
  /** Workflow tasks completed: each is a server round trip to the worker. */
  workflowTasks: number;
  /** Workflow tasks that timed out or failed (their local activities run again). */
  workflowTaskTimeouts: number;
  workflowTaskFailures: number;
  /** How the workflow ended (e.g. "completed", "terminated"), or "running". */
  status: string;
  /** The last workflow-task failure's cause and message, when there was one. */
  lastTaskFailure?: string;
  /** Regular activities scheduled: each is a task hand-off through matching. */
  activities: number;
  /** Local activities recorded in history (no separate server round trip); patch markers are not counted. */
  localActivities: number;
  timers: number;
  /** Bytes of the history as stored (protobuf). */
  bytes: number;
}

/** The marker the SDK records for each local activity (a `patched()` call records `core_patch`). */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** Reads one workflow's history and counts its events; undefined when it cannot be read. */
export async function historyShape(client: Client, workflowId: string): Promise<HistoryShape | undefined> {
  try {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const count = (type: number) => events.filter((event) => event.eventType === type).length;
    return {
      workflowId,
      events: events.length,
      workflowTasks: count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
      workflowTaskTimeouts: count(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT),
      workflowTaskFailures: count(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED),
      status: statusOf(events),
      lastTaskFailure: lastTaskFailure(events),
      activities: count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
      localActivities: events.filter((event) => event.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER).length,
      timers: count(EventType.EVENT_TYPE_TIMER_STARTED),
      bytes: temporal.api.history.v1.History.encode(history).finish().length,
    };
  } catch {
    return undefined;
  }
}

/** Workflows on the task queue that completed (visibility: may lag a moment, never leads). */
export async function completedWorkflows(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Completed"`);
  return count;
}

/** Workflows on the task queue that closed without completing (failed, terminated, timed out). */
export async function unsuccessfulWorkflows(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(
    `TaskQueue = "${taskQueue}" AND ExecutionStatus != "Running" AND ExecutionStatus != "Completed"`,
  );
  return count;
}

/** Workflows on the task queue still running (visibility: a fresh start may not show yet). */
export async function runningWorkflows(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`);
  return count;
}
