import type { Client } from '@temporalio/client';
import { ENDPOINT_SLOT_FREE_SIGNAL, type DeferredAttempt } from '../domain/delivery-plan';

/**
 * Wakes a deliverEvent run whose attempt waits for a slot of its endpoint. Rejects when
 * the run is gone (completed, terminated), so the endpoint limiter gives the slot on.
 */
export function signalDeferredAttempt(client: Client) {
  return (deferred: DeferredAttempt): Promise<void> =>
    client.workflow.getHandle(deferred.workflowId, deferred.runId).signal(ENDPOINT_SLOT_FREE_SIGNAL, deferred.deliveryId);
}
