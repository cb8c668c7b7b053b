/**
 * What crosses into workflow history: ids, channel kinds, retry numbers. Never URLs,
 * header values, secrets or payload bodies. Workflow-safe (no imports at runtime).
 */
import type { ChannelKind } from '../store/webhook-store';
import type { ResolvedRetryPolicy } from './retry-policy';

export type TargetRetry = ResolvedRetryPolicy;

export interface DeliveryTarget {
  /** Also the Standard Webhooks `webhook-id`: stable across retries and redeliveries. */
  deliveryId: string;
  webhookId: string;
  channelIndex: number;
  channel: ChannelKind;
  /** Upper bound of one attempt, from the channel's `timeout`. */
  attemptTimeoutMs: number;
  retry: TargetRetry;
}

export interface DeliverEventInput {
  eventId: string;
  /** Restricts delivery to these webhooks (redelivery, test events). */
  webhookIds?: string[];
}

/** The first round's input: the event's, and whether this run may have made the round before. */
export interface FirstRoundInput extends DeliverEventInput {
  /**
   * The workflow task that ran the round before was rejected or timed out, its result
   * lost: attempts check the record first, and send nothing for a delivery it shows made.
   */
  mayBeDelivered?: boolean;
}

export type TargetOutcome = 'delivered' | 'failed' | 'canceled';

/**
 * What one delivery activity reports when it does not fail: delivered, or deferred
 * because its endpoint had no free slot (`attemptsUsed`: real attempts so far, all of
 * them), to be tried again after `retryInMs`, when a slot should be free. `queued`: the
 * worker will signal DELIVERY_TURN_SIGNAL when a slot frees up, and `retryInMs` is only
 * the fallback.
 */
export type DeliverResult =
  | { outcome: 'delivered' }
  | { outcome: 'deferred'; attemptsUsed: number; retryInMs?: number; queued?: boolean };

/** Up to this many targets, an event's first attempts run as local activities. */
export const LOCAL_FIRST_ATTEMPT_MAX_TARGETS = 100;

/**
 * The longest one attempt is given: the largest channel `timeout` a webhook may set
 * (src/domain/webhook-schemas.ts) and the email channel's default.
 */
export const MAX_ATTEMPT_TIMEOUT_MS = 30_000;

/**
 * How long a first attempt waits for one of the worker's attempt slots inside the first
 * round; one that gets none in time is left to the workflow, which tries it again.
 */
export const FIRST_ROUND_SLOT_WAIT_MS = 10_000;

/**
 * The first round's timeout: the wait for a slot, the longest attempt, and the reads and
 * writes around them. A round still running then is cancelled and starts no further attempt.
 */
export const FIRST_ROUND_TIMEOUT_MS = FIRST_ROUND_SLOT_WAIT_MS + MAX_ATTEMPT_TIMEOUT_MS + 20_000;

/**
 * How a first attempt ended, as the first round reports it: the activity's result, or
 * its failure (type, message with ids and status codes only, and the wait a receiver or
 * the webhook's schedule asked for).
 */
export type FirstAttempt =
  | { result: DeliverResult }
  | { failure: { type?: string; message: string; nonRetryable: boolean; retryAfterMs?: number } };

/**
 * An event's first round (see activities/first-round.ts): its targets, each target's
 * first attempt when there were at most LOCAL_FIRST_ATTEMPT_MAX_TARGETS of them, and the
 * outcome it recorded when every first attempt was delivered.
 */
export interface FirstRound {
  targets: DeliveryTarget[];
  /** One per target, in the same order. */
  attempts?: FirstAttempt[];
  finalized?: EventOutcome;
}

/**
 * Signal to a deliverEvent run: a slot of the endpoint that `deliveryId` is queued for
 * has freed up, so its deferred attempt should come back now rather than when its
 * fallback timer fires.
 */
export const DELIVERY_TURN_SIGNAL = 'deliveryTurn';
export interface DeliveryTurn {
  deliveryId: string;
}

export interface TargetResult {
  deliveryId: string;
  webhookId: string;
  channelIndex: number;
  outcome: TargetOutcome;
}

export type EventOutcome = 'delivered' | 'partially_failed' | 'failed' | 'no_subscribers';

export interface DeliverEventResult {
  eventId: string;
  outcome: EventOutcome;
  targets: TargetResult[];
}

/** How one target ended, named by its ids. */
export function targetResult(target: DeliveryTarget, outcome: TargetOutcome): TargetResult {
  return { deliveryId: target.deliveryId, webhookId: target.webhookId, channelIndex: target.channelIndex, outcome };
}

/** The event's final status from its targets' outcomes (docs/architecture.md, Data). */
export function summarizeOutcome(results: readonly TargetResult[]): EventOutcome {
  if (results.length === 0) return 'no_subscribers';
  const delivered = results.filter((r) => r.outcome === 'delivered').length;
  if (delivered === results.length) return 'delivered';
  return delivered === 0 ? 'failed' : 'partially_failed';
}

/** Activity ids name the channel and webhook so the Temporal UI shows which endpoint is stuck. */
export function deliveryActivityId(target: Pick<DeliveryTarget, 'channel' | 'webhookId' | 'channelIndex'>): string {
  return `deliver:${target.webhookId}:${target.channel}#${target.channelIndex}`;
}
