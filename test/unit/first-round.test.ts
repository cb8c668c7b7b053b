import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { DeliverInput } from '../../activities/deliver';
import type { FinalizeEventInput } from '../../activities/finalize-event';
import { createFirstRoundActivity } from '../../activities/first-round';
import { AttemptSlots } from '../../src/delivery/attempt-slots';
import { attemptTimeoutMs } from '../../src/delivery/attempt-timeout';
import { DeliveryFailureType } from '../../src/domain/delivery-outcome';
import {
  LOCAL_FIRST_ATTEMPT_MAX_TARGETS,
  MAX_ATTEMPT_TIMEOUT_MS,
  type DeliverResult,
  type DeliveryTarget,
} from '../../src/domain/delivery-plan';
import { resolveRetryPolicy } from '../../src/domain/retry-policy';
import { WEBHOOK_LIMITS } from '../../src/domain/webhook-schemas';

const target = (n: number): DeliveryTarget => ({
  deliveryId: `dlv_${n}`,
  webhookId: `wh_${n}`,
  channelIndex: 0,
  channel: 'webhook',
  attemptTimeoutMs: 5_000,
  retry: resolveRetryPolicy(null),
});

/** The first round over `count` targets whose attempts answer as `answer` says. */
function round(
  count: number,
  answer: (t: DeliveryTarget) => Promise<DeliverResult>,
  finalize?: (i: FinalizeEventInput) => Promise<void>,
  options: { cancellation?: AbortSignal; slots?: AttemptSlots; slotWaitMs?: number } = {},
) {
  const attempts: Array<{ input: DeliverInput; attemptNumber: number }> = [];
  const finalized: FinalizeEventInput[] = [];
  const activity = createFirstRoundActivity({
    resolveTargets: async () => Array.from({ length: count }, (_, i) => target(i)),
    attempt: async (input, attemptNumber) => {
      attempts.push({ input, attemptNumber });
      return answer(input.target);
    },
    finalizeEvent: async (input) => {
      if (finalize) await finalize(input);
      finalized.push(input);
    },
    slots: options.slots ?? new AttemptSlots(2),
    cancellation: options.cancellation ?? new AbortController().signal,
    ...(options.slotWaitMs === undefined ? {} : { slotWaitMs: options.slotWaitMs }),
  });
  return { activity, attempts, finalized };
}

const delivered = async (): Promise<DeliverResult> => ({ outcome: 'delivered' });

