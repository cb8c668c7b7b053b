import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { signMuxPayload } from '../../src/inbound/mux-signature';
import { eventsCollection } from '../../src/store/event-store';
import { inboundEventsCollection } from '../../src/store/inbound-event-store';
import { findObject } from '../../src/store/object-store';
import { startTestApi, type ApiResponse, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

const CONNECTIONS = '/v1/organizations/connections';
const objectsPath = (bucketId: string) => `/v1/organizations/buckets/${bucketId}/objects`;

interface Org {
  org: string;
  key: string;
}

describe('Mux inbound webhooks: signed events → lifecycle workflow → object.* events delivered', () => {
  let ctx: TestContext;
  let api: TestApi;
  let dispatcher: Dispatcher;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    ctx = await createTestContext('mux-lifecycle');
    api = await startTestApi(ctx);
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await api?.close();
    await ctx?.close();
  });

  // Each test has its own organization, so earlier tests' webhooks do not subscribe.
  async function newOrg(): Promise<Org> {
    const org = `org_${Math.random().toString(36).slice(2, 10)}`;
    return { org, key: await api.keyFor(org) };
  }

  async function receiver(): Promise<Receiver> {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  }

  async function createConnection(
    owner: Org,
    bucketId: string,
    options: { secret?: string; filters?: unknown[] } = {},
  ): Promise<{ id: string; secret: string }> {
    const secret = options.secret ?? `mux-secret-${randomUUID()}`;
    const response = await api.request('POST', CONNECTIONS, {
      key: owner.key,
      body: { provider: 'mux', webhook_secret: secret, bucket_id: bucketId, metadata_filters: options.filters ?? [] },
    });
    expect(response.status, response.text).toBe(201);
    return { id: response.body.connection_id, secret };
  }

  async function createObject(owner: Org, bucketId: string, connectionId: string, assetId: string, metadata = {}): Promise<string> {
    const response = await api.request('POST', objectsPath(bucketId), {
      key: owner.key,
      body: { namespace_id: 'ns_media', metadata, source: { provider: 'mux', connection_id: connectionId, asset_id: assetId } },
    });
    expect(response.status, response.text).toBe(201);
    return response.body.object_id;
  }

  function muxEvent(type: string, data: Record<string, unknown>, id = randomUUID()) {
    return {
      type,
      id,
      created_at: new Date().toISOString(),
      object: { type: 'asset', id: data.id },
      environment: { name: 'Production', id: 'env1' },
      data,
      attempts: [],
    };
  }

  async function sendMux(
    connectionId: string,
    secret: string,
    payload: unknown,
    options: { timestamp?: number; header?: string | null; raw?: string } = {},
  ): Promise<ApiResponse & { ms: number }> {
    const raw = options.raw ?? JSON.stringify(payload);
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const header = options.header === undefined ? signMuxPayload(secret, raw, timestamp) : options.header;
    if (header !== null) headers['mux-signature'] = header;
    const started = Date.now();
    const response = await api.request('POST', `/v1/webhooks/mux/${connectionId}`, { key: null, raw, headers });
    return { ...response, ms: Date.now() - started };
  }

  function deliveredPayloads(r: Receiver) {
    return r.requests.map((request) => JSON.parse(request.body) as Record<string, any>);
  }

  async function settle(ms = 1_500): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  it('video.asset.deleted removes exactly the matching objects of that connection\'s bucket and delivers one object.deleted per object', async () => {
    const a = await newOrg();
    const b = await newOrg();
    const mine = await createConnection(a, 'bkt_videos');
    const otherBucket = await createConnection(a, 'bkt_other');
    const otherOrg = await createConnection(b, 'bkt_videos');
    const r = await receiver();
    await createWebhook(ctx, { url: r.url, eventTypes: ['object.deleted'], organizationId: a.org });
    const rb = await receiver();
    await createWebhook(ctx, { url: rb.url, eventTypes: ['object.*'], organizationId: b.org });

    const asset = `asset${randomUUID().replace(/-/g, '')}`;
    const doomed = [await createObject(a, 'bkt_videos', mine.id, asset), await createObject(a, 'bkt_videos', mine.id, asset)];
    const otherAsset = await createObject(a, 'bkt_videos', mine.id, 'some-other-asset');
    const sameAssetOtherBucket = await createObject(a, 'bkt_other', otherBucket.id, asset);
    const sameAssetOtherOrg = await createObject(b, 'bkt_videos', otherOrg.id, asset);

    const event = muxEvent('video.asset.deleted', { id: asset, status: 'deleted' });
    const response = await sendMux(mine.id, mine.secret, event);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ received: true, handled: true });
    expect(response.ms).toBeLessThan(2_000);

    const requests = await r.waitFor(2);
    await settle();
    expect(requests).toHaveLength(2);
    const payloads = deliveredPayloads(r);
    expect(payloads.map((p) => p.subject.id).sort()).toEqual([...doomed].sort());
    for (const payload of payloads) {
      expect(payload).toMatchObject({
        event_type: 'object.deleted',
        namespace_id: 'ns_media',
        subject: { type: 'object' },
        metadata: { bucket_id: 'bkt_videos', connection_id: mine.id, asset_id: asset, reason: 'source_deleted' },
        cache_scope: { scope: 'key', keys: [payload.subject.id] },
      });
    }

    for (const id of doomed) expect(await findObject(ctx.db, id)).toBeNull();
    for (const id of [otherAsset, sameAssetOtherBucket, sameAssetOtherOrg]) expect(await findObject(ctx.db, id)).not.toBeNull();
    // The other organization's subscriber saw its own object.created only.
    await rb.waitFor(1);
    expect(deliveredPayloads(rb).map((p) => [p.event_type, p.subject.id])).toEqual([['object.created', sameAssetOtherOrg]]);

    const result = await ctx.client.workflow.getHandle(`mux-${mine.id}-${event.id}`).result();
    expect(result).toMatchObject({ action: 'cascade_delete', deleted: 2, updated: 0 });
    const inbound = await inboundEventsCollection(ctx.db).findOne({ _id: `mux-${mine.id}-${event.id}` });
    expect(inbound).toMatchObject({
      provider: 'mux',
      provider_event_id: event.id,
      connection_id: mine.id,
      event_type: 'video.asset.deleted',
      handled: true,
      status: 'processed',
      outcome: { deleted: 2, updated: 0, unchanged: 0 },
    });
    expect(inbound!.payload).toEqual(event);
    expect(JSON.stringify(inbound)).not.toContain(mine.secret);
  });

  it('video.asset.updated removes an object whose asset stops matching and updates one that still matches', async () => {
    const a = await newOrg();
    const connection = await createConnection(a, 'bkt_clips', {
      filters: [
        { field: 'passthrough', operator: 'equals', value: 'keep' },
        { field: 'duration', operator: 'gte', value: 10 },
        { field: 'meta.title', operator: 'exists' },
      ],
    });
    const dropped = await createObject(a, 'bkt_clips', connection.id, 'asset-drop', { owner: 'team-a' });
    const kept = await createObject(a, 'bkt_clips', connection.id, 'asset-keep', { owner: 'team-b', passthrough: 'keep' });

    const r = await receiver();
    await createWebhook(ctx, { url: r.url, eventTypes: ['object.updated', 'object.deleted'], organizationId: a.org });

    const stopsMatching = muxEvent('video.asset.updated', {
      id: 'asset-drop',
      status: 'ready',
      passthrough: 'keep',
      duration: 4.2,
      meta: { title: 'Too short' },
    });
    const stillMatches = muxEvent('video.asset.updated', {
      id: 'asset-keep',
      status: 'ready',
      passthrough: 'keep',
      duration: 31.5,
      meta: { title: 'Keynote', creator_id: 'u_7' },
      tracks: [{ type: 'video', max_width: 1920 }],
    });
    expect((await sendMux(connection.id, connection.secret, stopsMatching)).body).toEqual({ received: true, handled: true });
    expect((await sendMux(connection.id, connection.secret, stillMatches)).body).toEqual({ received: true, handled: true });

    await r.waitFor(2);
    await settle();
    const payloads = deliveredPayloads(r);
    expect(payloads).toHaveLength(2);
    const deleted = payloads.find((p) => p.event_type === 'object.deleted');
    const updated = payloads.find((p) => p.event_type === 'object.updated');
    expect(deleted).toMatchObject({
      subject: { type: 'object', id: dropped },
      metadata: { bucket_id: 'bkt_clips', connection_id: connection.id, asset_id: 'asset-drop', reason: 'filter_mismatch' },
    });
    const snapshot = {
      owner: 'team-b',
      passthrough: 'keep',
      status: 'ready',
      duration: 31.5,
      meta: { title: 'Keynote', creator_id: 'u_7' },
    };
    expect(updated).toMatchObject({
      subject: { type: 'object', id: kept },
      metadata: { bucket_id: 'bkt_clips', connection_id: connection.id, asset_id: 'asset-keep', metadata: snapshot },
    });
    expect(updated!.metadata.changed_fields).toEqual(['duration', 'meta', 'status']);

    expect(await findObject(ctx.db, dropped)).toBeNull();
    const read = await api.request('GET', `${objectsPath('bkt_clips')}/${kept}`, { key: a.key });
    expect(read.status).toBe(200);
    expect(read.body.metadata).toEqual(snapshot);
    expect(read.body.source).toMatchObject({ provider: 'mux', connection_id: connection.id, asset_id: 'asset-keep' });
    expect(read.body.source.synced_at).toBe(new Date(stillMatches.created_at).toISOString());
  });

  it('an update whose snapshot changes nothing emits nothing; an older update than the one applied is skipped', async () => {
    const a = await newOrg();
    const connection = await createConnection(a, 'bkt_same');
    const object = await createObject(a, 'bkt_same', connection.id, 'asset-same', { status: 'ready' });
    const newer = { ...muxEvent('video.asset.updated', { id: 'asset-same', status: 'ready', duration: 9 }), created_at: '2030-01-01T00:00:00.000Z' };
    const older = { ...muxEvent('video.asset.updated', { id: 'asset-same', status: 'errored' }), created_at: '2029-01-01T00:00:00.000Z' };
    const again = { ...muxEvent('video.asset.updated', { id: 'asset-same', status: 'ready', duration: 9 }), created_at: '2030-01-02T00:00:00.000Z' };

    for (const event of [newer, older, again]) {
      expect((await sendMux(connection.id, connection.secret, event)).status).toBe(200);
      await ctx.client.workflow.getHandle(`mux-${connection.id}-${event.id}`).result();
    }
    const results = await Promise.all(
      [newer, older, again].map((event) => ctx.client.workflow.getHandle(`mux-${connection.id}-${event.id}`).result()),
    );
    expect(results.map((r) => [r.updated, r.unchanged])).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    const stored = await findObject(ctx.db, object);
    expect(stored!.metadata).toEqual({ status: 'ready', duration: 9 });
    expect(await eventsCollection(ctx.db).countDocuments({ event_type: 'object.updated', 'subject.id': object })).toBe(1);
  });

  it('the same Mux event delivered twice (even concurrently, even later) changes things once', async () => {
    const a = await newOrg();
    const connection = await createConnection(a, 'bkt_dedup');
    const object = await createObject(a, 'bkt_dedup', connection.id, 'asset-dup', {});
    const r = await receiver();
    await createWebhook(ctx, { url: r.url, eventTypes: ['object.updated'], organizationId: a.org });

    const event = muxEvent('video.asset.updated', { id: 'asset-dup', status: 'ready', passthrough: 'v1' });
    const raw = JSON.stringify(event);
    const [first, second] = await Promise.all([
      sendMux(connection.id, connection.secret, event, { raw }),
      sendMux(connection.id, connection.secret, event, { raw }),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.body).toEqual({ received: true, handled: true });
    expect(second.body).toEqual({ received: true, handled: true });
    await r.waitFor(1);
    await ctx.client.workflow.getHandle(`mux-${connection.id}-${event.id}`).result();

    // Mux re-sends after a 2xx too: the third copy arrives after processing finished.
    const third = await sendMux(connection.id, connection.secret, event, { raw });
    expect(third.body).toEqual({ received: true, handled: true });
    await settle();
    expect(r.requests).toHaveLength(1);
    expect(await inboundEventsCollection(ctx.db).countDocuments({ connection_id: connection.id })).toBe(1);
    expect(await eventsCollection(ctx.db).countDocuments({ event_type: 'object.updated', 'subject.id': object })).toBe(1);
  });

  it('a re-send finishes the work when the first delivery was recorded but its workflow never started', async () => {
    const a = await newOrg();
    const connection = await createConnection(a, 'bkt_recover');
    const object = await createObject(a, 'bkt_recover', connection.id, 'asset-recover');
    const event = muxEvent('video.asset.deleted', { id: 'asset-recover' });
    // As if the API had crashed between recording the event and starting its workflow.
    await inboundEventsCollection(ctx.db).insertOne({
      _id: `mux-${connection.id}-${event.id}`,
      provider: 'mux',
      provider_event_id: event.id,
      connection_id: connection.id,
      organization_id: a.org,
      event_type: event.type,
      handled: true,
      payload: event,
      status: 'received',
      received_at: new Date(),
    });
    const response = await sendMux(connection.id, connection.secret, event);
    expect(response.body).toEqual({ received: true, handled: true });
    await ctx.client.workflow.getHandle(`mux-${connection.id}-${event.id}`).result();
    expect(await findObject(ctx.db, object)).toBeNull();
  });

  it('acknowledges other event types with handled: false and changes nothing', async () => {
    const a = await newOrg();
    const connection = await createConnection(a, 'bkt_unhandled');
    const object = await createObject(a, 'bkt_unhandled', connection.id, 'asset-u');
    const event = muxEvent('video.asset.ready', { id: 'asset-u', status: 'ready' });
    const response = await sendMux(connection.id, connection.secret, event);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: true, handled: false });
    const upload = await sendMux(connection.id, connection.secret, { type: 'video.upload.created', id: randomUUID(), data: { id: 'up1' } });
    expect(upload.body).toEqual({ received: true, handled: false });

    const inbound = await inboundEventsCollection(ctx.db).findOne({ _id: `mux-${connection.id}-${event.id}` });
    expect(inbound).toMatchObject({ handled: false, status: 'ignored', payload: null });
    await expect(ctx.client.workflow.getHandle(`mux-${connection.id}-${event.id}`).describe()).rejects.toThrow();
    expect(await findObject(ctx.db, object)).not.toBeNull();
  });

  describe('rejections', () => {
    let owner: Org;
    let connection: { id: string; secret: string };
    let object: string;
    const asset = 'asset-guarded';

    beforeAll(async () => {
      owner = await newOrg();
      connection = await createConnection(owner, 'bkt_guarded');
      object = await createObject(owner, 'bkt_guarded', connection.id, asset);
    });

    async function expectUnchanged(): Promise<void> {
      expect(await findObject(ctx.db, object)).not.toBeNull();
      expect(await inboundEventsCollection(ctx.db).countDocuments({ connection_id: connection.id })).toBe(0);
    }

    it.each([
      ['a tampered body', 'tampered'],
      ['a wrong secret', 'wrong-secret'],
      ['a missing Mux-Signature header', 'missing'],
      ['a malformed Mux-Signature header', 'malformed'],
      ['a timestamp 6 minutes old', 'old'],
      ['a timestamp 6 minutes ahead', 'ahead'],
    ])('answers 401 to %s and changes nothing', async (_label, kind) => {
      const event = muxEvent('video.asset.deleted', { id: asset });
      const raw = JSON.stringify(event);
      const now = Math.floor(Date.now() / 1000);
      let response: ApiResponse;
      switch (kind) {
        case 'tampered':
          response = await sendMux(connection.id, connection.secret, event, {
            raw: raw.replace(asset, 'asset-other'),
            header: signMuxPayload(connection.secret, raw, now),
          });
          break;
        case 'wrong-secret':
          response = await sendMux(connection.id, 'not-the-secret', event);
          break;
        case 'missing':
          response = await sendMux(connection.id, connection.secret, event, { header: null });
          break;
        case 'malformed':
          response = await sendMux(connection.id, connection.secret, event, { header: 'sha256=abc' });
          break;
        case 'old':
          response = await sendMux(connection.id, connection.secret, event, { timestamp: now - 360 });
          break;
        default:
          response = await sendMux(connection.id, connection.secret, event, { timestamp: now + 360 });
      }
      expect(response.status, response.text).toBe(401);
      expect(response.body).toMatchObject({ success: false, status: 401, error: { type: 'InvalidSignature' } });
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(response.text).not.toContain(connection.secret);
      await settle(300);
      await expectUnchanged();
    });

    it('answers 400 to a signed body that is not JSON, or not a Mux event', async () => {
      const invalid = await sendMux(connection.id, connection.secret, undefined, { raw: '{"type": "video.asset.deleted",' });
      expect(invalid.status).toBe(400);
      expect(invalid.body).toMatchObject({ error: { type: 'InvalidJson' } });
      const empty = await sendMux(connection.id, connection.secret, undefined, { raw: '' });
      expect(empty.status).toBe(400);
      const noId = await sendMux(connection.id, connection.secret, { type: 'video.asset.deleted', data: { id: asset } });
      expect(noId.status).toBe(400);
      expect(noId.body).toMatchObject({ error: { type: 'BadRequest' } });
      const noAsset = await sendMux(connection.id, connection.secret, { type: 'video.asset.deleted', id: randomUUID(), data: {} });
      expect(noAsset.status).toBe(400);
      await expectUnchanged();
    });

    it('checks the signature before the JSON: an unsigned invalid body is 401, not 400', async () => {
      const response = await sendMux(connection.id, connection.secret, undefined, { raw: 'not json', header: null });
      expect(response.status).toBe(401);
    });

    it('answers 404 to an unknown or malformed connection id, whatever the signature and body', async () => {
      const event = muxEvent('video.asset.deleted', { id: asset });
      for (const id of ['conn_0123456789abcdef01234567', 'conn_nope', 'x'.repeat(40)]) {
        const signed = await sendMux(id, connection.secret, event);
        expect(signed.status, id).toBe(404);
        expect(signed.body).toMatchObject({ success: false, status: 404, error: { type: 'NotFound' } });
        const unsigned = await sendMux(id, connection.secret, undefined, { raw: 'not json', header: null });
        expect(unsigned.status, id).toBe(404);
      }
      // Another connection's signature does not reach this one's secret either.
      const other = await createConnection(owner, 'bkt_guarded');
      expect((await sendMux(other.id, connection.secret, event)).status).toBe(401);
      await expectUnchanged();
    });

    it('answers 413 to an oversized body', async () => {
      const event = muxEvent('video.asset.deleted', { id: asset, padding: 'x'.repeat(300 * 1024) });
      const response = await sendMux(connection.id, connection.secret, event);
      expect(response.status).toBe(413);
      expect(response.body).toMatchObject({ error: { type: 'PayloadTooLarge' } });
      await expectUnchanged();
    });

    it('answers 404 once the connection is deleted', async () => {
      const doomed = await createConnection(owner, 'bkt_guarded');
      expect((await api.request('DELETE', `${CONNECTIONS}/${doomed.id}`, { key: owner.key })).status).toBe(204);
      const response = await sendMux(doomed.id, doomed.secret, muxEvent('video.asset.deleted', { id: asset }));
      expect(response.status).toBe(404);
      await expectUnchanged();
    });
  });

  it('leaves the rest of the API on its own JSON parser', async () => {
    const a = await newOrg();
    const response = await api.request('POST', CONNECTIONS, { key: a.key, raw: '{"provider":' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { type: 'InvalidJson' } });
    const form = await api.request('POST', CONNECTIONS, {
      key: a.key,
      raw: 'a=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
  });
});
