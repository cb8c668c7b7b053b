import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { emitEvent } from '../../src/events/emit-event';
import { eventsCollection } from '../../src/store/event-store';
import { startTestApi, webhookBody, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';
import { eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver';

const WEBHOOKS = '/v1/organizations/webhooks';
const PLANTED_HEADER = 'operations-header-secret';

function signatureHeaders(request: ReceivedRequest) {
  return {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
}

function verifies(secret: string, request: ReceivedRequest): boolean {
  try {
    new Webhook(secret).verify(request.body, signatureHeaders(request));
    return true;
  } catch {
    return false;
  }
}

describe('webhook operations through the real pipeline: test, rotate, inspect, redeliver', () => {
  let ctx: TestContext;
  let api: TestApi;
  let dispatcher: Dispatcher;
  const receivers: Receiver[] = [];
  /** Rotated-out secrets and the transcript position from which no response may show them. */
  const retiredSecrets: Array<{ secret: string; from: number }> = [];

  async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  }

  async function createHook(url: string, overrides: Record<string, unknown> = {}, key?: string) {
    const response = await api.request('POST', WEBHOOKS, {
      key,
      body: webhookBody(url, overrides, { headers: { 'X-Receiver-Token': PLANTED_HEADER } }),
    });
    expect(response.status, response.text).toBe(201);
    return response.body as { webhook_id: string; signing_secret: string };
  }

  async function eventSettled(eventId: string) {
    return eventually(async () => {
      const event = await eventsCollection(ctx.db).findOne({ _id: eventId });
      return event && ['delivered', 'partially_failed', 'failed'].includes(event.status) ? event : undefined;
    }, 60_000, `event ${eventId} settled`);
  }

  beforeAll(async () => {
    ctx = await createTestContext('api-operations');
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
    api = await startTestApi(ctx);
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await api?.close();
    await dispatcher?.stop();
    await ctx?.close();
  });

  it('lists the event catalog with cache scopes and JSON Schemas', async () => {
    const response = await api.request('GET', `${WEBHOOKS}/event-types`);
    expect(response.status).toBe(200);
    const names = response.body.results.map((entry: { name: string }) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['collection.documents.written', 'cluster.completed', 'object.created', 'webhook.test']));
    const written = response.body.results.find((entry: { name: string }) => entry.name === 'collection.documents.written');
    expect(written).toMatchObject({ cache_scope: 'collection', description: expect.any(String) });
    expect(written.metadata_schema.properties).toHaveProperty('collection_id');
    expect(written.schema.properties).toHaveProperty('cache_scope');
    expect((await api.request('GET', `${WEBHOOKS}/event-types`, { key: null })).status).toBe(401);
  });

  it('sends a webhook.test event through the pipeline to that webhook only, signed with its secret', async () => {
    const target = await receiver();
    const bystander = await receiver();
    const hook = await createHook(target.url, { event_types: ['*'] });
    await createHook(bystander.url, { event_types: ['*'] });

    const response = await api.request('POST', `${WEBHOOKS}/${hook.webhook_id}/test`);
    expect(response.status, response.text).toBe(202);
    expect(response.body).toMatchObject({ event_type: 'webhook.test', webhook_id: hook.webhook_id, status: 'pending' });
    const eventId = response.body.event_id as string;
    expect(response.body.workflow_url).toBe(`${ctx.config.TEMPORAL_UI_URL}/namespaces/default/workflows/${eventId}`);

    const [request] = await target.waitFor(1);
    const payload = new Webhook(hook.signing_secret).verify(request!.body, signatureHeaders(request!)) as Record<string, any>;
    expect(payload).toMatchObject({
      event_id: eventId,
      event_type: 'webhook.test',
      subject: { type: 'webhook', id: hook.webhook_id },
      metadata: { webhook_id: hook.webhook_id },
    });
    expect(request!.headers['x-receiver-token']).toBe(PLANTED_HEADER);
    await eventSettled(eventId);
    expect(bystander.requests).toHaveLength(0);

    // The event's page: status, per-target outcome with attempts, link to the workflow.
    const inspected = await api.request('GET', `${WEBHOOKS}/events/${eventId}`);
    expect(inspected.status).toBe(200);
    expect(inspected.body.event).toMatchObject({ event_id: eventId, event_type: 'webhook.test', status: 'delivered', target_webhook_ids: [hook.webhook_id] });
    expect(inspected.body.targets).toHaveLength(1);
    expect(inspected.body.targets[0]).toMatchObject({
      webhook_id: hook.webhook_id,
      channel: 'webhook',
      channel_index: 0,
      status: 'delivered',
      attempt_count: 1,
      delivery_id: request!.headers['webhook-id'],
    });
    expect(inspected.body.targets[0].attempts[0]).toMatchObject({ n: 1, status_code: 200, error: null, run_id: expect.any(String) });
    expect(inspected.body.workflow).toEqual({
      workflow_id: eventId,
      namespace: 'default',
      ui_url: `${ctx.config.TEMPORAL_UI_URL}/namespaces/default/workflows/${eventId}`,
    });
    const workflow = await ctx.client.workflow.getHandle(eventId).describe();
    expect(workflow.type).toBe('deliverEvent');
  });

  it('refuses to test an inactive webhook (409) and answers 422 for a bad body', async () => {
    const hook = await createHook('http://127.0.0.1:9/never', { is_active: false });
    const response = await api.request('POST', `${WEBHOOKS}/${hook.webhook_id}/test`);
    expect(response.status).toBe(409);
    expect(response.body.error.type).toBe('Conflict');
    const bad = await api.request('POST', `${WEBHOOKS}/${hook.webhook_id}/test`, { body: { message: 42 } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].loc).toEqual(['body', 'message']);
  });

  it('rotates the secret: deliveries carry both signatures during the grace period, then only the new one', async () => {
    // An organization of its own, so its events reach this webhook alone.
    const key = await api.keyFor('org_rotate');
    const target = await receiver();
    const hook = await createHook(target.url, {}, key);
    const oldSecret = hook.signing_secret;
    expect((await api.request('GET', `${WEBHOOKS}/${hook.webhook_id}/secret`, { key })).body).toEqual({ signing_secret: oldSecret });

    const rotated = await api.request('POST', `${WEBHOOKS}/${hook.webhook_id}/secret/rotate`, { key });
    expect(rotated.status, rotated.text).toBe(200);
    const newSecret = rotated.body.signing_secret as string;
    retiredSecrets.push({ secret: oldSecret, from: api.transcript.length });
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    const expiry = new Date(rotated.body.previous_secrets_expire_at).getTime();
    expect(Math.abs(expiry - (Date.now() + 24 * 3600_000))).toBeLessThan(60_000);
    expect((await api.request('GET', `${WEBHOOKS}/${hook.webhook_id}/secret`, { key })).body).toEqual({ signing_secret: newSecret });

    await emitEvent(ctx.db, { organization_id: 'org_rotate', event_type: 'collection.documents.written', metadata: { collection_id: 'col_r' } });
    const [during] = await target.waitFor(1);
    expect(String(during!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(oldSecret, during!)).toBe(true);
    expect(verifies(newSecret, during!)).toBe(true);

    // "0s": the previous secrets stop signing now.
    const immediate = await api.request('POST', `${WEBHOOKS}/${hook.webhook_id}/secret/rotate`, { key, body: { grace_period: '0s' } });
    expect(immediate.status).toBe(200);
    expect(immediate.body.previous_secrets_expire_at).toBeNull();
    const newest = immediate.body.signing_secret as string;
    retiredSecrets.push({ secret: newSecret, from: api.transcript.length });
    await emitEvent(ctx.db, { organization_id: 'org_rotate', event_type: 'collection.documents.written', metadata: { collection_id: 'col_r' } });
    const after = (await target.waitFor(2))[1]!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(newest, after)).toBe(true);
    expect(verifies(newSecret, after)).toBe(false);
    expect(verifies(oldSecret, after)).toBe(false);

    for (const grace of ['8d', 'soon', 5]) {
      const refused = await api.request('POST', `${WEBHOOKS}/${hook.webhook_id}/secret/rotate`, { key, body: { grace_period: grace } });
      expect(refused.status, String(grace)).toBe(422);
      expect(refused.body.error.details[0].loc).toEqual(['body', 'grace_period']);
    }
  });

  it('redelivers an event in a new workflow run, to all subscribers or to the ones chosen', async () => {
    const first = await receiver();
    const second = await receiver();
    const organizationKey = await api.keyFor('org_redeliver');
    const hooks: Array<{ webhook_id: string }> = [];
    for (const r of [first, second]) {
      const response = await api.request('POST', WEBHOOKS, { key: organizationKey, body: webhookBody(r.url) });
      hooks.push(response.body);
    }
    const { eventId } = await emitEvent(ctx.db, {
      organization_id: 'org_redeliver',
      event_type: 'collection.documents.written',
      metadata: { collection_id: 'col_x' },
    });
    await Promise.all([first.waitFor(1), second.waitFor(1)]);
    await eventSettled(eventId);

    const all = await api.request('POST', `${WEBHOOKS}/events/${eventId}/redeliver`, { key: organizationKey });
    expect(all.status, all.text).toBe(202);
    expect(all.body).toMatchObject({ event_id: eventId, webhook_ids: null });
    expect(all.body.workflow_id).toMatch(new RegExp(`^${eventId}\\.redeliver\\.[0-9a-z]+$`));
    expect(all.body.workflow_url).toBe(`${ctx.config.TEMPORAL_UI_URL}/namespaces/default/workflows/${encodeURIComponent(all.body.workflow_id)}`);
    await Promise.all([first.waitFor(2), second.waitFor(2)]);
    // Same webhook-id as the first delivery: receivers can deduplicate.
    expect(first.requests[1]!.headers['webhook-id']).toBe(first.requests[0]!.headers['webhook-id']);
    const run = await ctx.client.workflow.getHandle(all.body.workflow_id).describe();
    expect(run.type).toBe('deliverEvent');
    expect(run.runId).toBe(all.body.run_id);
    await ctx.client.workflow.getHandle(all.body.workflow_id).result();

    const chosen = await api.request('POST', `${WEBHOOKS}/events/${eventId}/redeliver`, {
      key: organizationKey,
      body: { webhook_ids: [hooks[1]!.webhook_id] },
    });
    expect(chosen.status).toBe(202);
    expect(chosen.body.webhook_ids).toEqual([hooks[1]!.webhook_id]);
    expect(chosen.body.workflow_id).not.toBe(all.body.workflow_id);
    await second.waitFor(3);
    await ctx.client.workflow.getHandle(chosen.body.workflow_id).result();
    expect(first.requests).toHaveLength(2);

    const inspected = await api.request('GET', `${WEBHOOKS}/events/${eventId}`, { key: organizationKey });
    const secondTarget = inspected.body.targets.find((t: { webhook_id: string }) => t.webhook_id === hooks[1]!.webhook_id);
    expect(secondTarget.status).toBe('delivered');
    // Three runs, newest attempt first.
    expect(new Set(secondTarget.attempts.map((a: { run_id: string }) => a.run_id)).size).toBe(3);
    expect(secondTarget.attempts[0].run_id).toBe(chosen.body.run_id);
  });

  it('answers redeliver mistakes with 404, 409 and 422', async () => {
    expect((await api.request('POST', `${WEBHOOKS}/events/evt_unknown/redeliver`)).status).toBe(404);
    const { eventId } = await emitEvent(ctx.db, {
      event_id: `evt_pending_${Date.now()}`,
      organization_id: api.org,
      event_type: 'object.created',
      metadata: { bucket_id: 'b', object_id: 'o' },
    });
    // Still pending until the dispatcher picks it up: nothing to redeliver yet.
    await eventsCollection(ctx.db).updateOne({ _id: eventId }, { $set: { status: 'pending' } });
    const pending = await api.request('POST', `${WEBHOOKS}/events/${eventId}/redeliver`);
    if (pending.status !== 202) {
      expect(pending.status).toBe(409);
      expect(pending.body.error.type).toBe('Conflict');
    }
    await eventually(async () => (await eventsCollection(ctx.db).findOne({ _id: eventId }))?.status !== 'pending', 30_000);

    const inactive = await createHook('http://127.0.0.1:9/x', { is_active: false });
    const invalid = await api.request('POST', `${WEBHOOKS}/events/${eventId}/redeliver`, {
      body: { webhook_ids: ['wh_0000000000000000', 'nope', inactive.webhook_id] },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.details.map((d: { loc: unknown[] }) => d.loc)).toEqual([['body', 'webhook_ids', 1]]);
    const unknown = await api.request('POST', `${WEBHOOKS}/events/${eventId}/redeliver`, {
      body: { webhook_ids: ['wh_0000000000000000', inactive.webhook_id] },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details.map((d: { loc: unknown[] }) => d.loc)).toEqual([
      ['body', 'webhook_ids', 0],
      ['body', 'webhook_ids', 1],
    ]);
    expect((await api.request('POST', `${WEBHOOKS}/events/${eventId}/redeliver`, { body: { webhook_ids: [] } })).status).toBe(422);
  });

  it("lists a webhook's deliveries newest first, cursor-paginated, filterable by status", async () => {
    const key = await api.keyFor('org_deliveries');
    const target = await receiver();
    const hook = await createHook(target.url, { event_types: ['object.created'] }, key);
    const eventIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { eventId } = await emitEvent(ctx.db, {
        organization_id: 'org_deliveries',
        event_type: 'object.created',
        metadata: { bucket_id: 'b', object_id: `o${i}` },
      });
      eventIds.push(eventId);
      await target.waitFor(i + 1);
      await eventSettled(eventId);
    }
    const path = `${WEBHOOKS}/${hook.webhook_id}/deliveries`;
    const page1 = await api.request('GET', `${path}?limit=2&include_total=true`, { key });
    expect(page1.status).toBe(200);
    expect(page1.body.results.map((d: { event_id: string }) => d.event_id)).toEqual([eventIds[2], eventIds[1]]);
    expect(page1.body.pagination).toMatchObject({ total: 3, total_pages: 2, page_size: 2 });
    expect(page1.body.results[0]).toMatchObject({ webhook_id: hook.webhook_id, status: 'delivered', attempt_count: 1 });
    const page2 = await api.request('GET', `${path}?limit=2&cursor=${page1.body.pagination.next_cursor}`, { key });
    expect(page2.body.results.map((d: { event_id: string }) => d.event_id)).toEqual([eventIds[0]]);
    expect(page2.body.pagination.next_cursor).toBeNull();

    const failed = await api.request('GET', `${path}?status=failed`, { key });
    expect(failed.body.results).toEqual([]);
    expect((await api.request('GET', `${path}?status=weird`, { key })).status).toBe(422);
    expect((await api.request('GET', `${WEBHOOKS}/wh_0000000000000000/deliveries`)).status).toBe(404);
  });

  it('never returned a stored header value or a retired signing secret', () => {
    const everything = api.transcript.join('\n');
    expect(everything).not.toContain(PLANTED_HEADER);
    expect(retiredSecrets).toHaveLength(2);
    for (const { secret, from } of retiredSecrets) {
      expect(api.transcript.slice(from).join('\n')).not.toContain(secret);
    }
  });
});
