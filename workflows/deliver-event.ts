import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { HookrelayActivities } from '../activities';
import {
  deliveryActivityId,
  summarizeOutcome,
  type DeliverEventInput,
  type DeliverEventResult,
  type DeliveryTarget,
  type TargetOutcome,
  type TargetResult,
} from '../src/domain/delivery-plan';
import { finalStatusForFailure, NON_RETRYABLE_DELIVERY_FAILURE_TYPES, type DeliveryFailureType } from '../src/domain/delivery-outcome';
import { OUTCOME, WEBHOOK_IDS } from '../src/domain/search-attributes';

// Bookkeeping runs as local activities: no server round trip per step.
const bookkeeping = proxyLocalActivities<HookrelayActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/**
 * One event: resolve its subscribers, deliver to each (webhook, channel) concurrently
 * under that webhook's retry policy, settle each independently, record the outcome.
 */
export async function deliverEvent(input: DeliverEventInput): Promise<DeliverEventResult> {
  const targets = await bookkeeping.resolveTargets(input);
  if (targets.length > 0) {
    upsertSearchAttributes([{ key: WEBHOOK_IDS, value: [...new Set(targets.map((t) => t.webhookId))] }]);
  }
  const results = await Promise.all(targets.map((target) => deliverTarget(input.eventId, target)));
  const outcome = summarizeOutcome(results);
  await bookkeeping.finalizeEvent({
    eventId: input.eventId,
    outcome,
    unsettled: results.flatMap((result, i) =>
      result.outcome === 'delivered' ? [] : [{ target: targets[i]!, outcome: result.outcome }],
    ),
  });
  upsertSearchAttributes([{ key: OUTCOME, value: outcome }]);
  return { eventId: input.eventId, outcome, targets: results };
}

async function deliverTarget(eventId: string, target: DeliveryTarget): Promise<TargetResult> {
  const { deliver } = proxyActivities<HookrelayActivities>({
    activityId: deliveryActivityId(target),
    // The attempt enforces its own timeout; this is the backstop for a stuck worker.
    startToCloseTimeout: target.attemptTimeoutMs + 15_000,
    scheduleToCloseTimeout: target.retry.expirationMs,
    retry: {
      initialInterval: target.retry.initialIntervalMs,
      backoffCoefficient: target.retry.backoffCoefficient,
      maximumInterval: target.retry.maximumIntervalMs,
      // 0 means unlimited within the expiration window; the SDK spells that as absent.
      ...(target.retry.maximumAttempts > 0 ? { maximumAttempts: target.retry.maximumAttempts } : {}),
      nonRetryableErrorTypes: [...NON_RETRYABLE_DELIVERY_FAILURE_TYPES],
    },
  });
  const result = { deliveryId: target.deliveryId, webhookId: target.webhookId, channelIndex: target.channelIndex };
  try {
    await deliver({ eventId, target });
    return { ...result, outcome: 'delivered' };
  } catch (error) {
    return { ...result, outcome: outcomeOfFailure(error) };
  }
}

function outcomeOfFailure(error: unknown): TargetOutcome {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type) {
    if ((NON_RETRYABLE_DELIVERY_FAILURE_TYPES as readonly string[]).includes(error.cause.type)) {
      return finalStatusForFailure(error.cause.type as DeliveryFailureType);
    }
  }
  // Retries exhausted or the retention window closed.
  return 'failed';
}
