import type { Db } from 'mongodb';
import { attemptTimeoutMs } from '../src/delivery/attempt-timeout';
import type { DeliverEventInput, DeliveryTarget } from '../src/domain/delivery-plan';
import { matchesAnyEventType } from '../src/domain/event-type-pattern';
import { deliveryIdFor } from '../src/domain/ids';
import { resolveRetryPolicy, type RetryPolicy } from '../src/domain/retry-policy';
import type { RecentEvents } from '../src/store/recent-events';
import type { ResolvedWebhooks } from '../src/store/resolved-webhooks';
import { findActiveWebhooks, type WebhookDocument } from '../src/store/webhook-store';

/** A test event goes to the webhook it was sent to, whatever that webhook subscribes to. */
const TEST_EVENT_TYPE = 'webhook.test';

/**
 * Subscribers of an event: the organization's active webhooks whose patterns match its
 * type, narrowed to the event's `target_webhook_ids` and to the run's chosen webhooks.
 * One target per (webhook, channel). Returns ids and numbers only.
 */
export function createResolveTargetsActivity(deps: { db: Db; events: RecentEvents; resolved: ResolvedWebhooks }) {
  return async function resolveTargets(input: DeliverEventInput): Promise<DeliveryTarget[]> {
    const event = await deps.events.load(deps.db, input.eventId);
    if (!event) return [];
    const narrowed = intersect(event.target_webhook_ids ?? undefined, input.webhookIds);
    const webhooks = await findActiveWebhooks(deps.db, event.organization_id, narrowed);
    const targets: DeliveryTarget[] = [];
    const subscribers: WebhookDocument[] = [];
    for (const webhook of webhooks.sort((a, b) => a._id.localeCompare(b._id))) {
      const subscribed =
        (event.event_type === TEST_EVENT_TYPE && narrowed !== undefined) ||
        matchesAnyEventType(webhook.event_types, event.event_type);
      if (!subscribed) continue;
      subscribers.push(webhook);
      const retry = resolveRetryPolicy(webhook.retry_policy as RetryPolicy | null);
      webhook.channels.forEach((channel, channelIndex) => {
        targets.push({
          deliveryId: deliveryIdFor(event._id, webhook._id, channelIndex),
          webhookId: webhook._id,
          channelIndex,
          channel: channel.channel,
          attemptTimeoutMs: attemptTimeoutMs(channel),
          retry,
        });
      });
    }
    deps.resolved.remember(event._id, subscribers);
    return targets;
  };
}

function intersect(a?: readonly string[], b?: readonly string[]): string[] | undefined {
  if (!a) return b ? [...b] : undefined;
  if (!b) return [...a];
  return a.filter((id) => b.includes(id));
}
