import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { HookrelayActivities } from '../activities';
import {
  DELIVERY_TURN_SIGNAL,
  deliveryActivityId,
  FIRST_ROUND_TIMEOUT_MS,
  LOCAL_FIRST_ATTEMPT_MAX_TARGETS,
  summarizeOutcome,
  targetResult,
  type DeliveryTurn,
  type DeliverEventInput,
  type DeliverEventResult,
  type DeliverResult,
  type DeliveryTarget,
  type FirstAttempt,
  type FirstRound,
  type FirstRoundInput,
  type TargetOutcome,
  type TargetResult,
} from '../src/domain/delivery-plan';
import {
  finalStatusForFailure,
  NON_RETRYABLE_DELIVERY_FAILURE_TYPES,
  type DeliveryFailureType,
} from '../src/domain/delivery-outcome';
import { OUTCOME, WEBHOOK_IDS } from '../src/domain/search-attributes';

/** Webhook ids listed in the HookrelayWebhookIds search attribute (its value is capped at 2 KiB). */
const MAX_WEBHOOK_IDS_ATTRIBUTE = 50;

/** The local first attempts' target limit before the patch below: workflows started then replay with it. */
const LOCAL_FIRST_ATTEMPT_MAX_TARGETS_V1 = 10;

/** A run's history when its first workflow task starts: started, task scheduled, task started. */
const FIRST_TASK_HISTORY_LENGTH = 3;

/** Sent by a worker when a slot frees up at an endpoint one of this run's deliveries is queued for. */
const deliveryTurnSignal = defineSignal<[DeliveryTurn]>(DELIVERY_TURN_SIGNAL);

interface Turns {
  /** Deliveries whose turn was signalled since their last attempt went out. */
  signalled: Set<string>;
  /** Whether any delivery of this run queued for a turn. */
  queued: boolean;
}

// Bookkeeping runs as local activities: no server round trip per step.
const bookkeeping = proxyLocalActivities<HookrelayActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

// The first round (activities/first-round.ts) is not retried: that would send its
// delivered attempts again.
const firstRound = proxyLocalActivities<HookrelayActivities>({
  startToCloseTimeout: FIRST_ROUND_TIMEOUT_MS,
  retry: { maximumAttempts: 1 },
});

/**
 * One event: resolve its subscribers, deliver to each (webhook, channel) concurrently
 * under that webhook's retry policy, settle each independently, record the outcome.
 * When every first attempt succeeds, the whole event completes in one workflow task,
 * with one local activity (the first round).
 */
export async function deliverEvent(input: DeliverEventInput): Promise<DeliverEventResult> {
  const turns: Turns = { signalled: new Set(), queued: false };
  setHandler(deliveryTurnSignal, (turn) => {
    if (typeof turn?.deliveryId === 'string') turns.signalled.add(turn.deliveryId);
  });
  // Workflows started before the patch resolve, attempt and record in separate steps; so
  // does a run whose first round failed as a whole (its attempts check their records).
  const roundStartedAt = Date.now();
  // An earlier task may have run the round and lost its result (the task was rejected,
  // e.g. for a signal that came meanwhile, or its worker died): the attempts it made may
  // have been delivered. Then the history is longer, or, when a long round's task was
  // extended (a heartbeat that recorded commands), this activation replays it. Only an
  // activity input depends on it, which replay does not compare.
  const info = workflowInfo();
  const mayBeDelivered = info.historyLength > FIRST_TASK_HISTORY_LENGTH || info.unsafe.isReplaying;
  const round = patched('first-round-in-one-local-activity')
    ? await firstRoundOf(mayBeDelivered ? { ...input, mayBeDelivered } : input)
    : undefined;
  const targets = round?.targets ?? (await bookkeeping.resolveTargets(input));
  if (targets.length > 0) {
    // Temporal limits a search attribute value to 2 KiB: the first 50 webhook ids fit.
    const webhookIds = [...new Set(targets.map((t) => t.webhookId))].slice(0, MAX_WEBHOOK_IDS_ATTRIBUTE);
    upsertSearchAttributes([{ key: WEBHOOK_IDS, value: webhookIds }]);
  }
  if (round?.finalized) {
    upsertSearchAttributes([{ key: OUTCOME, value: round.finalized }]);
    const delivered = targets.map((target) => targetResult(target, 'delivered'));
    return { eventId: input.eventId, outcome: round.finalized, targets: delivered };
  }
  // First attempts run inside the workflow task; a large fan-out would hold that task
  // open for long and redo them all if it failed, so it goes to regular activities.
  const localFirst = round
    ? round.attempts !== undefined
    : targets.length <= LOCAL_FIRST_ATTEMPT_MAX_TARGETS_V1 ||
      (targets.length <= LOCAL_FIRST_ATTEMPT_MAX_TARGETS && patched('local-first-attempts-up-to-100-targets'));
  const results = await Promise.all(
    targets.map((target, i) =>
      deliverTarget(input.eventId, target, localFirst, turns, round?.attempts && { attempt: round.attempts[i]!, startedAt: roundStartedAt }),
    ),
  );
  // Temporal rejects a workflow task that completes the workflow while a signal waits,
  // and the local attempts that task ran would run again: a second POST. Once a delivery
  // has queued for a turn, a late turn signal can come at any time, so the attempts are
  // committed in a task of their own (a 1 ms timer ends it) before the last one.
  if (turns.queued) await sleep(1);
  const outcome = summarizeOutcome(results);
  await bookkeeping.finalizeEvent({
    eventId: input.eventId,
    outcome,
    partialRun: input.webhookIds !== undefined,
    unsettled: results.flatMap((result, i) =>
      result.outcome === 'delivered' ? [] : [{ target: targets[i]!, outcome: result.outcome }],
    ),
  });
  upsertSearchAttributes([{ key: OUTCOME, value: outcome }]);
  return { eventId: input.eventId, outcome, targets: results };
}

