import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AttemptSlots } from '../src/delivery/attempt-slots';
import {
  FIRST_ROUND_SLOT_WAIT_MS,
  LOCAL_FIRST_ATTEMPT_MAX_TARGETS,
  summarizeOutcome,
  targetResult,
  type DeliverEventInput,
  type DeliverResult,
  type DeliveryTarget,
  type FirstAttempt,
  type FirstRound,
  type FirstRoundInput,
} from '../src/domain/delivery-plan';
import type { DeliverInput } from './deliver';
import type { FinalizeEventInput } from './finalize-event';

/** About how soon the workflow tries again an attempt the round did not make. */
const SLOT_RETRY_MS = 1_000;

export interface FirstRoundDeps {
  resolveTargets: (input: DeliverEventInput) => Promise<DeliveryTarget[]>;
  /** One attempt; one that ends after its own run settled the delivery leaves the record settled. */
  attempt: (input: DeliverInput, attemptNumber: number) => Promise<DeliverResult>;
  finalizeEvent: (input: FinalizeEventInput) => Promise<void>;
  /** The process's bound on attempts in flight. */
  slots: AttemptSlots;
  /** Aborts when the round is cancelled (it timed out); the activity context's signal by default. */
  cancellation?: AbortSignal;
  /** How long an attempt may wait for a slot (FIRST_ROUND_SLOT_WAIT_MS by default). */
  slotWaitMs?: number;
}

/**
 * An event's first round as one local activity: resolve its subscribers, make every first
 * attempt concurrently and, when all of them were delivered, record the event's outcome.
 * Most events end here, and their workflow task records one marker instead of one per
 * step; each step costs the worker an activation less.
 *
 * It never throws once an attempt went out: a failed attempt is reported, and the workflow
 * carries it on under the webhook's retry policy; a failure to record the outcome leaves
 * `finalized` unset, and the workflow records it with retries. Retrying the whole round
 * would send the delivered attempts again.
 */
export function createFirstRoundActivity(deps: FirstRoundDeps) {
  const slotWaitMs = deps.slotWaitMs ?? FIRST_ROUND_SLOT_WAIT_MS;
  return async function deliverFirstRound(input: FirstRoundInput): Promise<FirstRound> {
    const cancellation = deps.cancellation ?? Context.current().cancellationSignal;
    const targets = await deps.resolveTargets(input);
    // A large fan-out goes to regular activities (see workflows/deliver-event.ts).
    if (targets.length > LOCAL_FIRST_ATTEMPT_MAX_TARGETS) return { targets };
    const firstAttempt = async (target: DeliveryTarget): Promise<FirstAttempt> => {
      // The wait for a slot is bounded, so that it cannot run the round into its timeout.
      const release = await deps.slots.acquire(slotWaitMs, cancellation);
      // Not sent: the workflow tries again shortly, as a local activity of its own. After
      // a timeout it has gone on without this round, and what the round reports is moot.
      if (!release) return { result: notSent() };
      try {
        if (cancellation.aborted) return { result: notSent() };
        const attempt = { eventId: input.eventId, target, ...(input.mayBeDelivered ? { mayBeDelivered: true } : {}) };
        return { result: await deps.attempt(attempt, 1) };
      } catch (error) {
        return { failure: describeFailure(error) };
      } finally {
        release();
      }
    };
    const attempts = await Promise.all(targets.map(firstAttempt));
    if (!attempts.every((a) => 'result' in a && a.result.outcome === 'delivered')) return { targets, attempts };
    const outcome = summarizeOutcome(targets.map((target) => targetResult(target, 'delivered')));
    // Timed out meanwhile: the workflow has gone on without this round and records the outcome itself.
    if (cancellation.aborted) return { targets, attempts };
    try {
      await deps.finalizeEvent({ eventId: input.eventId, outcome, unsettled: [], partialRun: input.webhookIds !== undefined });
    } catch {
      return { targets, attempts };
    }
    return { targets, attempts, finalized: outcome };
  };
}

/** An attempt the round did not make: deferred briefly (with jitter), no attempt used. */
function notSent(): DeliverResult {
  return { outcome: 'deferred', attemptsUsed: 0, retryInMs: Math.round(SLOT_RETRY_MS * (0.5 + Math.random())) };
}

/** What the workflow needs of a failed attempt; the deliver activity keeps URLs and bodies out of its messages. */
function describeFailure(error: unknown): Extract<FirstAttempt, { failure: unknown }>['failure'] {
  if (error instanceof ApplicationFailure) {
    const detail = error.details?.[0] as { retryAfterMs?: unknown } | undefined;
    return {
      ...(error.type ? { type: error.type } : {}),
      message: error.message,
      nonRetryable: error.nonRetryable === true,
      ...(typeof detail?.retryAfterMs === 'number' ? { retryAfterMs: detail.retryAfterMs } : {}),
    };
  }
  return { message: error instanceof Error ? error.message : String(error), nonRetryable: false };
}
