import { describe, expect, it } from 'vitest';
import {
  buildEventDocument,
  EVENT_STATUSES,
  InvalidEventError,
  toDeliveryPayload,
  webhookEventDocumentSchema,
  type EmitEventInput,
} from '../../src/domain/event-envelope';

const NOW = new Date('2025-10-28T10:03:30.000Z');

const SEED_INPUT: EmitEventInput = {
  event_id: 'evt_123',
  organization_id: 'org_1',
  namespace_id: 'ns_prod',
  event_type: 'collection.documents.written',
  occurred_at: '2025-10-28T10:03:22Z',
  subject: { type: 'collection', id: 'col_products' },
  metadata: { document_count: 100, collection_id: 'col_products', index_signature: 'sig_xyz789' },
};

function issuesOf(input: EmitEventInput): { path: string; message: string }[] {
  try {
    buildEventDocument(input, NOW);
  } catch (error) {
    if (error instanceof InvalidEventError) return error.issues;
    throw error;
  }
  throw new Error('expected InvalidEventError');
}

describe('EVENT_STATUSES', () => {
  it('lists the lifecycle of docs/architecture.md, Data', () => {
    expect(EVENT_STATUSES).toEqual(['pending', 'dispatched', 'delivered', 'partially_failed', 'failed', 'no_subscribers']);
  });
});

describe('buildEventDocument', () => {
  it('builds the pending document of the seed example', () => {
    expect(buildEventDocument(SEED_INPUT, NOW)).toEqual({
      _id: 'evt_123',
      organization_id: 'org_1',
      namespace_id: 'ns_prod',
      event_type: 'collection.documents.written',
      occurred_at: new Date('2025-10-28T10:03:22Z'),
      subject: { type: 'collection', id: 'col_products' },
      metadata: { document_count: 100, collection_id: 'col_products', index_signature: 'sig_xyz789' },
      cache_scope: { scope: 'collection', collection_id: 'col_products' },
      status: 'pending',
      created_at: NOW,
    });
  });

  it('generates the id, takes now for occurred_at and derives subject and cache scope', () => {
    const document = buildEventDocument(
      { organization_id: 'org_1', namespace_id: 'ns_1', event_type: 'object.created', metadata: { bucket_id: 'bkt_1', object_id: 'obj_9' } },
      NOW,
    );
    expect(document._id).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(document.occurred_at).toEqual(NOW);
    expect(document.subject).toEqual({ type: 'object', id: 'obj_9' });
    expect(document.cache_scope).toEqual({ scope: 'key', keys: ['obj_9'] });
    expect(document).not.toHaveProperty('target_webhook_ids');
    expect(document).not.toHaveProperty('dispatched_at');
  });

  it('uses an injected id generator and keeps an explicit cache scope', () => {
    const document = buildEventDocument(
      { ...SEED_INPUT, event_id: undefined, cache_scope: { scope: 'namespace' } },
      NOW,
      { generateEventId: () => 'evt_fixed' },
    );
    expect(document._id).toBe('evt_fixed');
    expect(document.cache_scope).toEqual({ scope: 'namespace' });
  });

  it('stores a missing namespace as null and de-duplicates target webhooks', () => {
    const document = buildEventDocument(
      {
        organization_id: 'org_1',
        event_type: 'webhook.test',
        metadata: { webhook_id: 'wh_0123456789abcdef' },
        target_webhook_ids: ['wh_0123456789abcdef', 'wh_0123456789abcdef'],
      },
      NOW,
    );
    expect(document.namespace_id).toBeNull();
    expect(document.subject).toEqual({ type: 'webhook', id: 'wh_0123456789abcdef' });
    expect(document.target_webhook_ids).toEqual(['wh_0123456789abcdef']);
  });

  it('accepts a Date for occurred_at', () => {
    const at = new Date('2024-01-01T00:00:00Z');
    expect(buildEventDocument({ ...SEED_INPUT, occurred_at: at }, NOW).occurred_at).toEqual(at);
  });

  it('refuses an unknown event type', () => {
    expect(issuesOf({ ...SEED_INPUT, event_type: 'collection.exploded' })).toEqual([
      { path: 'event_type', message: expect.stringContaining('"collection.exploded" is not a known event type') },
    ]);
  });

  it('validates metadata against the catalog, with paths under metadata', () => {
    const issues = issuesOf({ ...SEED_INPUT, metadata: { document_count: 'many' } });
    expect(issues.map((issue) => issue.path).sort()).toEqual(['metadata.collection_id', 'metadata.document_count']);
  });

  it('needs a subject it can derive', () => {
    expect(issuesOf({ organization_id: 'o', event_type: 'object.created', metadata: { bucket_id: 'b' } })).toEqual([
      { path: 'subject', message: expect.stringContaining('metadata.object_id') },
    ]);
  });

  it.each<[string, Partial<EmitEventInput>, string]>([
    ['bad event id', { event_id: 'evt_a/b' }, 'event_id'],
    ['event id without prefix', { event_id: '123' }, 'event_id'],
    ['empty organization', { organization_id: '' }, 'organization_id'],
    ['naive timestamp', { occurred_at: '2025-10-28T10:03:22' }, 'occurred_at'],
    ['bad target id', { target_webhook_ids: ['wh_nope'] }, 'target_webhook_ids.0'],
    ['empty targets', { target_webhook_ids: [] }, 'target_webhook_ids'],
    ['collection scope without id', { cache_scope: { scope: 'collection' } }, 'cache_scope.collection_id'],
    ['metadata not an object', { metadata: [] as unknown as Record<string, unknown> }, 'metadata'],
  ])('refuses %s', (_name, change, path) => {
    expect(issuesOf({ ...SEED_INPUT, ...change }).map((issue) => issue.path)).toContain(path);
  });

  it('puts every problem in the error message', () => {
    expect(() => buildEventDocument({ ...SEED_INPUT, organization_id: '', event_id: 'bad' }, NOW)).toThrow(
      /invalid event: .*event_id.*organization_id|invalid event: .*organization_id.*event_id/,
    );
  });
});

