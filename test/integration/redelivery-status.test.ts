import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import {
  deliveriesCollection,
  recordAttempt,
  releaseReopenedDeliveries,
  reopenDeliveries,
  restoreReopenedDeliveries,
  type DeliveryStatus,
} from '../../src/store/delivery-store';
import { eventsCollection, findEvent } from '../../src/store/event-store';
import { startRedeliveryWorkflow } from '../../src/temporal/start-redelivery-workflow';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

const TWO_ATTEMPTS = { initial_interval: '1s', backoff_coefficient: 1, maximum_interval: '1s', maximum_attempts: 2, expiration: '5m' };

/** A redelivery to some webhooks updates the event's status from all its deliveries. */
describe('event status after a partial redelivery', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let good: Receiver;
  let flaky: Receiver;

  beforeAll(async () => {
    ctx = await createTestContext('redelivery-status');
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx, { eager: true });
    good = await startReceiver();
    flaky = await startReceiver([500, 500], 200);
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await Promise.all([good?.close(), flaky?.close()]);
    await ctx?.close();
  });

  async function settledAs(eventId: string, workflowId: string, status: string) {
    await eventually(async () => {
      const { status: run } = await ctx.client.workflow.getHandle(workflowId).describe();
      return run.name === 'COMPLETED';
    }, 30_000, `${workflowId} completed`);
    expect((await findEvent(ctx.db, eventId))?.status).toBe(status);
  }

  it('stays partially_failed when only the delivered webhook is redelivered, and becomes delivered once the failed one is', async () => {
    const org = 'org_redelivery';
    const a = await createWebhook(ctx, { url: good.url, organizationId: org, retryPolicy: TWO_ATTEMPTS });
    const b = await createWebhook(ctx, { url: flaky.url, organizationId: org, retryPolicy: TWO_ATTEMPTS });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await settledAs(eventId, eventId, 'partially_failed');
    const event = (await eventsCollection(ctx.db).findOne({ _id: eventId }))!;

    await reopenDeliveries(ctx.db, eventId, [a.webhook._id]);
    const onlyGood = await startRedeliveryWorkflow(ctx.client, ctx.taskQueue, event, [a.webhook._id]);
    await settledAs(eventId, onlyGood.workflowId, 'partially_failed');
    // A redelivery waits its organization's turn in the task queue, as the first run did.
    const history = await ctx.client.workflow.getHandle(onlyGood.workflowId).fetchHistory();
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.priority?.fairnessKey).toBe(org);

    await reopenDeliveries(ctx.db, eventId, [b.webhook._id]);
    const onlyFlaky = await startRedeliveryWorkflow(ctx.client, ctx.taskQueue, event, [b.webhook._id], Date.now() + 1);
    await settledAs(eventId, onlyFlaky.workflowId, 'delivered');
    expect(good.requests).toHaveLength(2);
    expect(flaky.requests).toHaveLength(3);
  });
});

const THREE_ATTEMPTS_2S_APART = { initial_interval: '2s', backoff_coefficient: 1, maximum_interval: '2s', maximum_attempts: 3, expiration: '5m' };

/**
 * A redelivery started while the event's first run still retries: the record is the
 * redelivery's from then on, and the first run's retries running out do not mark it failed.
 */
describe('a redelivery beside a first run that is still retrying', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let receiver: Receiver;

  beforeAll(async () => {
    ctx = await createTestContext('redelivery-overlap');
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx, { eager: true });
    // The first run's three attempts and the redelivery's first two fail; its third delivers.
    receiver = await startReceiver([503, 503, 503, 503, 503], 200);
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await ctx?.close();
  });

  it("keeps the redelivery's status when the first run gives up, and ends delivered", async () => {
    const { webhook } = await createWebhook(ctx, { url: receiver.url, retryPolicy: THREE_ATTEMPTS_2S_APART });
    const eventId = await emitTestEvent(ctx);
    const record = () => deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    await eventually(async () => ((await record())?.attempt_count === 2 ? true : undefined), 30_000, 'two attempts of the first run');
    const event = (await eventsCollection(ctx.db).findOne({ _id: eventId }))!;
    await reopenDeliveries(ctx.db, eventId);
    const redelivery = await startRedeliveryWorkflow(ctx.client, ctx.taskQueue, event);
    const redeliveryAttempted = async () => (await record())?.attempts.some((a) => a.run === redelivery.runId) || undefined;
    await eventually(redeliveryAttempted, 30_000, 'an attempt of the redelivery recorded');

    // The first run's third attempt fails and its retries run out meanwhile.
    await ctx.client.workflow.getHandle(eventId).result();
    const afterFirstRun = await record();
    expect(afterFirstRun?.attempts.filter((a) => a.run !== redelivery.runId)).toHaveLength(3);
    expect(afterFirstRun?.status).not.toBe('failed');
    expect(afterFirstRun).toMatchObject({ status_run: redelivery.runId });

    await ctx.client.workflow.getHandle(redelivery.workflowId).result();
    expect(await record()).toMatchObject({ status: 'delivered', attempt_count: 6 });
    expect(receiver.requests).toHaveLength(6);
    expect((await findEvent(ctx.db, eventId))?.status).toBe('delivered');
  });
  it('leaves the event delivered when the redelivery delivered before the first run gave up', async () => {
    // The first run's three attempts fail; the redelivery's first, made between its second and third, delivers.
    const answering = await startReceiver([503, 503, 200, 503], 503);
    try {
      const organizationId = 'org_redelivery_first_last';
      const { webhook } = await createWebhook(ctx, { url: answering.url, organizationId, retryPolicy: THREE_ATTEMPTS_2S_APART });
      const eventId = await emitTestEvent(ctx, { organizationId });
      const record = () => deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
      await eventually(async () => ((await record())?.attempt_count === 2 ? true : undefined), 30_000, 'two attempts of the first run');
      const event = (await eventsCollection(ctx.db).findOne({ _id: eventId }))!;
      await reopenDeliveries(ctx.db, eventId);
      const redelivery = await startRedeliveryWorkflow(ctx.client, ctx.taskQueue, event);
      await ctx.client.workflow.getHandle(redelivery.workflowId).result();
      // The first run finishes last, its own attempts all failed.
      const first = await ctx.client.workflow.getHandle(eventId).result();
      expect(first.outcome).toBe('failed');
      expect(answering.requests).toHaveLength(4);
      expect(await record()).toMatchObject({ status: 'delivered', attempt_count: 4 });
      expect((await findEvent(ctx.db, eventId))?.status).toBe('delivered');
    } finally {
      await answering.close();
    }
  });
});

