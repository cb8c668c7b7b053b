import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { MuxLifecycleInput } from '../../activities/mux-lifecycle';
import { EVENT_TYPE, ORGANIZATION } from '../domain/search-attributes';
import type { StartResult } from './start-event-workflow';

/**
 * Starts the lifecycle workflow of one inbound Mux event; workflow id = the inbound
 * event id (`mux-<connection_id>-<mux event id>`). A second start for the same event,
 * running or finished, is rejected by Temporal and counts as success: with the unique
 * inbound_events record, that makes Mux's re-sends change things once.
 */
export async function startMuxLifecycleWorkflow(
  client: Client,
  taskQueue: string,
  inbound: { inboundEventId: string; connectionId: string; organizationId: string; eventType: string },
): Promise<StartResult> {
  const input: MuxLifecycleInput = { connectionId: inbound.connectionId, inboundEventId: inbound.inboundEventId };
  try {
    await client.workflow.start('muxAssetLifecycle', {
      workflowId: inbound.inboundEventId,
      taskQueue,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: EVENT_TYPE, value: inbound.eventType },
        { key: ORGANIZATION, value: inbound.organizationId },
      ],
    });
    return 'started';
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'already_started';
    throw error;
  }
}