describe('toDeliveryPayload', () => {
  it('is exactly the Mixpeek payload of the seed page', () => {
    const payload = toDeliveryPayload(buildEventDocument(SEED_INPUT, NOW));
    expect(payload).toStrictEqual({
      event_id: 'evt_123',
      event_type: 'collection.documents.written',
      occurred_at: '2025-10-28T10:03:22.000Z',
      namespace_id: 'ns_prod',
      subject: { type: 'collection', id: 'col_products' },
      metadata: { document_count: 100, collection_id: 'col_products', index_signature: 'sig_xyz789' },
      cache_scope: { scope: 'collection', collection_id: 'col_products' },
    });
  });

  it('leaves out internal fields and extra document fields', () => {
    const document = { ...buildEventDocument(SEED_INPUT, NOW), dispatched_at: NOW, target_webhook_ids: ['wh_0123456789abcdef'], extra: 1 };
    expect(Object.keys(toDeliveryPayload(document)).sort()).toEqual(
      ['cache_scope', 'event_id', 'event_type', 'metadata', 'namespace_id', 'occurred_at', 'subject'].sort(),
    );
  });

  it('defaults a missing cache scope and metadata for foreign producers', () => {
    const stored = webhookEventDocumentSchema.parse({
      _id: 'evt_foreign',
      organization_id: 'org_1',
      event_type: 'object.deleted',
      occurred_at: '2025-01-01T00:00:00Z',
      subject: { type: 'object', id: 'obj_1' },
      status: 'pending',
      created_at: new Date('2025-01-01T00:00:01Z'),
    });
    expect(toDeliveryPayload(stored)).toStrictEqual({
      event_id: 'evt_foreign',
      event_type: 'object.deleted',
      occurred_at: '2025-01-01T00:00:00.000Z',
      namespace_id: null,
      subject: { type: 'object', id: 'obj_1' },
      metadata: {},
      cache_scope: { scope: 'key', keys: ['obj_1'] },
    });
  });
});

describe('webhookEventDocumentSchema', () => {
  it('accepts what buildEventDocument produces', () => {
    const document = buildEventDocument(SEED_INPUT, NOW);
    expect(webhookEventDocumentSchema.parse(document)).toEqual(document);
  });

  it('keeps fields it does not know', () => {
    const document = { ...buildEventDocument(SEED_INPUT, NOW), outcome: 'delivered' };
    expect(webhookEventDocumentSchema.parse(document)).toHaveProperty('outcome', 'delivered');
  });

  it.each([
    ['a bad status', { status: 'sent' }],
    ['a bad id', { _id: 'evt_a b' }],
    ['no subject', { subject: undefined }],
    ['a non-date occurred_at', { occurred_at: 'yesterday' }],
    ['an _id that is not a string', { _id: 42 }],
    ['no created_at', { created_at: undefined }],
    // Temporal refuses a search attribute value over 2 KiB: such an event could never start.
    ['an event_type longer than 200 characters', { event_type: `custom.${'x'.repeat(200)}` }],
  ])('refuses %s', (_name, change) => {
    expect(webhookEventDocumentSchema.safeParse({ ...buildEventDocument(SEED_INPUT, NOW), ...change }).success).toBe(false);
  });
});

describe('buildEventDocument refuses metadata MongoDB cannot store', () => {
  const base = { organization_id: 'org_a', event_type: 'collection.documents.written' };
  it('names a NUL in a field name', () => {
    expect(() => buildEventDocument({ ...base, metadata: { collection_id: 'c', 'a\u0000b': 1 } }, new Date())).toThrow(
      /metadata: field names must not contain NUL/,
    );
  });
  it('names nesting deeper than the limit', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(() => buildEventDocument({ ...base, metadata: { collection_id: 'c', deep } }, new Date())).toThrow(
      /metadata\.deep(\.d)+: nested deeper than 32 levels/,
    );
  });
});