/** A redelivery whose run never started puts back what it reopened, and nothing else. */
describe('restoring the deliveries of a redelivery that did not start', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext('reopen-restore');
  });

  afterAll(async () => {
    await ctx?.close();
  });

  async function record(id: string, eventId: string, status: DeliveryStatus, updatedAt: Date) {
    await deliveriesCollection(ctx.db).insertOne({
      _id: id,
      event_id: eventId,
      webhook_id: `wh_${id}`,
      organization_id: 'org_restore',
      event_type: 'collection.documents.written',
      channel_index: 0,
      channel: 'webhook',
      status,
      attempts: [],
      attempt_count: 1,
      next_retry_at: null,
      delivered_at: null,
      created_at: updatedAt,
      updated_at: updatedAt,
    });
  }
  const statusOf = async (id: string) => (await deliveriesCollection(ctx.db).findOne({ _id: id }))?.status;

  it('puts each record back as it was, unless another redelivery reopened it since', async () => {
    const earlier = new Date(Date.now() - 60_000);
    await record('dlv_restore_a', 'evt_restore', 'failed', earlier);
    await record('dlv_restore_b', 'evt_restore', 'delivered', earlier);

    const first = await reopenDeliveries(ctx.db, 'evt_restore');
    expect(await statusOf('dlv_restore_a')).toBe('pending');
    // A second redelivery of one webhook reopens its record over the first one's.
    const second = await reopenDeliveries(ctx.db, 'evt_restore', ['wh_dlv_restore_b']);

    await restoreReopenedDeliveries(ctx.db, first);
    const a = await deliveriesCollection(ctx.db).findOne({ _id: 'dlv_restore_a' });
    expect(a).toMatchObject({ status: 'failed', updated_at: earlier });
    expect(a?.reopen_token).toBeUndefined();
    // Reopened since by the second: the first leaves it to that one.
    expect(await statusOf('dlv_restore_b')).toBe('pending');

    await restoreReopenedDeliveries(ctx.db, second);
    // Neither run started: as it was before both, not the first one's `pending`.
    const b = await deliveriesCollection(ctx.db).findOne({ _id: 'dlv_restore_b' });
    expect(b).toMatchObject({ status: 'delivered', updated_at: earlier });
    expect(b?.reopen_token).toBeUndefined();
    expect(b?.reopened_from).toBeUndefined();
  });

  it('puts nothing back over a record that a started redelivery or its run has taken', async () => {
    const earlier = new Date(Date.now() - 60_000);
    await record('dlv_taken_a', 'evt_taken', 'failed', earlier);
    await record('dlv_taken_b', 'evt_taken', 'failed', earlier);

    // The first one started; a second one then failed to start: the record stays the first run's.
    const started = await reopenDeliveries(ctx.db, 'evt_taken', ['wh_dlv_taken_a']);
    await releaseReopenedDeliveries(ctx.db, started);
    const failedAfter = await reopenDeliveries(ctx.db, 'evt_taken', ['wh_dlv_taken_a']);
    expect(failedAfter.before).toMatchObject([{ _id: 'dlv_taken_a', status: 'pending' }]);

    // Reopened by one that had not started yet when the other's run recorded an attempt.
    const overtaken = await reopenDeliveries(ctx.db, 'evt_taken', ['wh_dlv_taken_b']);
    const key = {
      deliveryId: 'dlv_taken_b',
      eventId: 'evt_taken',
      webhookId: 'wh_dlv_taken_b',
      organizationId: 'org_restore',
      eventType: 'collection.documents.written',
      channelIndex: 0,
      channel: 'webhook' as const,
    };
    const at = new Date();
    await recordAttempt(ctx.db, key, { n: 2, at, status_code: 200, duration_ms: 5, error: null, error_message: null, response_excerpt: null, run: null }, { status: 'delivered' });

    await restoreReopenedDeliveries(ctx.db, overtaken);
    const b = await deliveriesCollection(ctx.db).findOne({ _id: 'dlv_taken_b' });
    expect(b).toMatchObject({ status: 'delivered', updated_at: at });
    expect(b?.reopen_token).toBeUndefined();
    expect(b?.reopened_from).toBeUndefined();
  });
});
