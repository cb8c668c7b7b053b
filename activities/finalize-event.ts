import { Context } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { summarizeOutcome, type DeliveryTarget, type EventOutcome, type TargetOutcome } from '../src/domain/delivery-plan';
import { countDelivered, findEventDeliveries, settleDelivery } from '../src/store/delivery-store';
import type { EventDocument } from '../src/store/event-store';
import { completeEvent } from '../src/store/event-store';
import type { RecentEvents } from '../src/store/recent-events';
import type { ResolvedWebhooks } from '../src/store/resolved-webhooks';

export interface FinalizeEventInput {
  eventId: string;
  outcome: EventOutcome;
  /** Targets that did not end delivered, with how they ended. */
  unsettled: Array<{ target: DeliveryTarget; outcome: Exclude<TargetOutcome, 'delivered'> }>;
  /**
   * The run delivered to chosen webhooks only (a redelivery): the event's status then
   * comes from all its deliveries, not from this run's subset.
   */
  partialRun?: boolean;
}

/**
 * Records the event's final status. Deliveries whose retries ran out without the
 * activity seeing its last attempt fail (schedule-to-close timeout) are settled here.
 */
export function createFinalizeEventActivity(deps: { db: Db; now: () => Date; events: RecentEvents; resolved: ResolvedWebhooks }) {
  return async function finalizeEvent(input: FinalizeEventInput): Promise<void> {
    const now = deps.now();
    deps.resolved.forget(input.eventId);
    if (input.unsettled.length === 0 && !input.partialRun) {
      // The common case needs nothing from the event document: one write.
      await completeEvent(deps.db, input.eventId, input.outcome, now);
      deps.events.forget(input.eventId);
      return;
    }
    const event = await deps.events.load(deps.db, input.eventId);
    if (!event) return;
    // A delivery a later redelivery has taken over is that run's to settle.
    const run = Context.current().info.workflowExecution?.runId ?? null;
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
          run,
        ),
      ),
    );
    const outcome = input.partialRun ? await outcomeOfAllDeliveries(deps.db, event) : await outcomeWithOtherRuns(deps.db, input);
    await completeEvent(deps.db, input.eventId, outcome, now);
    deps.events.forget(input.eventId);
  };
}

/**
 * The run's outcome, counting as delivered what another run (a redelivery beside it)
 * delivered where this one did not: the receiver has it.
 */
async function outcomeWithOtherRuns(db: Db, input: FinalizeEventInput): Promise<EventOutcome> {
  const ids = input.unsettled.map(({ target }) => target.deliveryId);
  const deliveredElsewhere = await countDelivered(db, ids);
  if (deliveredElsewhere === 0) return input.outcome;
  if (deliveredElsewhere === ids.length) return 'delivered';
  return input.outcome === 'failed' ? 'partially_failed' : input.outcome;
}

/** Every (webhook, channel) the event ever had: one still retrying counts as not delivered. */
async function outcomeOfAllDeliveries(db: Db, event: EventDocument): Promise<EventOutcome> {
  const deliveries = await findEventDeliveries(db, event._id, event.organization_id);
  return summarizeOutcome(
    deliveries.map((d) => ({
      deliveryId: d._id,
      webhookId: d.webhook_id,
      channelIndex: d.channel_index,
      outcome: d.status === 'delivered' ? 'delivered' : 'failed',
    })),
  );
}
