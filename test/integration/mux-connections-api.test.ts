import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionsCollection } from '../../src/store/connection-store';
import { eventsCollection } from '../../src/store/event-store';
import { findObject } from '../../src/store/object-store';
import { startTestApi, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';

const CONNECTIONS = '/v1/organizations/connections';
const SECRET = 'planted-mux-secret-3f9a1c';
const objectsPath = (bucketId: string) => `/v1/organizations/buckets/${bucketId}/objects`;

const FILTERS = [
  { field: 'passthrough', operator: 'equals', value: 'keep' },
  { field: 'meta.title', operator: 'exists' },
  { field: 'duration', operator: 'gte', value: 10 },
  { field: 'meta.tags', operator: 'contains', value: 'news' },
];

describe('connections and objects API', () => {
  let ctx: TestContext;
  let api: TestApi;
  let otherKey: string;

  beforeAll(async () => {
    ctx = await createTestContext('mux-connections-api');
    api = await startTestApi(ctx, { org: 'org_media' });
    otherKey = await api.keyFor('org_rival');
  });

  afterAll(async () => {
    // Planted secret: no response of this file may contain it.
    expect(api.transcript.join('\n')).not.toContain(SECRET);
    await api?.close();
    await ctx?.close();
  });

  async function createConnection(body: Record<string, unknown> = {}, key?: string) {
    const response = await api.request('POST', CONNECTIONS, {
      key,
      body: { provider: 'mux', webhook_secret: SECRET, bucket_id: 'bkt_main', metadata_filters: FILTERS, ...body },
    });
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  describe('connections', () => {
    it('creates a Mux connection: the secret is sealed at rest and never returned', async () => {
      const created = await createConnection({ connection_name: 'Production Mux' });
      expect(created).toEqual({
        connection_id: expect.stringMatching(/^conn_[0-9a-f]{24}$/),
        provider: 'mux',
        connection_name: 'Production Mux',
        bucket_id: 'bkt_main',
        metadata_filters: FILTERS,
        webhook_path: `/v1/webhooks/mux/${created.connection_id}`,
        created_at: expect.any(String),
        updated_at: created.created_at,
      });
      const stored = await connectionsCollection(ctx.db).findOne({ _id: created.connection_id });
      expect(stored!.organization_id).toBe('org_media');
      expect(JSON.stringify(stored)).not.toContain(SECRET);
      expect(ctx.box.open(stored!.webhook_secret_sealed)).toBe(SECRET);

      const read = await api.request('GET', `${CONNECTIONS}/${created.connection_id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created);
      expect(read.text).not.toContain('secret');
    });

    it('accepts the trailing-slash path, and filters without any', async () => {
      const response = await api.request('POST', `${CONNECTIONS}/`, {
        body: { provider: 'mux', webhook_secret: SECRET, bucket_id: 'bkt_plain' },
      });
      expect(response.status).toBe(201);
      expect(response.body.metadata_filters).toEqual([]);
      expect(response.body.connection_name).toBeNull();
    });

    it('lists the organization\'s connections, newest first, paged', async () => {
      const rival = await createConnection({ bucket_id: 'bkt_rival' }, otherKey);
      const first = await createConnection({ bucket_id: 'bkt_list_1' });
      const second = await createConnection({ bucket_id: 'bkt_list_2' });
      const page = await api.request('GET', `${CONNECTIONS}?limit=2&include_total=true`);
      expect(page.status).toBe(200);
      expect(page.body.results.map((c: { connection_id: string }) => c.connection_id)).toEqual([
        second.connection_id,
        first.connection_id,
      ]);
      expect(page.body.pagination).toMatchObject({ page_size: 2, next_cursor: expect.any(String) });
      expect(page.body.pagination.total).toBeGreaterThanOrEqual(3);
      const all = await api.request('GET', `${CONNECTIONS}?limit=100`);
      const ids = all.body.results.map((c: { connection_id: string }) => c.connection_id);
      expect(ids).not.toContain(rival.connection_id);
      expect(all.text).not.toContain(SECRET);
      const next = await api.request('GET', `${CONNECTIONS}?limit=2&cursor=${page.body.pagination.next_cursor}`);
      expect(next.body.results[0].connection_id).not.toBe(first.connection_id);
    });

    it("answers 404 for another organization's connection, and its DELETE removes nothing", async () => {
      const created = await createConnection();
      const foreign = await api.request('GET', `${CONNECTIONS}/${created.connection_id}`, { key: otherKey });
      expect(foreign.status).toBe(404);
      expect(foreign.body).toMatchObject({ success: false, status: 404, error: { type: 'NotFound' } });
      expect(foreign.text).not.toContain('bkt_main');
      expect((await api.request('DELETE', `${CONNECTIONS}/${created.connection_id}`, { key: otherKey })).status).toBe(204);
      expect((await api.request('GET', `${CONNECTIONS}/${created.connection_id}`)).status).toBe(200);
      expect((await api.request('GET', `${CONNECTIONS}/conn_0123456789abcdef01234567`)).status).toBe(404);
    });

    it('deletes idempotently', async () => {
      const created = await createConnection();
      expect((await api.request('DELETE', `${CONNECTIONS}/${created.connection_id}`)).status).toBe(204);
      expect((await api.request('GET', `${CONNECTIONS}/${created.connection_id}`)).status).toBe(404);
      expect((await api.request('DELETE', `${CONNECTIONS}/${created.connection_id}`)).status).toBe(204);
    });

    it('needs an API key', async () => {
      expect((await api.request('GET', CONNECTIONS, { key: null })).status).toBe(401);
      expect((await api.request('POST', CONNECTIONS, { key: null, body: {} })).status).toBe(401);
    });

    it.each([
      ['no body', undefined, [['body']]],
      ['missing webhook_secret', { provider: 'mux', bucket_id: 'b' }, [['body', 'webhook_secret']]],
      ['empty webhook_secret', { provider: 'mux', bucket_id: 'b', webhook_secret: '' }, [['body', 'webhook_secret']]],
      ['another provider', { provider: 'youtube', bucket_id: 'b', webhook_secret: 's' }, [['body', 'provider']]],
      ['missing bucket_id', { provider: 'mux', webhook_secret: 's' }, [['body', 'bucket_id']]],
      ['a bucket_id with a slash', { provider: 'mux', webhook_secret: 's', bucket_id: 'a/b' }, [['body', 'bucket_id']]],
      ['metadata_filters not a list', { provider: 'mux', webhook_secret: 's', bucket_id: 'b', metadata_filters: {} }, [['body', 'metadata_filters']]],
      [
        'an unknown operator',
        { provider: 'mux', webhook_secret: 's', bucket_id: 'b', metadata_filters: [{ field: 'status', operator: 'matches', value: 'x' }] },
        [['body', 'metadata_filters', 0, 'operator']],
      ],
      [
        'equals without a value',
        { provider: 'mux', webhook_secret: 's', bucket_id: 'b', metadata_filters: [{ field: 'status', operator: 'equals' }] },
        [['body', 'metadata_filters', 0, 'value']],
      ],
      [
        'equals null',
        { provider: 'mux', webhook_secret: 's', bucket_id: 'b', metadata_filters: [{ field: 'status', operator: 'equals', value: null }] },
        [['body', 'metadata_filters', 0, 'value']],
      ],
      [
        'gt with an object',
        { provider: 'mux', webhook_secret: 's', bucket_id: 'b', metadata_filters: [{ field: 'duration', operator: 'gt', value: {} }] },
        [['body', 'metadata_filters', 0, 'value']],
      ],
      [
        'exists with a string',
        { provider: 'mux', webhook_secret: 's', bucket_id: 'b', metadata_filters: [{ field: 'x', operator: 'exists', value: 'yes' }] },
        [['body', 'metadata_filters', 0, 'value']],
      ],
      [
        'a malformed field path, and a second bad filter',
        {
          provider: 'mux',
          webhook_secret: 's',
          bucket_id: 'b',
          metadata_filters: [
            { field: 'meta..title', operator: 'exists' },
            { field: '', operator: 'equals', value: 1 },
          ],
        },
        [
          ['body', 'metadata_filters', 0, 'field'],
          ['body', 'metadata_filters', 1, 'field'],
        ],
      ],
    ])('answers 422 naming the field for %s', async (_label, body, locs) => {
      const response = await api.request('POST', CONNECTIONS, body === undefined ? {} : { body });
      expect(response.status, response.text).toBe(422);
      expect(response.body).toMatchObject({ success: false, status: 422, error: { type: 'ValidationError' } });
      expect(response.body.error.details.map((d: { loc: unknown[] }) => d.loc)).toEqual(locs);
      expect(await connectionsCollection(ctx.db).countDocuments({ bucket_id: 'b' })).toBe(0);
    });
  });

  describe('objects', () => {
    it('registers, reads, lists and deletes objects, emitting object.created and object.deleted', async () => {
      const connection = await createConnection({ bucket_id: 'bkt_objects' });
      const created = await api.request('POST', objectsPath('bkt_objects'), {
        body: {
          namespace_id: 'ns_1',
          metadata: { title: 'Clip' },
          source: { provider: 'mux', connection_id: connection.connection_id, asset_id: 'asset-1' },
        },
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toEqual({
        object_id: expect.stringMatching(/^obj_[0-9a-f]{24}$/),
        bucket_id: 'bkt_objects',
        namespace_id: 'ns_1',
        source: { provider: 'mux', connection_id: connection.connection_id, asset_id: 'asset-1', synced_at: null },
        metadata: { title: 'Clip' },
        created_at: expect.any(String),
        updated_at: created.body.created_at,
      });
      const objectId = created.body.object_id;
      const plain = await api.request('POST', objectsPath('bkt_objects'), {});
      expect(plain.status).toBe(201);
      expect(plain.body).toMatchObject({ source: null, metadata: {}, namespace_id: null });

      const createdEvent = await eventsCollection(ctx.db).findOne({ event_type: 'object.created', 'subject.id': objectId });
      expect(createdEvent).toMatchObject({
        organization_id: 'org_media',
        namespace_id: 'ns_1',
        status: 'pending',
        subject: { type: 'object', id: objectId },
        metadata: {
          bucket_id: 'bkt_objects',
          object_id: objectId,
          connection_id: connection.connection_id,
          asset_id: 'asset-1',
          metadata: { title: 'Clip' },
        },
      });

      expect((await api.request('GET', `${objectsPath('bkt_objects')}/${objectId}`)).body).toEqual(created.body);
      expect((await api.request('GET', `${objectsPath('bkt_elsewhere')}/${objectId}`)).status).toBe(404);
      expect((await api.request('GET', `${objectsPath('bkt_objects')}/${objectId}`, { key: otherKey })).status).toBe(404);

      const list = await api.request('GET', `${objectsPath('bkt_objects')}?include_total=true`);
      expect(list.body.results.map((o: { object_id: string }) => o.object_id)).toEqual([plain.body.object_id, objectId]);
      expect(list.body.pagination.total).toBe(2);
      const byAsset = await api.request('GET', `${objectsPath('bkt_objects')}?asset_id=asset-1`);
      expect(byAsset.body.results.map((o: { object_id: string }) => o.object_id)).toEqual([objectId]);
      expect((await api.request('GET', objectsPath('bkt_objects'), { key: otherKey })).body.results).toEqual([]);

      // Another organization's DELETE changes nothing.
      expect((await api.request('DELETE', `${objectsPath('bkt_objects')}/${objectId}`, { key: otherKey })).status).toBe(204);
      expect(await findObject(ctx.db, objectId)).not.toBeNull();

      expect((await api.request('DELETE', `${objectsPath('bkt_objects')}/${objectId}`)).status).toBe(204);
      expect(await findObject(ctx.db, objectId)).toBeNull();
      expect((await api.request('DELETE', `${objectsPath('bkt_objects')}/${objectId}`)).status).toBe(204);
      const deleted = await eventsCollection(ctx.db).find({ event_type: 'object.deleted', 'subject.id': objectId }).toArray();
      expect(deleted).toHaveLength(1);
      expect(deleted[0]).toMatchObject({
        metadata: { bucket_id: 'bkt_objects', object_id: objectId, connection_id: connection.connection_id, asset_id: 'asset-1', reason: 'api_request' },
      });
    });

    it("refuses a source whose connection is unknown, another organization's, or for another bucket", async () => {
      const mine = await createConnection({ bucket_id: 'bkt_a' });
      const theirs = await createConnection({ bucket_id: 'bkt_a' }, otherKey);
      for (const [connectionId, bucket] of [
        ['conn_0123456789abcdef01234567', 'bkt_a'],
        [theirs.connection_id, 'bkt_a'],
        [mine.connection_id, 'bkt_b'],
      ] as const) {
        const response = await api.request('POST', objectsPath(bucket), {
          body: { source: { provider: 'mux', connection_id: connectionId, asset_id: 'a1' } },
        });
        expect(response.status, response.text).toBe(422);
        expect(response.body.error.details[0].loc).toEqual(['body', 'source', 'connection_id']);
      }
      const bad = await api.request('POST', objectsPath('bkt_a'), { body: { metadata: [], source: { provider: 'x' } } });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details.map((d: { loc: unknown[] }) => d.loc.join('.'))).toEqual(
        expect.arrayContaining(['body.metadata', 'body.source.provider', 'body.source.connection_id', 'body.source.asset_id']),
      );
    });
  });

  it('documents every route in /openapi.json', async () => {
    const response = await api.request('GET', '/openapi.json', { key: null });
    expect(response.status).toBe(200);
    const paths = response.body.paths as Record<string, Record<string, { security?: unknown[]; parameters?: Array<{ name: string; in: string }> }>>;
    expect(Object.keys(paths['/v1/organizations/connections']!)).toEqual(expect.arrayContaining(['post', 'get']));
    expect(Object.keys(paths['/v1/organizations/connections/{connection_id}']!)).toEqual(expect.arrayContaining(['get', 'delete']));
    expect(Object.keys(paths['/v1/organizations/buckets/{bucket_id}/objects']!)).toEqual(expect.arrayContaining(['post', 'get']));
    expect(Object.keys(paths['/v1/organizations/buckets/{bucket_id}/objects/{object_id}']!)).toEqual(
      expect.arrayContaining(['get', 'delete']),
    );
    const inbound = paths['/v1/webhooks/mux/{connection_id}']!.post!;
    expect(inbound.security).toEqual([]);
    expect(inbound.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'mux-signature', in: 'header' })]));
    expect(response.body.components.schemas).toHaveProperty('Connection');
    expect(response.body.components.schemas).toHaveProperty('MetadataFilter');
  });
});
