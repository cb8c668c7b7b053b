import { optionalTsToMs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { createEndpointLimiter } from '../../src/delivery/endpoint-limiter';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

/**
 * A slow endpoint gets at most HOOKRELAY_ENDPOINT_CONCURRENCY attempts at once per
 * worker; the rest wait in their workflows until told a slot is free for them, so a
 * healthy endpoint is served meanwhile even when the worker has only a few slots.
 */
describe('per-endpoint concurrency', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let slow: Receiver;
  let healthy: Receiver;

  beforeAll(async () => {
    ctx = await createTestContext('isolation', { HOOKRELAY_ENDPOINT_CONCURRENCY: '2', HOOKRELAY_BREAKER_FAILURES: '5' });
    await ctx.startWorker({}, { maxConcurrentActivityTaskExecutions: 4, maxConcurrentLocalActivityExecutions: 4 });
    dispatcher = await startDispatcher(ctx, { eager: true });
    slow = await startReceiver([], { status: 200, delayMs: 1_500 });
    healthy = await startReceiver();
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await Promise.all([slow?.close(), healthy?.close()]);
    await ctx?.close();
  });

  it('keeps a slow endpoint within its limit and serves a healthy one meanwhile', async () => {
    const { webhook: slowHook } = await createWebhook(ctx, { url: slow.url, organizationId: 'org_slow', timeout: 5 });
    await createWebhook(ctx, { url: healthy.url, organizationId: 'org_healthy' });
    const slowEvents = 10;
    for (let i = 0; i < slowEvents; i++) await emitTestEvent(ctx, { organizationId: 'org_slow' });
    await slow.waitFor(1, 10_000);
    for (let i = 0; i < 5; i++) await emitTestEvent(ctx, { organizationId: 'org_healthy' });

    await healthy.waitFor(5, 20_000);
    // The healthy endpoint was served while the slow one still had a backlog.
    expect(slow.requests.length).toBeLessThan(slowEvents);

    await slow.waitFor(slowEvents, 60_000);
    expect(slow.maxInFlight).toBeLessThanOrEqual(2);
    // Deferred attempts are not attempts: every slow delivery took exactly one.
    const deliveries = await eventually(async () => {
      const docs = await deliveriesCollection(ctx.db).find({ webhook_id: slowHook._id }).toArray();
      return docs.length === slowEvents && docs.every((d) => d.status === 'delivered') ? docs : undefined;
    }, 30_000, 'slow deliveries delivered');
    expect(deliveries.map((d) => d.attempt_count)).toEqual(new Array(slowEvents).fill(1));
  });

  it('tries a deferred delivery again as a local activity, then hands a failure to the retrying activity', async () => {
    const busy = await startReceiver([{ status: 200, delayMs: 1_500 }, { status: 200, delayMs: 1_500 }, 500]);
    try {
      const { webhook } = await createWebhook(ctx, { url: busy.url, organizationId: 'org_busy' });
      await emitTestEvent(ctx, { organizationId: 'org_busy' });
      await emitTestEvent(ctx, { organizationId: 'org_busy' });
      await busy.waitFor(2, 10_000);
      // Both slots are held for 1.5 s: this one is deferred, then its first attempt gets the 500.
      const eventId = await emitTestEvent(ctx, { organizationId: 'org_busy' });
      const requests = await busy.waitFor(4, 20_000);
      expect(requests.slice(2).map((r) => (JSON.parse(r.body) as { event_id: string }).event_id)).toEqual([eventId, eventId]);

      const delivery = await eventually(async () => {
        const doc = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
        return doc?.status === 'delivered' ? doc : undefined;
      }, 20_000, 'the deferred delivery delivered');
      // The deferral is not an attempt; the failed attempt is 1, its retry 2.
      expect(delivery.attempts.map((a) => [a.n, a.error])).toEqual([
        [1, 'http_500'],
        [2, null],
      ]);
      // The record is written inside the attempt; the activity's started event only once it completes.
      const handle = ctx.client.workflow.getHandle(eventId);
      await handle.result();
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      // It was deferred: a timer for the deferral, then one for the retry's wait.
      expect(events.filter((e) => e.timerStartedEventAttributes).length).toBeGreaterThanOrEqual(2);
      // The failed attempt ran locally: the retrying activity succeeded at its own first attempt.
      const started = events.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes] : []));
      expect(started.map((a) => a.attempt)).toEqual([1]);
    } finally {
      await busy.close();
    }
  });

  it('leaves an endpoint alone after five failures in a row, then probes it', async () => {
    const dead = await startReceiver([], 500);
    try {
      const { webhook } = await createWebhook(ctx, { url: dead.url, organizationId: 'org_dead' }); // retried every second
      const eventId = await emitTestEvent(ctx, { organizationId: 'org_dead' });
      await dead.waitFor(5, 20_000);
      // Open for 5 s at least: nothing reaches it meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(dead.requests).toHaveLength(5);
      const probe = await dead.waitFor(6, 30_000);
      expect(probe[5]!.at - probe[4]!.at).toBeGreaterThanOrEqual(5_000);
      // The attempts not sent meanwhile are recorded as such and count against the policy.
      const delivery = await eventually(async () => {
        const doc = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
        return doc && doc.attempts.filter((a) => a.error === 'http_500').length >= 6 ? doc : undefined;
      }, 10_000, 'the probe recorded');
      const errors = delivery.attempts.map((a) => a.error);
      const probeAt = errors.indexOf('http_500', 5);
      expect(errors.slice(0, 5)).toEqual(new Array(5).fill('http_500'));
      expect(probeAt).toBeGreaterThan(5);
      expect(new Set(errors.slice(5, probeAt))).toEqual(new Set(['circuit_open']));
      expect(delivery.attempts.map((a) => a.n)).toEqual(delivery.attempts.map((_, i) => i + 1));
    } finally {
      await dead.close();
    }
  }, 60_000);
});