/** The first round, or undefined when it failed as a whole (e.g. timed out): the caller goes step by step. */
async function firstRoundOf(input: FirstRoundInput): Promise<FirstRound | undefined> {
  try {
    return await firstRound.deliverFirstRound(input);
  } catch (error) {
    if (isCancellation(error)) throw error;
    return undefined;
  }
}

/**
 * The first attempt runs as a local activity (no server round trip: most receivers
 * answer 2xx at once); the first round has usually made it already (`first`). If it
 * fails retryably, a regular activity with the webhook's RetryPolicy takes over, so a
 * stuck delivery shows as a pending activity in the UI.
 * An attempt deferred because its endpoint is at its concurrency limit waits here
 * rather than in a worker slot, until its timer fires or, when it was queued for a turn,
 * until the worker signals that a slot freed up; it then tries again as a local activity
 * too, which costs the server no activity task and the workflow one task fewer.
 */
async function deliverTarget(
  eventId: string,
  target: DeliveryTarget,
  localFirst: boolean,
  turns: Turns,
  made?: { attempt: FirstAttempt; startedAt: number },
): Promise<TargetResult> {
  const settle = (outcome: TargetOutcome): TargetResult => targetResult(target, outcome);
  // The retry window counts from the first attempt, made in the first round when there was one.
  const startedAt = made?.startedAt ?? Date.now();
  let first = made?.attempt;
  const maxAttempts = target.retry.maximumAttempts; // 0 = unlimited within expiration
  let attemptsMade = 0;
  let deferrals = 0;
  // Whether the next attempt runs as a local activity (one attempt, no RetryPolicy).
  let local = localFirst;
  for (;;) {
    const remainingMs = target.retry.expirationMs - (Date.now() - startedAt);
    if (remainingMs <= 0 || (maxAttempts > 0 && attemptsMade >= maxAttempts)) return settle('failed');
    let result: DeliverResult;
    try {
      // A local attempt may repeat one whose result was lost (its task was rejected for a
      // signal that came meanwhile, or its worker died), or one that a round which failed
      // as a whole had made; the first regular attempt may repeat a local one that timed
      // out. Each checks the record before sending, once an earlier attempt still out in
      // this worker has ended (activities/deliver.ts). Replay does not compare inputs.
      const input = { eventId, target, mayBeDelivered: true, ...(attemptsMade > 0 ? { attemptOffset: attemptsMade } : {}) };
      if (first) {
        // Made already: a turn signalled while the round ran is kept for the next attempt.
        const attempt = first;
        first = undefined;
        result = outcomeOf(attempt);
      } else {
        // This attempt uses any turn signalled so far; one signalled while it is out is kept.
        turns.signalled.delete(target.deliveryId);
        result = local
          ? await localAttempt(target, remainingMs).deliver(input)
          : await retryingAttempts(target, attemptsMade, remainingMs).deliver({ ...input, attemptOffset: attemptsMade });
      }
    } catch (error) {
      const permanent = permanentOutcome(error);
      if (permanent) return settle(permanent);
      // Retries exhausted or the retention window closed.
      if (!local) return settle('failed');
      local = false;
      attemptsMade += 1;
      if (maxAttempts > 0 && attemptsMade >= maxAttempts) return settle('failed');
      await sleep(retryAfterOf(error) ?? target.retry.initialIntervalMs);
      continue;
    }
    if (result.outcome === 'delivered') return settle('delivered');
    // attemptsUsed counts every real attempt so far; workflows started before the patch added it.
    attemptsMade = patched('deferral-counts-all-attempts') ? result.attemptsUsed : attemptsMade + result.attemptsUsed;
    // Large fan-outs keep to regular activities (see deliverEvent); workflows started
    // before the patch try again as regular activities too.
    local = localFirst && patched('deferred-attempts-run-locally');
    const remaining = target.retry.expirationMs - (Date.now() - startedAt);
    const waitMs = Math.max(1, Math.min(result.retryInMs ?? deferralDelayMs(deferrals++), remaining));
    if (result.queued) {
      turns.queued = true;
      await condition(() => turns.signalled.has(target.deliveryId), waitMs);
    } else {
      // A plain sleep, as before turns: histories recorded then replay unchanged.
      await sleep(waitMs);
    }
  }
}