describe('first round', () => {
  it('makes every first attempt as attempt 1 and records the outcome when all were delivered', async () => {
    const { activity, attempts, finalized } = round(3, delivered);
    const result = await activity({ eventId: 'evt_1' });
    expect(attempts.map((a) => [a.input.target.deliveryId, a.attemptNumber])).toEqual([['dlv_0', 1], ['dlv_1', 1], ['dlv_2', 1]]);
    expect(finalized).toEqual([{ eventId: 'evt_1', outcome: 'delivered', unsettled: [], partialRun: false }]);
    expect(result.finalized).toBe('delivered');
    expect(result.attempts).toEqual([{ result: { outcome: 'delivered' } }, { result: { outcome: 'delivered' } }, { result: { outcome: 'delivered' } }]);
  });

  it('records no_subscribers for an event nobody subscribes to', async () => {
    const { activity, finalized } = round(0, delivered);
    expect(await activity({ eventId: 'evt_1' })).toEqual({ targets: [], attempts: [], finalized: 'no_subscribers' });
    expect(finalized[0]!.outcome).toBe('no_subscribers');
  });

  it('marks a redelivery to chosen webhooks as a partial run', async () => {
    const { activity, finalized } = round(1, delivered);
    await activity({ eventId: 'evt_1', webhookIds: ['wh_0'] });
    expect(finalized[0]!.partialRun).toBe(true);
  });

  it('reports failed attempts without throwing, and leaves the outcome to the workflow', async () => {
    const { activity, finalized } = round(3, async (t) => {
      if (t.deliveryId === 'dlv_1') {
        throw ApplicationFailure.create({ message: 'HTTP 503 (webhook wh_1)', type: DeliveryFailureType.RetryableFailure, details: [{ retryAfterMs: 1_500 }] });
      }
      if (t.deliveryId === 'dlv_2') throw ApplicationFailure.nonRetryable('http_404 (webhook wh_2)', DeliveryFailureType.PermanentFailure);
      return { outcome: 'delivered' };
    });
    const result = await activity({ eventId: 'evt_1' });
    expect(result.finalized).toBeUndefined();
    expect(finalized).toEqual([]);
    expect(result.attempts).toEqual([
      { result: { outcome: 'delivered' } },
      { failure: { type: DeliveryFailureType.RetryableFailure, message: 'HTTP 503 (webhook wh_1)', nonRetryable: false, retryAfterMs: 1_500 } },
      { failure: { type: DeliveryFailureType.PermanentFailure, message: 'http_404 (webhook wh_2)', nonRetryable: true } },
    ]);
  });

  it('reports an unexpected error as a retryable failure', async () => {
    const { activity } = round(1, async () => {
      throw new Error('connection pool closed');
    });
    expect((await activity({ eventId: 'evt_1' })).attempts).toEqual([{ failure: { message: 'connection pool closed', nonRetryable: false } }]);
  });

  it('does not record the outcome when an attempt was deferred', async () => {
    const { activity, finalized } = round(2, async (t) =>
      t.deliveryId === 'dlv_0' ? { outcome: 'deferred', attemptsUsed: 0, retryInMs: 200, queued: true } : { outcome: 'delivered' });
    const result = await activity({ eventId: 'evt_1' });
    expect(result.finalized).toBeUndefined();
    expect(finalized).toEqual([]);
    expect(result.attempts![0]).toEqual({ result: { outcome: 'deferred', attemptsUsed: 0, retryInMs: 200, queued: true } });
  });

  it('leaves the outcome unrecorded, not the round failed, when recording it fails', async () => {
    const { activity, attempts } = round(2, delivered, async () => {
      throw new Error('not primary');
    });
    const result = await activity({ eventId: 'evt_1' });
    expect(attempts).toHaveLength(2);
    expect(result.finalized).toBeUndefined();
    expect(result.attempts).toHaveLength(2);
  });

  it('leaves the outcome to the workflow when the round was cancelled (timed out) meanwhile', async () => {
    const timedOut = new AbortController();
    const { activity, attempts, finalized } = round(1, async () => {
      timedOut.abort();
      return { outcome: 'delivered' };
    }, undefined, { cancellation: timedOut.signal });
    const result = await activity({ eventId: 'evt_1' });
    expect(attempts).toHaveLength(1);
    expect(result.finalized).toBeUndefined();
    expect(finalized).toEqual([]);
  });

  it('sends nothing more once cancelled, not even the attempts still waiting for a slot', async () => {
    const timedOut = new AbortController();
    const slots = new AttemptSlots(1);
    const { activity, attempts } = round(3, async () => {
      // The first attempt outlives the round: the others wait for its slot meanwhile.
      timedOut.abort();
      return { outcome: 'delivered' };
    }, undefined, { cancellation: timedOut.signal, slots });
    const result = await activity({ eventId: 'evt_1' });
    expect(attempts.map((a) => a.input.target.deliveryId)).toEqual(['dlv_0']);
    expect(result.attempts!.slice(1).map((a) => 'result' in a && a.result.outcome)).toEqual(['deferred', 'deferred']);
    // Every slot came back.
    expect(await slots.acquire(0)).toBeTypeOf('function');
  });

  it('leaves an attempt that got no slot in time to the workflow, deferred and not counted', async () => {
    const slots = new AttemptSlots(1);
    const held = await slots.acquire(0);
    const { activity, attempts } = round(1, delivered, undefined, { slots, slotWaitMs: 20 });
    const result = await activity({ eventId: 'evt_1' });
    held!();
    expect(attempts).toEqual([]);
    expect(result.finalized).toBeUndefined();
    const [only] = result.attempts!;
    expect(only).toMatchObject({ result: { outcome: 'deferred', attemptsUsed: 0 } });
    const retryInMs = 'result' in only! && only.result.outcome === 'deferred' ? only.result.retryInMs : undefined;
    expect(retryInMs).toBeGreaterThanOrEqual(500);
    expect(retryInMs).toBeLessThanOrEqual(1_500);
  });

  it('keeps its attempts within the process-wide attempt slots', async () => {
    let inFlight = 0;
    let most = 0;
    const { activity, attempts } = round(7, async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { outcome: 'delivered' };
    });
    expect((await activity({ eventId: 'evt_1' })).finalized).toBe('delivered');
    expect(attempts).toHaveLength(7);
    expect(most).toBe(2);
  });

  it('makes no attempt for a fan-out larger than the local first-attempt limit', async () => {
    const { activity, attempts, finalized } = round(LOCAL_FIRST_ATTEMPT_MAX_TARGETS + 1, delivered);
    const result = await activity({ eventId: 'evt_1' });
    expect(result.targets).toHaveLength(LOCAL_FIRST_ATTEMPT_MAX_TARGETS + 1);
    expect(result.attempts).toBeUndefined();
    expect(attempts).toEqual([]);
    expect(finalized).toEqual([]);
  });
});

describe('MAX_ATTEMPT_TIMEOUT_MS', () => {
  it('covers the longest timeout a channel can be given', () => {
    expect(WEBHOOK_LIMITS.timeoutSeconds.max * 1000).toBeLessThanOrEqual(MAX_ATTEMPT_TIMEOUT_MS);
    for (const channel of ['webhook', 'slack', 'email', 'sms'] as const) {
      expect(attemptTimeoutMs({ channel, configs: {} } as Parameters<typeof attemptTimeoutMs>[0])).toBeLessThanOrEqual(MAX_ATTEMPT_TIMEOUT_MS);
    }
  });
});
