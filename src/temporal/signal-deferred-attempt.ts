import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ENDPOINT_SLOT_FREE_SIGNAL, type DeferredAttempt } from '../domain/delivery-plan';

/**
 * Wakes a deliverEvent run whose attempt waits for a slot of its endpoint. False when the
 * run is gone (completed, terminated), so the endpoint limiter gives the slot on; other
 * failures (Temporal unreachable) reject.
 */
export function signalDeferredAttempt(client: Client) {
  return async (deferred: DeferredAttempt): Promise<boolean> => {
    try {
      await client.workflow
        .getHandle(deferred.workflowId, deferred.runId)
        .signal(ENDPOINT_SLOT_FREE_SIGNAL, deferred.deliveryId);
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };
}
