import type { Db } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActivityDependencies } from '../../activities';
import { AttemptSlots, DEFAULT_ATTEMPT_SLOTS } from '../../src/delivery/attempt-slots';
import { DELIVERY_TURN_SIGNAL } from '../../src/domain/delivery-plan';
import { deliveryIdFor } from '../../src/domain/ids';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { eventsCollection } from '../../src/store/event-store';
import { RecentEvents } from '../../src/store/recent-events';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

/** Events whose first read fails once, as when MongoDB steps down mid-read: the first round then fails as a whole. */
class FirstReadFails extends RecentEvents {
  private readonly failed = new Set<string>();
  override async load(db: Db, eventId: string) {
    if (!this.failed.has(eventId)) {
      this.failed.add(eventId);
      throw new Error('not primary');
    }
    return super.load(db, eventId);
  }
}

/** The round's second attempt cannot get a slot: its wait fails after the first attempt is done, failing the round as a whole. */
class SecondSlotFails extends AttemptSlots {
  private calls = 0;
  override async acquire(waitMs?: number, signal?: AbortSignal) {
    this.calls += 1;
    if (this.calls === 2) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      throw new Error('slot bookkeeping failed');
    }
    return super.acquire(waitMs, signal);
  }
}

const ONE_SECOND_APART = { initial_interval: '1s', backoff_coefficient: 1, maximum_interval: '1s', maximum_attempts: 5, expiration: '5m' };

/** The activity types of a run's local-activity markers, in history order. */
async function localActivities(ctx: TestContext, workflowId: string): Promise<string[]> {
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const attrs = e.markerRecordedEventAttributes;
    const data = attrs?.markerName === 'core_local_activity' ? attrs.details?.data?.payloads?.[0]?.data : undefined;
    return data ? [String(JSON.parse(Buffer.from(data).toString('utf8')).activity_type)] : [];
  });
}

