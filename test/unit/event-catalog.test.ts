import { describe, expect, it } from 'vitest';
import {
  defaultCacheScope,
  defaultSubject,
  EVENT_TYPES,
  getEventTypeEntry,
  isKnownEventType,
  listEventTypes,
  metadataJsonSchema,
  payloadJsonSchema,
} from '../../src/domain/event-catalog';

// Mixpeek's WebhookEventType enum, as published in its OpenAPI document.
const MIXPEEK_ENUM = [
  'object.created', 'objects.created.batch', 'object.updated', 'object.deleted',
  'collection.created', 'collection.updated', 'collection.deleted', 'collection.documents.written',
  'cluster.created', 'cluster.updated', 'cluster.deleted',
  'cluster.execution.started', 'cluster.execution.completed', 'cluster.execution.failed',
  'trigger.created', 'trigger.updated', 'trigger.deleted', 'trigger.paused', 'trigger.resumed', 'trigger.fired',
  'trigger.execution.completed', 'trigger.execution.failed',
  'taxonomy.created', 'taxonomy.updated', 'taxonomy.deleted',
  'alert.created', 'alert.updated', 'alert.deleted', 'alert.triggered',
  'alert.execution.completed', 'alert.execution.failed',
];

describe('EVENT_TYPES', () => {
  it("holds Mixpeek's enum, the seed page's extra types and webhook.test, once each", () => {
    const expected = [...MIXPEEK_ENUM, 'batch.completed', 'cluster.completed', 'taxonomy.materialized', 'webhook.test'];
    expect([...EVENT_TYPES].sort()).toEqual([...expected].sort());
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
  });
});

describe('entries', () => {
  it('every type has a one-line description, a scope and a metadata schema', () => {
    for (const name of EVENT_TYPES) {
      const entry = getEventTypeEntry(name);
      expect(entry?.name).toBe(name);
      expect(entry?.description).toMatch(/^[A-Z].+\.$/);
      expect(entry?.description).not.toContain('\n');
      expect(['key', 'collection', 'namespace']).toContain(entry?.cache_scope);
    }
  });

  it('assigns cache scopes by the documented rule', () => {
    const scopeOf = (name: string) => getEventTypeEntry(name)?.cache_scope;
    for (const name of EVENT_TYPES) {
      if (name.startsWith('object.') || name.startsWith('objects.')) expect(scopeOf(name)).toBe('key');
      if (name.startsWith('collection.')) expect(scopeOf(name)).toBe('collection');
      if (/^(cluster|trigger|alert|batch)\./.test(name)) expect(scopeOf(name)).toBe('namespace');
    }
    expect(scopeOf('taxonomy.created')).toBe('namespace');
    expect(scopeOf('taxonomy.materialized')).toBe('collection');
    expect(scopeOf('webhook.test')).toBe('key');
  });

  it('knows and does not know types', () => {
    expect(isKnownEventType('object.created')).toBe(true);
    expect(isKnownEventType('object.exploded')).toBe(false);
    expect(isKnownEventType('*')).toBe(false);
    expect(getEventTypeEntry('object.exploded')).toBeUndefined();
  });
});

describe('metadata schemas', () => {
  const parse = (name: string, metadata: unknown) => getEventTypeEntry(name)!.metadata.safeParse(metadata);

  it("accept the seed page's example payload", () => {
    const result = parse('collection.documents.written', {
      document_count: 100,
      collection_id: 'col_products',
      index_signature: 'sig_xyz789',
    });
    expect(result.success).toBe(true);
  });

  it('require the identifying field and type the known ones', () => {
    expect(parse('collection.documents.written', { document_count: 1 }).success).toBe(false);
    expect(parse('collection.documents.written', { collection_id: 'c', document_count: -1 }).success).toBe(false);
    expect(parse('collection.documents.written', { collection_id: 'c', document_ids: 'd1' }).success).toBe(false);
    expect(parse('object.created', { object_id: 'obj_1' }).success).toBe(false);
    expect(parse('object.created', { bucket_id: 'bkt_1' }).success).toBe(true);
    expect(parse('taxonomy.materialized', { taxonomy_id: 't' }).success).toBe(false);
    expect(parse('taxonomy.materialized', { taxonomy_id: 't', collection_id: 'c', updated_document_count: 3 }).success).toBe(true);
    expect(parse('batch.completed', { batch_id: 'b', collection_ids: ['c1', 'c2'], object_count: 10 }).success).toBe(true);
    expect(parse('cluster.completed', { cluster_id: 'cl', run_id: 'r', artifact_uris: ['s3://x'] }).success).toBe(true);
    expect(parse('objects.created.batch', { bucket_id: 'b' }).success).toBe(false);
  });

  it('keep fields a producer adds', () => {
    const result = parse('object.created', { bucket_id: 'bkt_1', object_id: 'obj_1', custom: { a: 1 } });
    expect(result.success && result.data).toEqual({ bucket_id: 'bkt_1', object_id: 'obj_1', custom: { a: 1 } });
  });

  it('accept failure details as a string or an object with a message', () => {
    expect(parse('cluster.execution.failed', { cluster_id: 'c', error: 'boom' }).success).toBe(true);
    expect(parse('cluster.execution.failed', { cluster_id: 'c', error: { message: 'boom', code: 7 } }).success).toBe(true);
    expect(parse('cluster.execution.failed', { cluster_id: 'c', error: 42 }).success).toBe(false);
  });
});

