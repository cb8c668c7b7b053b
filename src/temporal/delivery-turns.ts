import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { DELIVERY_TURN_SIGNAL, type DeliveryTurn } from '../domain/delivery-plan';

/** The workflow run an attempt belongs to. */
export interface WorkflowRun {
  workflowId: string;
  runId: string;
}

/**
 * Tells a run that a slot freed up at the endpoint one of its deliveries is queued for
 * (see EndpointLimiter): true when told, false when the run has closed; rejects when
 * Temporal could not be reached.
 */
export type NotifyTurn = (run: WorkflowRun, deliveryId: string) => Promise<boolean>;

export function createTurnNotifier(client: Client): NotifyTurn {
  return async ({ workflowId, runId }, deliveryId) => {
    const turn: DeliveryTurn = { deliveryId };
    try {
      await client.workflow.getHandle(workflowId, runId).signal(DELIVERY_TURN_SIGNAL, turn);
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };
}
