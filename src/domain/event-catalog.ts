import { z } from 'zod';

/**
 * The event types hookrelay delivers: Mixpeek's `WebhookEventType` enum, the seed page's
 * `batch.completed`, `cluster.completed` and `taxonomy.materialized`, and our own
 * `webhook.test`. Each entry carries the default cache scope and a loose schema of its
 * `metadata` (known fields typed; producers may add more).
 *
 * Cache scope rule, applied to every type:
 *   - key:        the event concerns individual objects (object.*, objects.created.batch)
 *                 or nothing cached at all (webhook.test: invalidates no real key);
 *   - collection: the event changes exactly one collection (collection.*, and
 *                 taxonomy.materialized, which writes into one collection);
 *   - namespace:  the event concerns a namespace-level resource (cluster, trigger,
 *                 taxonomy definition, alert) or several collections (batch.completed,
 *                 cluster runs), so only a namespace-wide invalidation is safe.
 */

export const CACHE_SCOPES = ['key', 'collection', 'namespace'] as const;
export type CacheScopeName = (typeof CACHE_SCOPES)[number];

export const subjectSchema = z.object({
  type: z.string().min(1, 'subject.type must not be empty').max(100).describe('Kind of resource the event is about'),
  id: z.string().min(1, 'subject.id must not be empty').max(500).describe('Identifier of that resource'),
});
export type EventSubject = z.output<typeof subjectSchema>;

export const cacheScopeSchema = z
  .object({
    scope: z.enum(CACHE_SCOPES, { error: 'cache_scope.scope must be "key", "collection" or "namespace"' }),
    collection_id: z.string().min(1).optional(),
    keys: z.array(z.string().min(1)).optional(),
  })
  .superRefine((cacheScope, ctx) => {
    if (cacheScope.scope === 'collection' && cacheScope.collection_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['collection_id'], message: 'a collection cache scope needs collection_id' });
    }
  })
  .describe('What a receiver should invalidate: specific keys, one collection, or the whole namespace');
export type CacheScope = z.output<typeof cacheScopeSchema>;

