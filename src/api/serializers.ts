import { z } from 'zod';
import { NOTIFICATION_CHANNELS } from '../domain/webhook-schemas';
import { maskChannel, MASKED_VALUE } from '../store/channel-secrets';
import type { DeliveryAttempt, DeliveryDocument } from '../store/delivery-store';
import { DELIVERY_STATUSES } from '../store/delivery-store';
import type { EventDocument } from '../store/event-store';
import type { WebhookDocument } from '../store/webhook-store';
import { EVENT_STATUSES } from '../domain/event-envelope';

/**
 * What responses show. Mixpeek's Webhook-Output plus hookrelay's `retry_policy` and
 * `disabled_reason`; secret channel fields masked; internal fields (organization id,
 * sealed signing secrets) never leave. The zod schemas document the shapes.
 */

const isoDate = z.iso.datetime();

const retryPolicyOutput = z
  .object({
    initial_interval: z.string().optional(),
    backoff_coefficient: z.number().optional(),
    maximum_interval: z.string().optional(),
    maximum_attempts: z.number().int().optional(),
    expiration: z.string().optional(),
  })
  .nullable()
  .describe("The webhook's own retry policy; null means the defaults");

export const webhookOutputSchema = z
  .object({
    webhook_id: z.string().regex(/^wh_[a-f0-9]{16}$/),
    webhook_name: z.string(),
    event_types: z.array(z.string()),
    channels: z
      .array(
        z.object({
          channel: z.enum(NOTIFICATION_CHANNELS),
          configs: z.record(z.string(), z.unknown()),
        }),
      )
      .describe(`Channel configs as given, with custom header values and Slack webhook URLs shown as "${MASKED_VALUE}"`),
    is_active: z.boolean(),
    created_at: isoDate,
    updated_at: isoDate,
    retry_policy: retryPolicyOutput,
    disabled_reason: z.string().nullable().describe('Why hookrelay turned the webhook off (e.g. the receiver answered 410 Gone)'),
  })
  .meta({ title: 'Webhook', description: 'A webhook subscription' });

export type WebhookOutput = z.output<typeof webhookOutputSchema>;

export const signingSecretSchema = z.string().regex(/^whsec_/).describe('Standard Webhooks signing secret');

export const createdWebhookSchema = webhookOutputSchema
  .extend({ signing_secret: signingSecretSchema.describe('Shown here once; later only by GET …/{webhook_id}/secret') })
  .meta({ title: 'CreatedWebhook', description: 'The created webhook and its signing secret' });

export function serializeWebhook(doc: WebhookDocument): WebhookOutput {
  return {
    webhook_id: doc._id,
    webhook_name: doc.webhook_name,
    event_types: [...doc.event_types],
    channels: doc.channels.map((channel) => maskChannel(channel)),
    is_active: doc.is_active,
    created_at: doc.created_at.toISOString(),
    updated_at: doc.updated_at.toISOString(),
    retry_policy: doc.retry_policy ?? null,
    disabled_reason: doc.disabled_reason ?? null,
  };
}

const attemptOutputSchema = z.object({
  n: z.number().int().describe('Attempt number within its workflow run'),
  at: isoDate,
  status_code: z.number().int().nullable(),
  duration_ms: z.number().int(),
  error: z.string().nullable().describe('Error class, e.g. timeout, http_503, destination_blocked'),
  error_message: z.string().nullable(),
  response_excerpt: z.string().nullable().describe("First bytes of the receiver's answer"),
  run_id: z.string().nullable().describe('Temporal run that made the attempt (a redelivery is a new run)'),
});

export const deliveryOutputSchema = z
  .object({
    delivery_id: z.string().describe('Also the webhook-id header receivers see'),
    event_id: z.string(),
    event_type: z.string(),
    webhook_id: z.string(),
    channel_index: z.number().int(),
    channel: z.enum(NOTIFICATION_CHANNELS),
    status: z.enum(DELIVERY_STATUSES),
    attempt_count: z.number().int(),
    attempts: z.array(attemptOutputSchema).describe('Newest first; the oldest are dropped past 50'),
    next_retry_at: isoDate.nullable(),
    delivered_at: isoDate.nullable(),
    created_at: isoDate,
    updated_at: isoDate,
  })
  .meta({ title: 'Delivery', description: 'One (event, webhook, channel) delivery and its attempts' });

export type DeliveryOutput = z.output<typeof deliveryOutputSchema>;

const isoOrNull = (date: Date | null | undefined) => (date ? date.toISOString() : null);

function serializeAttempt(attempt: DeliveryAttempt): z.output<typeof attemptOutputSchema> {
  return {
    n: attempt.n,
    at: attempt.at.toISOString(),
    status_code: attempt.status_code ?? null,
    duration_ms: attempt.duration_ms,
    error: attempt.error ?? null,
    error_message: attempt.error_message ?? null,
    response_excerpt: attempt.response_excerpt ?? null,
    run_id: attempt.run ?? null,
  };
}

export function serializeDelivery(doc: DeliveryDocument): DeliveryOutput {
  return {
    delivery_id: doc._id,
    event_id: doc.event_id,
    event_type: doc.event_type,
    webhook_id: doc.webhook_id,
    channel_index: doc.channel_index,
    channel: doc.channel,
    status: doc.status,
    attempt_count: doc.attempt_count ?? doc.attempts?.length ?? 0,
    attempts: [...(doc.attempts ?? [])].reverse().map(serializeAttempt),
    next_retry_at: isoOrNull(doc.next_retry_at),
    delivered_at: isoOrNull(doc.delivered_at),
    created_at: doc.created_at.toISOString(),
    updated_at: (doc.updated_at ?? doc.created_at).toISOString(),
  };
}

export const eventOutputSchema = z
  .object({
    event_id: z.string(),
    event_type: z.string(),
    occurred_at: isoDate,
    namespace_id: z.string().nullable(),
    subject: z.object({ type: z.string(), id: z.string() }),
    metadata: z.record(z.string(), z.unknown()),
    cache_scope: z.object({ scope: z.string(), collection_id: z.string().optional(), keys: z.array(z.string()).optional() }),
    status: z.enum(EVENT_STATUSES),
    created_at: isoDate,
    dispatched_at: isoDate.nullable(),
    completed_at: isoDate.nullable(),
    target_webhook_ids: z.array(z.string()).nullable(),
    error: z.string().nullable().describe('Why the event could not be delivered as written, if so'),
  })
  .meta({ title: 'Event', description: 'An event from webhook_events' });

export type EventOutput = z.output<typeof eventOutputSchema>;

export function serializeEvent(doc: EventDocument): EventOutput {
  return {
    event_id: doc._id,
    event_type: doc.event_type,
    occurred_at: doc.occurred_at.toISOString(),
    namespace_id: doc.namespace_id ?? null,
    subject: { type: doc.subject.type, id: doc.subject.id },
    metadata: doc.metadata ?? {},
    cache_scope: doc.cache_scope,
    status: doc.status,
    created_at: doc.created_at.toISOString(),
    dispatched_at: isoOrNull(doc.dispatched_at),
    completed_at: isoOrNull(doc.completed_at),
    target_webhook_ids: doc.target_webhook_ids ?? null,
    error: doc.error ?? null,
  };
}