describe('first round: resolve, first attempts and outcome in one local activity', () => {
  const receivers: Receiver[] = [];
  const contexts: TestContext[] = [];
  const dispatchers: Dispatcher[] = [];

  async function setUp(overrides: Partial<ActivityDependencies> = {}) {
    const ctx = await createTestContext('first-round');
    contexts.push(ctx);
    await ctx.startWorker(overrides);
    dispatchers.push(await startDispatcher(ctx, { eager: true }));
    const r = await startReceiver([], 200);
    receivers.push(r);
    return { ctx, r };
  }

  async function finished(ctx: TestContext, eventId: string) {
    const event = await eventually(async () => {
      const e = await eventsCollection(ctx.db).findOne({ _id: eventId });
      return e && !['pending', 'dispatched'].includes(e.status) ? e : undefined;
    }, 60_000, `event ${eventId} finished`);
    await ctx.client.workflow.getHandle(eventId).result();
    return event;
  }

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('completes an event its receivers all accept with one local activity and no other step', async () => {
    const { ctx, r } = await setUp();
    for (let i = 0; i < 3; i++) await createWebhook(ctx, { url: r.url });
    const eventId = await emitTestEvent(ctx);
    const event = await finished(ctx, eventId);
    expect(event.status).toBe('delivered');
    expect(r.requests).toHaveLength(3);
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound']);
    const { searchAttributes } = await ctx.client.workflow.getHandle(eventId).describe();
    expect(searchAttributes.HookrelayOutcome).toEqual(['delivered']);
    expect(searchAttributes.HookrelayWebhookIds).toHaveLength(3);
  });

  it('records no_subscribers in the first round when nobody subscribes', async () => {
    const { ctx } = await setUp();
    const eventId = await emitTestEvent(ctx);
    expect((await finished(ctx, eventId)).status).toBe('no_subscribers');
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound']);
  });

  it('hands a failed first attempt on to the retrying activity and records the outcome after it', async () => {
    const { ctx } = await setUp();
    const failing = await startReceiver([503], 200);
    receivers.push(failing);
    const { webhook } = await createWebhook(ctx, { url: failing.url });
    const eventId = await emitTestEvent(ctx);
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    expect(failing.requests).toHaveLength(2);
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound', 'finalizeEvent']);
    const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(delivery!.attempts.map((a) => [a.n, a.status_code])).toEqual([[1, 503], [2, 200]]);
  });

  it('falls back to resolving, delivering and recording step by step when the first round fails as a whole', async () => {
    const { ctx, r } = await setUp({ events: new FirstReadFails() });
    await createWebhook(ctx, { url: r.url });
    const eventId = await emitTestEvent(ctx);
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    // The round failed before any attempt went out: the receiver got exactly one request.
    expect(r.requests).toHaveLength(1);
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound', 'resolveTargets', 'deliver', 'finalizeEvent']);
  });

  it('sends nothing again when the task that ran the round is rejected and the round runs once more', async () => {
    const { ctx } = await setUp();
    const slow = await startReceiver([], { status: 200, delayMs: 1_500 });
    receivers.push(slow);
    const { webhook } = await createWebhook(ctx, { url: slow.url });
    const eventId = await emitTestEvent(ctx);
    await slow.waitFor(1, 30_000);
    // A signal while the round runs: Temporal rejects the task that completes the run
    // (UnhandledCommand), and the next task runs the round again, its marker lost.
    await ctx.client.workflow.getHandle(eventId).signal(DELIVERY_TURN_SIGNAL, { deliveryId: 'dlv_none' });
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    const history = await ctx.client.workflow.getHandle(eventId).fetchHistory();
    expect((history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length).toBeGreaterThan(0);
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound']);
    // The round that ran again found the delivery recorded as delivered by this run.
    expect(slow.requests).toHaveLength(1);
    const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(delivery).toMatchObject({ status: 'delivered', attempt_count: 1 });
  });

  it('sends nothing again when the round outlasted its task, which the SDK extended, before the task was rejected', async () => {
    const { ctx } = await setUp();
    // Past 80 % of the 10 s task timeout, the SDK extends the task, recording its commands
    // so far: the task that is rejected later is not the run's first any more.
    const slow = await startReceiver([], { status: 200, delayMs: 9_500 });
    receivers.push(slow);
    await createWebhook(ctx, { url: slow.url, timeout: 20 });
    const eventId = await emitTestEvent(ctx);
    await slow.waitFor(1, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 8_800));
    await ctx.client.workflow.getHandle(eventId).signal(DELIVERY_TURN_SIGNAL, { deliveryId: 'dlv_none' });
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    const events = (await ctx.client.workflow.getHandle(eventId).fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes).length).toBeGreaterThan(1);
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes).length).toBeGreaterThan(0);
    expect(slow.requests).toHaveLength(1);
  }, 90_000);

  it('does not send again, step by step, what a round that failed as a whole had delivered', async () => {
    const { ctx, r } = await setUp({ attemptSlots: new SecondSlotFails(DEFAULT_ATTEMPT_SLOTS) });
    const other = await startReceiver([], 200);
    receivers.push(other);
    await createWebhook(ctx, { url: r.url });
    await createWebhook(ctx, { url: other.url });
    const eventId = await emitTestEvent(ctx);
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound', 'resolveTargets', 'deliver', 'deliver', 'finalizeEvent']);
    // The round delivered one before it failed; the workflow sent only the other.
    expect([r.requests.length, other.requests.length]).toEqual([1, 1]);
    const deliveries = await deliveriesCollection(ctx.db).find({ event_id: eventId }).toArray();
    expect(deliveries.map((d) => [d.status, d.attempt_count])).toEqual([['delivered', 1], ['delivered', 1]]);
  });

  it('does not send again, step by step, an attempt of a failed round that is still out', async () => {
    // Both receivers hold their request 3 s; the round fails 1 s in, while its first
    // attempt is still out, and the workflow goes on step by step at once.
    const { ctx } = await setUp({ attemptSlots: new SecondSlotFails(DEFAULT_ATTEMPT_SLOTS) });
    const slow = await Promise.all([0, 1].map(() => startReceiver([], { status: 200, delayMs: 3_000 })));
    receivers.push(...slow);
    for (const receiver of slow) await createWebhook(ctx, { url: receiver.url });
    const eventId = await emitTestEvent(ctx);
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound', 'resolveTargets', 'deliver', 'deliver', 'finalizeEvent']);
    // The step-by-step attempt waited for the round's, found it delivered and sent nothing.
    expect(slow.map((receiver) => receiver.requests.length)).toEqual([1, 1]);
    const deliveries = await deliveriesCollection(ctx.db).find({ event_id: eventId }).toArray();
    expect(deliveries.map((d) => [d.status, d.attempt_count])).toEqual([['delivered', 1], ['delivered', 1]]);
  });

  it('defers the step-by-step attempt while the round\'s attempt stays out past its wait, and then sends nothing', async () => {
    // The round's attempt is held 8 s, longer than a repeat waits for it (5 s): the repeat
    // is deferred, comes back, finds it ended and delivered.
    const { ctx } = await setUp({ attemptSlots: new SecondSlotFails(DEFAULT_ATTEMPT_SLOTS) });
    const slow = await Promise.all([0, 1].map(() => startReceiver([], { status: 200, delayMs: 8_000 })));
    receivers.push(...slow);
    for (const receiver of slow) await createWebhook(ctx, { url: receiver.url, timeout: 20 });
    const eventId = await emitTestEvent(ctx);
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    expect(slow.map((receiver) => receiver.requests.length)).toEqual([1, 1]);
    const steps = await localActivities(ctx, eventId);
    expect(steps.filter((step) => step === 'deliver').length).toBeGreaterThanOrEqual(3);
    const deliveries = await deliveriesCollection(ctx.db).find({ event_id: eventId }).toArray();
    expect(deliveries.map((d) => [d.status, d.attempt_count])).toEqual([['delivered', 1], ['delivered', 1]]);
  }, 90_000);

  it('logs an attempt that ends after its run settled the delivery, without changing the status', async () => {
    const { ctx } = await setUp();
    const slow = await startReceiver([{ status: 503, delayMs: 1_500 }], 200);
    receivers.push(slow);
    const { webhook } = await createWebhook(ctx, { url: slow.url, retryPolicy: ONE_SECOND_APART });
    const eventId = await emitTestEvent(ctx);
    await slow.waitFor(1, 30_000);
    // While the receiver holds the round's attempt, the delivery is settled elsewhere, as by
    // this run's workflow when it went on without a round that timed out.
    const deliveryId = deliveryIdFor(eventId, webhook._id, 0);
    const { runId } = await ctx.client.workflow.getHandle(eventId).describe();
    const settledAt = new Date();
    await deliveriesCollection(ctx.db).insertOne({
      _id: deliveryId,
      event_id: eventId,
      webhook_id: webhook._id,
      organization_id: webhook.organization_id,
      event_type: 'webhook.test',
      channel_index: 0,
      channel: 'webhook',
      status: 'canceled',
      attempts: [
        { n: 1, at: settledAt, status_code: null, duration_ms: 0, error: 'webhook_inactive', error_message: 'webhook is inactive', response_excerpt: null, run: runId },
      ],
      attempt_count: 1,
      next_retry_at: null,
      delivered_at: null,
      created_at: settledAt,
      updated_at: settledAt,
    });
    const record = await eventually(async () => {
      const r = await deliveriesCollection(ctx.db).findOne({ _id: deliveryId });
      return r && r.attempt_count >= 2 ? r : undefined;
    }, 30_000, 'the late attempt recorded');
    expect(record).toMatchObject({ status: 'canceled', updated_at: settledAt, next_retry_at: null, attempt_count: 2 });
    expect(record.attempts.map((a) => a.status_code)).toEqual([null, 503]);
    // This workflow still gets the round's result: it carries the failed attempt on as
    // usual, and its retry delivers, which moves the record to delivered.
    await ctx.client.workflow.getHandle(eventId).result();
    expect(await deliveriesCollection(ctx.db).findOne({ _id: deliveryId })).toMatchObject({ status: 'delivered', attempt_count: 3 });
  });

  it('hands an attempt that got no attempt slot in time back to the workflow, which sends it once', async () => {
    // One slot, held 1 s by whichever attempt takes it first; the other waits 0.2 s for it.
    const { ctx } = await setUp({ attemptSlots: new AttemptSlots(1), firstRoundSlotWaitMs: 200 });
    const slow = await Promise.all([0, 1].map(() => startReceiver([], { status: 200, delayMs: 1_000 })));
    receivers.push(...slow);
    for (const receiver of slow) await createWebhook(ctx, { url: receiver.url });
    const eventId = await emitTestEvent(ctx);
    expect((await finished(ctx, eventId)).status).toBe('delivered');
    expect(slow.map((receiver) => receiver.requests.length)).toEqual([1, 1]);
    // The round sent one of the two; the workflow sent the other after a short timer.
    expect(await localActivities(ctx, eventId)).toEqual(['deliverFirstRound', 'deliver', 'finalizeEvent']);
    const deliveries = await deliveriesCollection(ctx.db).find({ event_id: eventId }).toArray();
    expect(deliveries.map((d) => [d.status, d.attempt_count])).toEqual([['delivered', 1], ['delivered', 1]]);
  });
});
