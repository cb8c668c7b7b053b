import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

const HOLD_MS = 7_000;
const SLOW_EVENTS = 16;

/**
 * The worker polls for new workflow tasks only while few are at work, so a burst waits
 * in Temporal's task queue; tasks whose first attempts wait on receivers do not count,
 * so slow receivers cannot hold every task the worker takes. (Held 7 s, inside the
 * webhook's 10 s timeout: a wide margin for the 16 holds and the healthy delivery.)
 */
describe('workflow task slots', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let slow: Receiver;
  let healthy: Receiver;

  beforeAll(async () => {
    ctx = await createTestContext('wft-slots', { HOOKRELAY_ENDPOINT_CONCURRENCY: '50' });
    // New events' tasks while fewer than 2 are at work; the worker polls the task queue 2 at a time.
    await ctx.startWorker({}, { maxBusyWorkflowTasks: 2 });
    // Not eager: every task comes through a poll, which is what the limit governs.
    dispatcher = await startDispatcher(ctx);
    slow = await startReceiver([], { status: 200, delayMs: HOLD_MS });
    healthy = await startReceiver();
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await Promise.all([slow?.close(), healthy?.close()]);
    await ctx?.close();
  });

  it('takes more tasks while first attempts wait on a slow receiver', async () => {
    await createWebhook(ctx, { url: slow.url, organizationId: 'org_slow', timeout: 10 });
    await createWebhook(ctx, { url: healthy.url, organizationId: 'org_healthy' });
    for (let i = 0; i < SLOW_EVENTS; i++) await emitTestEvent(ctx, { organizationId: 'org_slow' });
    // Every slow event's first attempt is held at once: their tasks rest, more are taken.
    const held = await slow.waitFor(SLOW_EVENTS, HOLD_MS * 3);
    const firstAnswerAt = held[0]!.at + HOLD_MS;
    expect(held[SLOW_EVENTS - 1]!.at).toBeLessThan(firstAnswerAt);

    await emitTestEvent(ctx, { organizationId: 'org_healthy' });
    const [received] = await healthy.waitFor(1, HOLD_MS * 3);
    // Delivered while every slow attempt was still held, not in a slot one of them freed.
    expect(received!.at).toBeLessThan(firstAnswerAt);
  });
});
