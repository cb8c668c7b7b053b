import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { DeliverEventInput } from '../domain/delivery-plan';
import { eventRunOptions, type EventIdentity } from './start-event-workflow';

export interface RedeliveryStart {
  workflowId: string;
  runId: string;
}

/** `<event id>.redeliver.<base36 ms>`: sorts by time and names the event it redelivers. */
export function redeliveryWorkflowId(eventId: string, atMs: number): string {
  return `${eventId}.redeliver.${atMs.toString(36)}`;
}

/**
 * A new deliverEvent run for an event that already had its own (workflow id = event
 * id), restricted to `webhookIds` when given. Same task queue, search attributes and
 * fairness key as startEventWorkflow, so it shows up next to the original in the
 * Temporal UI and waits its organization's turn.
 */
export async function startRedeliveryWorkflow(
  client: Client,
  taskQueue: string,
  event: EventIdentity,
  webhookIds?: readonly string[],
  now = Date.now(),
): Promise<RedeliveryStart> {
  const input: DeliverEventInput = { eventId: event._id, ...(webhookIds ? { webhookIds: [...webhookIds] } : {}) };
  // Two redeliveries within one millisecond get consecutive ids instead of failing.
  for (let offset = 0; ; offset++) {
    const workflowId = redeliveryWorkflowId(event._id, now + offset);
    try {
      const handle = await client.workflow.start('deliverEvent', {
        workflowId,
        taskQueue,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        ...eventRunOptions(event),
      });
      return { workflowId, runId: handle.firstExecutionRunId };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError) || offset >= 20) throw error;
    }
  }
}