export const EVENT_TYPES = [
  'object.created',
  'objects.created.batch',
  'object.updated',
  'object.deleted',
  'collection.created',
  'collection.updated',
  'collection.deleted',
  'collection.documents.written',
  'cluster.created',
  'cluster.updated',
  'cluster.deleted',
  'cluster.execution.started',
  'cluster.execution.completed',
  'cluster.execution.failed',
  'cluster.completed',
  'trigger.created',
  'trigger.updated',
  'trigger.deleted',
  'trigger.paused',
  'trigger.resumed',
  'trigger.fired',
  'trigger.execution.completed',
  'trigger.execution.failed',
  'taxonomy.created',
  'taxonomy.updated',
  'taxonomy.deleted',
  'taxonomy.materialized',
  'alert.created',
  'alert.updated',
  'alert.deleted',
  'alert.triggered',
  'alert.execution.completed',
  'alert.execution.failed',
  'batch.completed',
  'webhook.test',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventTypeEntry {
  readonly name: EventType;
  readonly description: string;
  readonly cache_scope: CacheScopeName;
  /** subject.type used when a producer omits the subject. */
  readonly subject_type: string;
  /** metadata field holding subject.id when a producer omits the subject. */
  readonly subject_id_field: string;
  readonly metadata: z.ZodType<Record<string, unknown>>;
}

// ── metadata building blocks ───────────────────────────────────────────────────────────

const identifier = (description: string) => z.string().min(1).max(500).describe(description);
const count = (description: string) => z.number().int().nonnegative().describe(description);
const identifierList = (description: string) => z.array(z.string().min(1).max(500)).describe(description);
const failureDetail = z
  .union([z.string(), z.looseObject({ message: z.string() })])
  .describe('Why it failed: a message, or an object with at least a message');

const objectMetadata = {
  bucket_id: identifier('Bucket holding the object'),
  object_id: identifier('The object').optional(),
  metadata: z.record(z.string(), z.unknown()).describe("Snapshot of the object's metadata").optional(),
  connection_id: identifier('Inbound connection whose provider event caused the change (synced objects)').optional(),
  asset_id: identifier("The provider's asset the object was made from, e.g. a Mux asset id").optional(),
  source: z
    .looseObject({
      provider: z.string().optional(),
      connection_id: z.string().optional(),
      asset_id: z.string().optional(),
    })
    .describe('Where the object came from, for synced objects')
    .optional(),
};

const collectionMetadata = {
  collection_id: identifier('The collection'),
  collection_name: z.string().describe('Human name of the collection').optional(),
};

const clusterMetadata = {
  cluster_id: identifier('The cluster'),
  cluster_name: z.string().describe('Human name of the cluster').optional(),
};

const clusterRunMetadata = {
  cluster_id: identifier('The cluster'),
  run_id: identifier('The clustering run').optional(),
};

const triggerMetadata = {
  trigger_id: identifier('The trigger'),
  cluster_id: identifier('Cluster the trigger runs').optional(),
  trigger_name: z.string().describe('Human name of the trigger').optional(),
};

const triggerExecutionMetadata = {
  trigger_id: identifier('The trigger'),
  execution_id: identifier('The execution').optional(),
  cluster_id: identifier('Cluster the trigger runs').optional(),
};

const taxonomyMetadata = {
  taxonomy_id: identifier('The taxonomy'),
  taxonomy_name: z.string().describe('Human name of the taxonomy').optional(),
};

const alertMetadata = {
  alert_id: identifier('The alert'),
  alert_name: z.string().describe('Human name of the alert').optional(),
};

const alertExecutionMetadata = {
  alert_id: identifier('The alert'),
  execution_id: identifier('The alert evaluation').optional(),
};

type EntryDefinition = Omit<EventTypeEntry, 'name' | 'metadata'> & {
  readonly metadata: z.ZodRawShape;
};

const DEFINITIONS: Record<EventType, EntryDefinition> = {
  'object.created': {
    description: 'An object was registered in a bucket.',
    cache_scope: 'key',
    subject_type: 'object',
    subject_id_field: 'object_id',
    metadata: objectMetadata,
  },
  'objects.created.batch': {
    description: 'Several objects were registered in a bucket at once.',
    cache_scope: 'key',
    subject_type: 'bucket',
    subject_id_field: 'bucket_id',
    metadata: {
      bucket_id: identifier('Bucket holding the objects'),
      object_ids: identifierList('The objects created'),
      object_count: count('Number of objects created').optional(),
    },
  },
  'object.updated': {
    description: "An object's content or metadata changed.",
    cache_scope: 'key',
    subject_type: 'object',
    subject_id_field: 'object_id',
    metadata: {
      ...objectMetadata,
      changed_fields: z.array(z.string()).describe('Fields that changed').optional(),
    },
  },
  'object.deleted': {
    description: 'An object was removed from its bucket.',
    cache_scope: 'key',
    subject_type: 'object',
    subject_id_field: 'object_id',
    metadata: {
      ...objectMetadata,
      reason: z.string().describe('Why it was removed, e.g. source_deleted or filter_mismatch').optional(),
    },
  },
  'collection.created': {
    description: 'A collection was created.',
    cache_scope: 'collection',
    subject_type: 'collection',
    subject_id_field: 'collection_id',
    metadata: collectionMetadata,
  },
  'collection.updated': {
    description: "A collection's configuration changed.",
    cache_scope: 'collection',
    subject_type: 'collection',
    subject_id_field: 'collection_id',
    metadata: { ...collectionMetadata, changed_fields: z.array(z.string()).describe('Fields that changed').optional() },
  },
  'collection.deleted': {
    description: 'A collection was deleted.',
    cache_scope: 'collection',
    subject_type: 'collection',
    subject_id_field: 'collection_id',
    metadata: collectionMetadata,
  },
  'collection.documents.written': {
    description: 'The engine finished writing documents into a collection.',
    cache_scope: 'collection',
    subject_type: 'collection',
    subject_id_field: 'collection_id',
    metadata: {
      collection_id: identifier('Collection the documents were written to'),
      document_ids: identifierList('Documents written (may be omitted for large writes)').optional(),
      document_count: count('Number of documents written').optional(),
      index_signature: z.string().describe("Signature of the collection's index after the write").optional(),
      batch_id: identifier('Batch that produced the documents').optional(),
      task_id: identifier('Task that produced the documents').optional(),
    },
  },
  'cluster.created': {
    description: 'A cluster definition was created.',
    cache_scope: 'namespace',
    subject_type: 'cluster',
    subject_id_field: 'cluster_id',
    metadata: clusterMetadata,
  },
  'cluster.updated': {
    description: 'A cluster definition changed.',
    cache_scope: 'namespace',
    subject_type: 'cluster',
    subject_id_field: 'cluster_id',
    metadata: clusterMetadata,
  },
  'cluster.deleted': {
    description: 'A cluster definition was deleted.',
    cache_scope: 'namespace',
    subject_type: 'cluster',
    subject_id_field: 'cluster_id',
    metadata: clusterMetadata,
  },
  'cluster.execution.started': {
    description: 'A clustering run started.',
    cache_scope: 'namespace',
    subject_type: 'cluster',
    subject_id_field: 'cluster_id',
    metadata: clusterRunMetadata,
  },
  'cluster.execution.completed': {
    description: 'A clustering run finished successfully.',
    cache_scope: 'namespace',
    subject_type: 'cluster',
    subject_id_field: 'cluster_id',
    metadata: {
      ...clusterRunMetadata,
      num_clusters: count('Number of clusters found').optional(),
      artifact_uris: z.array(z.string()).describe('Where the run stored its artifacts').optional(),
      duration_ms: count('How long the run took').optional(),
    },
  },
  'cluster.execution.failed': {
    description: 'A clustering run failed.',
    cache_scope: 'namespace',
    subject_type: 'cluster',
    subject_id_field: 'cluster_id',
    metadata: { ...clusterRunMetadata, error: failureDetail.optional() },
  },
  'cluster.completed': {
    description: 'A clustering run finished and its results were written.',
    cache_scope: 'namespace',
    subject_type: 'cluster',
    subject_id_field: 'cluster_id',
    metadata: {
      ...clusterRunMetadata,
      artifact_uris: z.array(z.string()).describe('Where the run stored its artifacts').optional(),
      collection_ids: identifierList('Collections whose documents received cluster assignments').optional(),
    },
  },
  'trigger.created': {
    description: 'A cluster trigger was created.',
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: triggerMetadata,
  },
  'trigger.updated': {
    description: 'A cluster trigger changed.',
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: triggerMetadata,
  },
  'trigger.deleted': {
    description: 'A cluster trigger was deleted.',
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: triggerMetadata,
  },
  'trigger.paused': {
    description: 'A cluster trigger was paused.',
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: triggerMetadata,
  },
  'trigger.resumed': {
    description: 'A paused cluster trigger was resumed.',
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: triggerMetadata,
  },
  'trigger.fired': {
    description: 'A cluster trigger fired and started an execution.',
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: { ...triggerExecutionMetadata, reason: z.string().describe('What made it fire').optional() },
  },
  'trigger.execution.completed': {
    description: "A trigger's execution finished successfully.",
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: triggerExecutionMetadata,
  },
  'trigger.execution.failed': {
    description: "A trigger's execution failed.",
    cache_scope: 'namespace',
    subject_type: 'trigger',
    subject_id_field: 'trigger_id',
    metadata: { ...triggerExecutionMetadata, error: failureDetail.optional() },
  },
  'taxonomy.created': {
    description: 'A taxonomy was created.',
    cache_scope: 'namespace',
    subject_type: 'taxonomy',
    subject_id_field: 'taxonomy_id',
    metadata: taxonomyMetadata,
  },
  'taxonomy.updated': {
    description: 'A taxonomy changed.',
    cache_scope: 'namespace',
    subject_type: 'taxonomy',
    subject_id_field: 'taxonomy_id',
    metadata: taxonomyMetadata,
  },
  'taxonomy.deleted': {
    description: 'A taxonomy was deleted.',
    cache_scope: 'namespace',
    subject_type: 'taxonomy',
    subject_id_field: 'taxonomy_id',
    metadata: taxonomyMetadata,
  },
  'taxonomy.materialized': {
    description: "A taxonomy's enrichment was written into a collection.",
    cache_scope: 'collection',
    subject_type: 'taxonomy',
    subject_id_field: 'taxonomy_id',
    metadata: {
      taxonomy_id: identifier('The taxonomy'),
      collection_id: identifier('Collection that received the enrichment'),
      updated_document_count: count('Number of documents updated').optional(),
    },
  },
  'alert.created': {
    description: 'An alert was created.',
    cache_scope: 'namespace',
    subject_type: 'alert',
    subject_id_field: 'alert_id',
    metadata: alertMetadata,
  },
  'alert.updated': {
    description: 'An alert changed.',
    cache_scope: 'namespace',
    subject_type: 'alert',
    subject_id_field: 'alert_id',
    metadata: alertMetadata,
  },
  'alert.deleted': {
    description: 'An alert was deleted.',
    cache_scope: 'namespace',
    subject_type: 'alert',
    subject_id_field: 'alert_id',
    metadata: alertMetadata,
  },
  'alert.triggered': {
    description: "An alert's condition was met.",
    cache_scope: 'namespace',
    subject_type: 'alert',
    subject_id_field: 'alert_id',
    metadata: {
      ...alertExecutionMetadata,
      severity: z.string().describe('Severity configured on the alert').optional(),
      message: z.string().describe('Human summary of what matched').optional(),
      match_count: count('Number of matching items').optional(),
    },
  },
  'alert.execution.completed': {
    description: "An alert's evaluation finished successfully.",
    cache_scope: 'namespace',
    subject_type: 'alert',
    subject_id_field: 'alert_id',
    metadata: alertExecutionMetadata,
  },
  'alert.execution.failed': {
    description: "An alert's evaluation failed.",
    cache_scope: 'namespace',
    subject_type: 'alert',
    subject_id_field: 'alert_id',
    metadata: { ...alertExecutionMetadata, error: failureDetail.optional() },
  },
  'batch.completed': {
    description: 'A batch finished processing.',
    cache_scope: 'namespace',
    subject_type: 'batch',
    subject_id_field: 'batch_id',
    metadata: {
      batch_id: identifier('The batch'),
      bucket_id: identifier('Bucket the batch read from').optional(),
      collection_ids: identifierList('Collections the batch wrote to').optional(),
      object_count: count('Objects processed').optional(),
      document_count: count('Documents written').optional(),
      failed_count: count('Objects that failed').optional(),
    },
  },
  'webhook.test': {
    description: 'A test event sent on request to one webhook.',
    cache_scope: 'key',
    subject_type: 'webhook',
    subject_id_field: 'webhook_id',
    metadata: {
      webhook_id: identifier('The webhook being tested'),
      message: z.string().describe('Free text shown to the receiver').optional(),
    },
  },
};

const ENTRIES: ReadonlyMap<string, EventTypeEntry> = new Map(
  EVENT_TYPES.map((name) => {
    const { metadata, ...rest } = DEFINITIONS[name];
    const entry: EventTypeEntry = {
      name,
      ...rest,
      metadata: z.looseObject(metadata).describe(`metadata of ${name}`),
    };
    return [name, entry];
  }),
);

export function isKnownEventType(name: string): name is EventType {
  return ENTRIES.has(name);
}

export function getEventTypeEntry(name: string): EventTypeEntry | undefined {
  return ENTRIES.get(name);
}

const metadataJsonSchemas = new Map<string, Record<string, unknown>>();
const payloadJsonSchemas = new Map<string, Record<string, unknown>>();

/** JSON Schema of an event type's `metadata`; undefined for an unknown type. */
export function metadataJsonSchema(name: string): Record<string, unknown> | undefined {
  const entry = ENTRIES.get(name);
  if (!entry) return undefined;
  let schema = metadataJsonSchemas.get(name);
  if (!schema) {
    schema = z.toJSONSchema(entry.metadata) as Record<string, unknown>;
    metadataJsonSchemas.set(name, schema);
  }
  return schema;
}

/** JSON Schema of the whole delivered payload of an event type; undefined for an unknown type. */
export function payloadJsonSchema(name: string): Record<string, unknown> | undefined {
  const entry = ENTRIES.get(name);
  if (!entry) return undefined;
  let schema = payloadJsonSchemas.get(name);
  if (!schema) {
    const payload = z
      .object({
        event_id: z.string().describe('Unique event id; use it to deduplicate'),
        event_type: z.literal(name),
        occurred_at: z.iso.datetime().describe('When the event happened (ISO 8601, UTC)'),
        namespace_id: z.string().nullable().describe('Namespace the event belongs to'),
        subject: subjectSchema,
        metadata: entry.metadata,
        cache_scope: cacheScopeSchema,
      })
      .describe(entry.description);
    schema = z.toJSONSchema(payload) as Record<string, unknown>;
    payloadJsonSchemas.set(name, schema);
  }
  return schema;
}

export interface EventTypeListing {
  name: EventType;
  description: string;
  cache_scope: CacheScopeName;
  schema: Record<string, unknown>;
}

/** The catalog as `GET /v1/organizations/webhooks/event-types` returns it. */
export function listEventTypes(): EventTypeListing[] {
  return EVENT_TYPES.map((name) => {
    const entry = ENTRIES.get(name)!;
    return { name, description: entry.description, cache_scope: entry.cache_scope, schema: payloadJsonSchema(name)! };
  });
}

/**
 * The cache scope an event gets when its producer gives none: the catalog's scope, with
 * collection_id (collection scope) or keys (key scope) taken from the metadata, falling
 * back to the subject. Unknown types get namespace scope, the safe choice.
 */
export function defaultCacheScope(eventType: string, subject: EventSubject, metadata: Record<string, unknown>): CacheScope {
  const scope = ENTRIES.get(eventType)?.cache_scope ?? 'namespace';
  switch (scope) {
    case 'namespace':
      return { scope };
    case 'collection': {
      const collectionId = stringField(metadata, 'collection_id') ?? (subject.type === 'collection' ? subject.id : undefined);
      // Without a collection id only a namespace-wide invalidation is correct.
      return collectionId === undefined ? { scope: 'namespace' } : { scope, collection_id: collectionId };
    }
    case 'key': {
      const keys =
        stringListField(metadata, 'object_ids') ??
        stringListField(metadata, 'document_ids') ??
        (stringField(metadata, 'object_id') !== undefined ? [stringField(metadata, 'object_id')!] : [subject.id]);
      return { scope, keys };
    }
  }
}

/** subject derived from the catalog entry and metadata; undefined when it cannot be. */
export function defaultSubject(eventType: string, metadata: Record<string, unknown>): EventSubject | undefined {
  const entry = ENTRIES.get(eventType);
  if (!entry) return undefined;
  const id = stringField(metadata, entry.subject_id_field);
  return id === undefined ? undefined : { type: entry.subject_type, id };
}

function stringField(record: Record<string, unknown>, field: string): string | undefined {
  const value = record[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stringListField(record: Record<string, unknown>, field: string): string[] | undefined {
  const value = record[field];
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;
}
