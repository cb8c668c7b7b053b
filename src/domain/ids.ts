import { createHash, randomBytes } from 'node:crypto';

/**
 * Identifier formats. Random ids come from the CSPRNG; the delivery id is derived, so
 * every retry and every redelivery of one (event, webhook, channel) carries the same
 * Standard Webhooks `webhook-id` and receivers can deduplicate on it.
 */

export const WEBHOOK_ID_PATTERN = /^wh_[a-fA-F0-9]{16}$/;
// Producers may pick their own event ids: any URL-safe suffix (it is also the workflow id).
export const EVENT_ID_PATTERN = /^evt_[A-Za-z0-9_-]{1,128}$/;
export const CONNECTION_ID_PATTERN = /^conn_[a-f0-9]{24}$/;
export const OBJECT_ID_PATTERN = /^obj_[a-f0-9]{24}$/;
export const DELIVERY_ID_PATTERN = /^msg_[a-f0-9]{32}$/;

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** `wh_` + 16 lowercase hex characters (Mixpeek's format). */
export function newWebhookId(): string {
  return `wh_${randomHex(8)}`;
}

/** `evt_` + 24 lowercase hex characters (96 random bits). */
export function newEventId(): string {
  return `evt_${randomHex(12)}`;
}

/** `conn_` + 24 lowercase hex characters. */
export function newConnectionId(): string {
  return `conn_${randomHex(12)}`;
}

/** `obj_` + 24 lowercase hex characters. */
export function newObjectId(): string {
  return `obj_${randomHex(12)}`;
}

/**
 * `msg_` + 32 lowercase hex characters: the first 128 bits of
 * sha256("<eventId>\n<webhookId>\n<channelIndex>"). Deterministic, URL-safe, and fixed
 * length whatever the length of a producer-chosen event id.
 */
export function deliveryIdFor(eventId: string, webhookId: string, channelIndex: number): string {
  if (!Number.isInteger(channelIndex) || channelIndex < 0) {
    throw new RangeError(`channelIndex must be a non-negative integer, got ${channelIndex}`);
  }
  const digest = createHash('sha256').update(`${eventId}\n${webhookId}\n${channelIndex}`).digest('hex');
  return `msg_${digest.slice(0, 32)}`;
}

export function isWebhookId(value: string): boolean {
  return WEBHOOK_ID_PATTERN.test(value);
}

export function isEventId(value: string): boolean {
  return EVENT_ID_PATTERN.test(value);
}
