import type { DeliveryFailureType } from '../domain/delivery-outcome';
import type { EventDocument } from '../store/event-store';
import type { StoredChannel, WebhookDocument } from '../store/webhook-store';

/** Everything one attempt needs; the channel's secrets are already opened. */
export interface ChannelAttempt {
  event: EventDocument;
  webhook: WebhookDocument;
  channel: StoredChannel;
  deliveryId: string;
  /** Position of the channel in the webhook's `channels` (part of the delivery record's key). */
  channelIndex: number;
  /** The workflow run making the attempt: retries share it, a redelivery is a new run. */
  runId: string | null;
  attempt: number;
  attemptTimeoutMs: number;
  now: Date;
}

interface AttemptFacts {
  statusCode?: number | null;
  durationMs: number;
  responseExcerpt?: string | null;
}

/** Senders report outcomes as values; only bugs escape as exceptions. */
export type ChannelAttemptResult =
  | ({ kind: 'delivered' } & AttemptFacts)
  | ({ kind: 'retry'; afterMs?: number; error: string; errorMessage: string } & AttemptFacts)
  | ({ kind: 'gone'; error: string; errorMessage: string } & AttemptFacts)
  | ({ kind: 'permanent'; failureType: DeliveryFailureType; error: string; errorMessage: string } & AttemptFacts);

export interface ChannelSender {
  send(attempt: ChannelAttempt): Promise<ChannelAttemptResult>;
}

export type ChannelSenders = Partial<Record<StoredChannel['channel'], ChannelSender>>;