function localAttempt(target: DeliveryTarget, remainingMs: number) {
  return proxyLocalActivities<HookrelayActivities>({
    startToCloseTimeout: target.attemptTimeoutMs + 15_000,
    scheduleToCloseTimeout: remainingMs,
    retry: { maximumAttempts: 1 },
  });
}

function retryingAttempts(target: DeliveryTarget, attemptsMade: number, remainingMs: number) {
  return proxyActivities<HookrelayActivities>({
    activityId: deliveryActivityId(target),
    // The attempt enforces its own timeout; this is the backstop for a stuck worker.
    startToCloseTimeout: target.attemptTimeoutMs + 15_000,
    scheduleToCloseTimeout: remainingMs,
    retry: {
      initialInterval: target.retry.initialIntervalMs,
      backoffCoefficient: target.retry.backoffCoefficient,
      maximumInterval: target.retry.maximumIntervalMs,
      // 0 means unlimited within the expiration window; the SDK spells that as absent.
      ...(target.retry.maximumAttempts > 0 ? { maximumAttempts: target.retry.maximumAttempts - attemptsMade } : {}),
      nonRetryableErrorTypes: [...NON_RETRYABLE_DELIVERY_FAILURE_TYPES],
    },
  });
}

/** A first attempt the first round made, as the local activity would have returned or thrown it. */
function outcomeOf(attempt: FirstAttempt): DeliverResult {
  if ('result' in attempt) return attempt.result;
  const { type, message, nonRetryable, retryAfterMs } = attempt.failure;
  throw ApplicationFailure.create({
    message,
    type,
    nonRetryable,
    details: retryAfterMs === undefined ? undefined : [{ retryAfterMs }],
  });
}

/** Without the worker's estimate, deferred attempts back off from 0.5 s to 30 s, with jitter. */
function deferralDelayMs(deferrals: number): number {
  const base = Math.min(30_000, 500 * 2 ** deferrals);
  return base / 2 + Math.random() * (base / 2);
}

/** Regular activities fail with an ActivityFailure around the cause; local ones with the cause itself. */
function applicationFailureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ApplicationFailure) return error;
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
}

function permanentOutcome(error: unknown): TargetOutcome | undefined {
  const failure = applicationFailureOf(error);
  if (failure?.type && (NON_RETRYABLE_DELIVERY_FAILURE_TYPES as readonly string[]).includes(failure.type)) {
    return finalStatusForFailure(failure.type as DeliveryFailureType);
  }
  return undefined;
}

/** A receiver's Retry-After, which the activity puts in the failure's details. */
function retryAfterOf(error: unknown): number | undefined {
  const detail = applicationFailureOf(error)?.details?.[0] as { retryAfterMs?: unknown } | undefined;
  return typeof detail?.retryAfterMs === 'number' ? detail.retryAfterMs : undefined;
}