describe('JSON Schemas', () => {
  it('describe metadata with required and typed fields, open to extras', () => {
    const schema = metadataJsonSchema('collection.documents.written') as {
      type: string;
      required: string[];
      properties: Record<string, { type?: string }>;
      additionalProperties: unknown;
    };
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['collection_id']);
    expect(schema.properties.document_count?.type).toBe('integer');
    expect(schema.properties.document_ids?.type).toBe('array');
    expect(schema.additionalProperties).not.toBe(false);
    expect(metadataJsonSchema('nope')).toBeUndefined();
  });

  it('describe the whole payload with the event type as a constant', () => {
    const schema = payloadJsonSchema('object.deleted') as {
      required: string[];
      properties: Record<string, { const?: string; format?: string }>;
    };
    expect(schema.required).toEqual(
      expect.arrayContaining(['event_id', 'event_type', 'occurred_at', 'namespace_id', 'subject', 'metadata', 'cache_scope']),
    );
    expect(schema.properties.event_type?.const).toBe('object.deleted');
    expect(schema.properties.occurred_at?.format).toBe('date-time');
    expect(payloadJsonSchema('nope')).toBeUndefined();
  });

  it('listEventTypes returns the whole catalog in API shape, JSON-serialisable', () => {
    const listing = listEventTypes();
    expect(listing.map((item) => item.name)).toEqual([...EVENT_TYPES]);
    for (const item of listing) {
      expect(Object.keys(item).sort()).toEqual(['cache_scope', 'description', 'name', 'schema']);
    }
    expect(() => JSON.stringify(listing)).not.toThrow();
  });
});

describe('defaults', () => {
  it('derive the subject from the catalog field', () => {
    expect(defaultSubject('object.created', { bucket_id: 'b', object_id: 'obj_1' })).toEqual({ type: 'object', id: 'obj_1' });
    expect(defaultSubject('collection.documents.written', { collection_id: 'col_1' })).toEqual({ type: 'collection', id: 'col_1' });
    expect(defaultSubject('object.created', { bucket_id: 'b' })).toBeUndefined();
    expect(defaultSubject('unknown.type', { id: 'x' })).toBeUndefined();
  });

  it('derive the cache scope per scope kind', () => {
    expect(defaultCacheScope('collection.documents.written', { type: 'collection', id: 'col_p' }, { collection_id: 'col_p' })).toEqual({
      scope: 'collection',
      collection_id: 'col_p',
    });
    expect(defaultCacheScope('object.updated', { type: 'object', id: 'obj_1' }, { bucket_id: 'b', object_id: 'obj_1' })).toEqual({
      scope: 'key',
      keys: ['obj_1'],
    });
    expect(defaultCacheScope('objects.created.batch', { type: 'bucket', id: 'b' }, { bucket_id: 'b', object_ids: ['o1', 'o2'] })).toEqual({
      scope: 'key',
      keys: ['o1', 'o2'],
    });
    expect(defaultCacheScope('cluster.completed', { type: 'cluster', id: 'c' }, { cluster_id: 'c' })).toEqual({ scope: 'namespace' });
    expect(defaultCacheScope('made.up', { type: 'x', id: 'y' }, {})).toEqual({ scope: 'namespace' });
  });
});
