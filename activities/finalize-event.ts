import type { Db } from 'mongodb';
import type { DeliveryTarget, EventOutcome, TargetOutcome } from '../src/domain/delivery-plan';
import { settleDelivery } from '../src/store/delivery-store';
import { completeEvent, findEvent } from '../src/store/event-store';

export interface FinalizeEventInput {
  eventId: string;
  outcome: EventOutcome;
  /** Targets that did not end delivered, with how they ended. */
  unsettled: Array<{ target: DeliveryTarget; outcome: Exclude<TargetOutcome, 'delivered'> }>;
}

/**
 * Records the event's final status. Deliveries whose retries ran out without the
 * activity seeing its last attempt fail (schedule-to-close timeout) are settled here.
 */
export function createFinalizeEventActivity(deps: { db: Db; now: () => Date }) {
  return async function finalizeEvent(input: FinalizeEventInput): Promise<void> {
    const event = await findEvent(deps.db, input.eventId);
    if (!event) return;
    const now = deps.now();
    await Promise.all(
      input.unsettled.map(({ target, outcome }) =>
        settleDelivery(
          deps.db,
          {
            deliveryId: target.deliveryId,
            eventId: event._id,
            webhookId: target.webhookId,
            organizationId: event.organization_id,
            eventType: event.event_type,
            channelIndex: target.channelIndex,
            channel: target.channel,
          },
          outcome,
          now,
        ),
      ),
    );
    await completeEvent(deps.db, input.eventId, input.outcome, now);
  };
}