/**
 * A slow endpoint's backlog past the limiter's horizon queues for turns: each deferred
 * attempt is told by a signal when a slot frees up. The horizon is 0 here, so the first
 * deferral already queues.
 */
describe('turns at a full endpoint', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;

  beforeAll(async () => {
    ctx = await createTestContext('turns', { HOOKRELAY_ENDPOINT_CONCURRENCY: '2' });
    await ctx.startWorker({ limiter: createEndpointLimiter(2, { horizonMs: 0 }) });
    dispatcher = await startDispatcher(ctx, { eager: true });
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await ctx?.close();
  });

  it('tells a queued delivery when a slot frees up, rather than leaving it to its timer', async () => {
    const busy = await startReceiver([], { status: 200, delayMs: 1_500 });
    try {
      const { webhook } = await createWebhook(ctx, { url: busy.url, organizationId: 'org_turns', timeout: 5 });
      await emitTestEvent(ctx, { organizationId: 'org_turns' });
      await emitTestEvent(ctx, { organizationId: 'org_turns' });
      await busy.waitFor(2, 10_000);
      // Both slots are held 1.5 s: this one queues, with a fallback timer of 10 s and more.
      const eventId = await emitTestEvent(ctx, { organizationId: 'org_turns' });
      await busy.waitFor(3, 20_000);
      const handle = ctx.client.workflow.getHandle(eventId);
      await handle.result();
      const events = (await handle.fetchHistory()).events ?? [];
      const signals = events.flatMap((e) => (e.workflowExecutionSignaledEventAttributes ? [e.workflowExecutionSignaledEventAttributes] : []));
      expect(signals.map((s) => s.signalName)).toEqual(['deliveryTurn']);
      // The wait ended on the signal: its timer was cancelled. The one timer that fired
      // is the 1 ms that commits the attempt before the task that completes the run.
      const timers = events.flatMap((e) => (e.timerStartedEventAttributes ? [e.timerStartedEventAttributes] : []));
      expect(timers).toHaveLength(2);
      expect(events.filter((e) => e.timerCanceledEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.timerFiredEventAttributes)).toHaveLength(1);
      expect(Number(timers[1]!.startToFireTimeout?.nanos ?? 0)).toBe(1_000_000);
      const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
      expect(delivery?.status).toBe('delivered');
      expect(delivery?.attempt_count).toBe(1);
      expect(busy.requests).toHaveLength(3);
      expect(busy.maxInFlight).toBeLessThanOrEqual(2);
    } finally {
      await busy.close();
    }
  });

  it('keeps a turn signalled while a long first round runs, for the delivery it was queued for', async () => {
    const busy = await startReceiver([], { status: 200, delayMs: 1_500 });
    // Holds the round open past 80 % of the workflow task timeout (10 s): the worker then
    // completes the task and takes the turn signal in a new one while the round still runs.
    const long = await startReceiver([], { status: 200, delayMs: 9_000 });
    try {
      const org = 'org_long_round';
      const { webhook: busyHook } = await createWebhook(ctx, {
        url: busy.url,
        organizationId: org,
        timeout: 5,
        eventTypes: ['collection.updated', 'collection.documents.written'],
      });
      await createWebhook(ctx, { url: long.url, organizationId: org, timeout: 15 });
      const fill = { organizationId: org, eventType: 'collection.updated', metadata: { collection_id: 'col_products' } };
      await emitTestEvent(ctx, fill);
      await emitTestEvent(ctx, fill);
      await busy.waitFor(2, 10_000);
      // Its busy delivery queues (fallback 10 s and more) while its long one holds the round.
      const eventId = await emitTestEvent(ctx, { organizationId: org });
      await long.waitFor(1, 10_000);
      const handle = ctx.client.workflow.getHandle(eventId);
      await handle.result();
      const events = (await handle.fetchHistory()).events ?? [];
      const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes);
      expect(signals).toHaveLength(1);
      // The signal came in while the round ran: it is recorded before the round's marker.
      const markerAt = events.findIndex((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
      expect(events.indexOf(signals[0]!)).toBeLessThan(markerAt);
      // The queued delivery went on the kept turn: no fallback timer fired, only the 1 ms
      // one that commits the attempt before the task that completes the run.
      const timerMs = new Map(
        events.flatMap((e) => {
          const timer = e.timerStartedEventAttributes;
          return timer ? [[timer.timerId, optionalTsToMs(timer.startToFireTimeout)] as const] : [];
        }),
      );
      const fired = events.flatMap((e) => (e.timerFiredEventAttributes ? [timerMs.get(e.timerFiredEventAttributes.timerId)] : []));
      expect(fired).toEqual([1]);
      const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: busyHook._id });
      expect(delivery?.status).toBe('delivered');
      expect(delivery?.attempt_count).toBe(1);
      expect(busy.requests).toHaveLength(3);
      expect(long.requests).toHaveLength(1);
    } finally {
      await Promise.all([busy.close(), long.close()]);
    }
  }, 60_000);
});
