import type { Client } from '@temporalio/client';
import type { MuxLifecycleInput } from '../../activities/mux-lifecycle';
import { EVENT_TYPE, ORGANIZATION } from '../domain/search-attributes';
import { startOnce, type StartResult } from './start-once';

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
  return startOnce(client, 'muxAssetLifecycle', {
    workflowId: inbound.inboundEventId,
    taskQueue,
    args: [input],
    typedSearchAttributes: [
      { key: EVENT_TYPE, value: inbound.eventType },
      { key: ORGANIZATION, value: inbound.organizationId },
    ],
  });
}
