import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpointLimiter } from '../../src/delivery/endpoint-limiter';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { DELIVERY_TURN_SIGNAL } from '../../src/domain/delivery-plan';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { eventsCollection } from '../../src/store/event-store';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

const TWO_SECONDS_APART = { initial_interval: '2s', backoff_coefficient: 1, maximum_interval: '2s', maximum_attempts: 5, expiration: '5m' };

/**
 * A retried delivery activity whose earlier attempt delivered, but whose result was lost
 * (its worker died between recording the attempt and reporting it), sends nothing more.
 */
describe('a retried attempt after a lost result', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let receiver: Receiver;

  beforeAll(async () => {
    ctx = await createTestContext('lost-results');
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx, { eager: true });
    receiver = await startReceiver([503, 503], 200);
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await ctx?.close();
  });

  it('finds the delivery recorded as made by its run, and sends nothing', async () => {
    const { webhook } = await createWebhook(ctx, { url: receiver.url, retryPolicy: TWO_SECONDS_APART });
    const eventId = await emitTestEvent(ctx);
    // The first round's attempt and the retrying activity's first attempt both got 503.
    const record = await eventually(async () => {
      const r = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
      return r && r.attempt_count === 2 ? r : undefined;
    }, 30_000, 'two attempts recorded');
    const { runId } = await ctx.client.workflow.getHandle(eventId).describe();
    // What a third attempt that delivered leaves behind when its worker dies before reporting it.
    const at = new Date();
    await deliveriesCollection(ctx.db).updateOne(
      { _id: record._id },
      {
        $set: { status: 'delivered', delivered_at: at, updated_at: at, next_retry_at: null },
        $push: { attempts: { n: 3, at, status_code: 200, duration_ms: 1, error: null, error_message: null, response_excerpt: null, run: runId } },
        $inc: { attempt_count: 1 },
      },
    );

    await ctx.client.workflow.getHandle(eventId).result();
    expect((await eventsCollection(ctx.db).findOne({ _id: eventId }))?.status).toBe('delivered');
    expect(receiver.requests).toHaveLength(2);
    expect(await deliveriesCollection(ctx.db).findOne({ _id: record._id })).toMatchObject({ status: 'delivered', attempt_count: 3 });
  });
});

/**
 * A workflow task that ran a local attempt and then completed the run is rejected when a
 * signal came meanwhile; the next task runs the attempt again, which finds it delivered.
 */
describe('a local attempt whose task was rejected', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let receiver: Receiver;

  beforeAll(async () => {
    ctx = await createTestContext('lost-results-local');
    // One attempt at a time per endpoint: the second event's attempt is deferred, and
    // made later by the workflow as a local attempt of its own.
    await ctx.startWorker({ limiter: createEndpointLimiter(1) });
    dispatcher = await startDispatcher(ctx, { eager: true });
    receiver = await startReceiver([], { status: 200, delayMs: 1_500 });
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await ctx?.close();
  });

  it('sends it once', async () => {
    await createWebhook(ctx, { url: receiver.url });
    const first = await emitTestEvent(ctx);
    await receiver.waitFor(1, 30_000);
    const second = await emitTestEvent(ctx);
    // The second event's own attempt: signalled while the receiver holds it.
    await receiver.waitFor(2, 30_000);
    await ctx.client.workflow.getHandle(second).signal(DELIVERY_TURN_SIGNAL, { deliveryId: 'dlv_none' });
    await Promise.all([first, second].map((id) => ctx.client.workflow.getHandle(id).result()));

    const history = await ctx.client.workflow.getHandle(second).fetchHistory();
    expect((history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length).toBeGreaterThan(0);
    expect(receiver.requests).toHaveLength(2);
    const deliveries = await deliveriesCollection(ctx.db).find({ event_id: second }).toArray();
    expect(deliveries.map((d) => [d.status, d.attempt_count])).toEqual([['delivered', 1]]);
  });
});
