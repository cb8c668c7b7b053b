import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { eventsCollection } from '../../src/store/event-store';
import { findWebhook, webhooksCollection } from '../../src/store/webhook-store';
import { createTestContext, type TestContext } from '../support/context';
import { historyText } from '../support/history-text';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

describe('outbound pipeline: outbox → change stream → workflow → signed delivery', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  const receivers: Receiver[] = [];

  async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  }

  async function eventStatus(eventId: string, statuses: string[]) {
    return eventually(async () => {
      const event = await eventsCollection(ctx.db).findOne({ _id: eventId });
      return event && statuses.includes(event.status) ? event : undefined;
    }, 60_000, `event ${eventId} in ${statuses.join('/')}`);
  }

  // Each test has its own organization, so earlier tests' webhooks do not subscribe.
  let org = '';
  beforeEach(() => {
    org = `org_${Math.random().toString(36).slice(2, 10)}`;
  });

  beforeAll(async () => {
    ctx = await createTestContext('pipeline');
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx, { eager: true });
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await ctx?.close();
  });

  it('delivers an inserted event, signed so that the standardwebhooks library verifies it', async () => {
    const r = await receiver();
    const { webhook, signingSecret } = await createWebhook(ctx, {
      url: r.url,
      headers: { 'X-Mixpeek-Secret': 'super-secret' },
      organizationId: org,
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const [request] = await r.waitFor(1);

    const payload = new Webhook(signingSecret).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    }) as Record<string, unknown>;
    expect(payload).toMatchObject({
      event_id: eventId,
      event_type: 'collection.documents.written',
      namespace_id: 'ns_test',
      metadata: { collection_id: 'col_products', document_count: 3 },
      cache_scope: { scope: 'collection', collection_id: 'col_products' },
    });
    expect(request!.headers['x-mixpeek-secret']).toBe('super-secret');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toMatch(/^hookrelay\//);

    const event = await eventStatus(eventId, ['delivered']);
    expect(event.dispatched_at).toBeInstanceOf(Date);
    const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(delivery).toMatchObject({ status: 'delivered', attempt_count: 1, channel: 'webhook' });
    expect(delivery!.attempts[0]).toMatchObject({ n: 1, status_code: 200, error: null });
  });

  it('retries a failing receiver with the same webhook-id until it answers 2xx, recording every attempt', async () => {
    const r = await receiver([500, 503, 'reset'], 200);
    const { webhook } = await createWebhook(ctx, { url: r.url, organizationId: org });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const requests = await r.waitFor(4);
    await eventStatus(eventId, ['delivered']);

    expect(new Set(requests.map((q) => q.headers['webhook-id'])).size).toBe(1);
    const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(delivery!.status).toBe('delivered');
    expect(delivery!.attempts.map((a) => a.n)).toEqual([1, 2, 3, 4]);
    expect(delivery!.attempts.map((a) => a.status_code)).toEqual([500, 503, null, 200]);
    expect(delivery!.attempts[0]!.response_excerpt).toBe('answer 500');
    expect(delivery!.attempts[2]!.error).toBe('connection_reset');
  });

  it('disables a webhook whose receiver answers 410 Gone, without retrying', async () => {
    const r = await receiver([], 410);
    const { webhook } = await createWebhook(ctx, { url: r.url, organizationId: org });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await eventStatus(eventId, ['failed']);

    const stored = await findWebhook(ctx.db, webhook._id);
    expect(stored!.is_active).toBe(false);
    expect(stored!.disabled_reason).toMatch(/410/);
    expect(r.requests).toHaveLength(1);
    const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(delivery!.status).toBe('failed');
    expect(delivery!.attempts).toHaveLength(1);
    expect(delivery!.attempts[0]).toMatchObject({ status_code: 410, error: 'http_410' });
  });

  it('stops retrying a webhook paused after its first attempt failed', async () => {
    const r = await receiver([500], 200);
    const { webhook } = await createWebhook(ctx, {
      url: r.url,
      organizationId: org,
      retryPolicy: { initial_interval: '3s', backoff_coefficient: 1, maximum_interval: '3s', maximum_attempts: 5, expiration: '5m' },
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await r.waitFor(1);
    // The retry must read the webhook again, not reuse what the event was resolved to.
    await webhooksCollection(ctx.db).updateOne({ _id: webhook._id }, { $set: { is_active: false } });
    await eventStatus(eventId, ['failed']);
    const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(delivery!.status).toBe('canceled');
    expect(delivery!.attempts.map((a) => a.error)).toEqual(['http_500', 'webhook_inactive']);
    expect(r.requests).toHaveLength(1);
  });

  it('waits at least as long as Retry-After says before the next attempt', async () => {
    const r = await receiver([{ status: 429, headers: { 'retry-after': '3' } }], 200);
    await createWebhook(ctx, { url: r.url, organizationId: org });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const [first, second] = await r.waitFor(2);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(3_000);
    await eventStatus(eventId, ['delivered']);
  });

  it('times out a hanging receiver and retries it', async () => {
    const r = await receiver(['hang'], 200);
    const { webhook } = await createWebhook(ctx, { url: r.url, timeout: 1, organizationId: org });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await eventStatus(eventId, ['delivered']);
    const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(delivery!.attempts[0]).toMatchObject({ n: 1, error: 'timeout', status_code: null });
    expect(delivery!.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(900);
    expect(delivery!.attempts[1]).toMatchObject({ n: 2, status_code: 200 });
  });

  it('fans out to three webhooks; a dead one does not hold back the others', async () => {
    const healthy = [await receiver(), await receiver()];
    const dead = await receiver([], 500);
    const hooks = [];
    for (const r of [...healthy, dead]) hooks.push(await createWebhook(ctx, { url: r.url, organizationId: org }));
    const eventId = await emitTestEvent(ctx, { organizationId: org });

    await Promise.all(healthy.map((r) => r.waitFor(1, 10_000)));
    const deliveries = await eventually(async () => {
      const docs = await deliveriesCollection(ctx.db).find({ event_id: eventId }).toArray();
      return docs.filter((d) => d.status === 'delivered').length === 2 ? docs : undefined;
    }, 10_000, 'two deliveries delivered');
    expect(deliveries.find((d) => d.status !== 'delivered')?.status).toMatch(/retrying|pending/);
    expect(dead.requests.length).toBeGreaterThanOrEqual(1);
    const event = await eventsCollection(ctx.db).findOne({ _id: eventId });
    expect(event!.status).toBe('dispatched');

    // The stuck endpoint is visible in Temporal as a pending activity named after it.
    const deadId = hooks[2]!.webhook._id;
    const pending = await eventually(async () => {
      const { raw } = await ctx.client.workflow.getHandle(eventId).describe();
      return raw.pendingActivities?.length ? raw.pendingActivities : undefined;
    }, 10_000, 'a pending delivery activity');
    expect(pending.map((a) => a.activityId)).toEqual([`deliver:${deadId}:webhook#0`]);
  });

  it('delivers a fan-out larger than the local first-attempt limit through regular activities', async () => {
    const r = await receiver([500], 200);
    for (let i = 0; i < 101; i++) await createWebhook(ctx, { url: r.url, organizationId: org });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await eventStatus(eventId, ['delivered']);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(101);
    expect(r.requests).toHaveLength(102);
    const history = await ctx.client.workflow.getHandle(eventId).fetchHistory();
    const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? [];
    expect(scheduled).toHaveLength(101);
  });

  it('delivers a fan-out of 100 webhooks; the search attribute lists the first 50 of them', async () => {
    const r = await receiver();
    for (let i = 0; i < 100; i++) await createWebhook(ctx, { url: r.url, organizationId: org });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await eventStatus(eventId, ['delivered']);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(100);
    // The event's status is written inside the workflow's last task, before that task completes.
    await ctx.client.workflow.getHandle(eventId).result();
    const { searchAttributes } = await ctx.client.workflow.getHandle(eventId).describe();
    expect(searchAttributes.HookrelayWebhookIds).toHaveLength(50);
    // Up to the local first-attempt limit, all first attempts ran inside the workflow task.
    const history = await ctx.client.workflow.getHandle(eventId).fetchHistory();
    expect(history.events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? []).toHaveLength(0);
  });

  it('never writes receiver URLs, header values, secrets or payload bodies into workflow history', async () => {
    const r = await receiver([500], 200);
    const { signingSecret } = await createWebhook(ctx, {
      url: r.url,
      headers: { 'X-Mixpeek-Secret': 'history-must-not-see-this' },
      organizationId: org,
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org, metadata: { collection_id: 'col_secret_body_marker', document_count: 1 } });
    await eventStatus(eventId, ['delivered']);
    const history = await historyText(ctx.client, eventId);
    const port = new URL(r.url).port;
    for (const forbidden of [
      r.url,
      `127.0.0.1:${port}`,
      'history-must-not-see-this',
      signingSecret,
      signingSecret.slice('whsec_'.length),
      'col_secret_body_marker',
    ]) {
      expect(history).not.toContain(forbidden);
    }
    expect(history).toContain('deliver:'); // the history is real and names the activity
  });
});
