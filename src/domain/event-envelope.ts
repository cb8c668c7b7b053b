import { z } from 'zod';
import {
  cacheScopeSchema,
  defaultCacheScope,
  defaultSubject,
  getEventTypeEntry,
  subjectSchema,
  type CacheScope,
  type EventSubject,
} from './event-catalog';
import { EVENT_ID_PATTERN, newEventId, WEBHOOK_ID_PATTERN } from './ids';
import { findUnstorableJson } from './storable-json';

/**
 * The `webhook_events` document (the engine contract, docs/architecture.md, Data), the input of
 * `emitEvent`, and the Mixpeek payload delivered to receivers.
 */

export const EVENT_STATUSES = ['pending', 'dispatched', 'delivered', 'partially_failed', 'failed', 'no_subscribers'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** Statuses after which the event's workflow has nothing more to do. */
export const FINAL_EVENT_STATUSES: readonly EventStatus[] = ['delivered', 'partially_failed', 'failed', 'no_subscribers'];

const EVENT_ID_MESSAGE = 'event_id must be "evt_" followed by 1–128 letters, digits, "_" or "-"';
const WEBHOOK_ID_MESSAGE = 'must be a webhook id ("wh_" followed by 16 hex characters)';

const eventId = z.string({ error: EVENT_ID_MESSAGE }).regex(EVENT_ID_PATTERN, EVENT_ID_MESSAGE);
const nonEmpty = (field: string) =>
  z.string({ error: `${field} must be a string` }).min(1, `${field} must not be empty`).max(200, `${field} is longer than 200 characters`);
const webhookIdList = z.array(z.string().regex(WEBHOOK_ID_PATTERN, WEBHOOK_ID_MESSAGE));
const metadataRecord = z.record(z.string(), z.unknown(), { error: 'metadata must be an object' });

// Producers in other languages may store ISO strings; they are read as dates.
const storedDate = z.union([z.date(), z.iso.datetime({ offset: true }).transform((text) => new Date(text))]);

/**
 * A `webhook_events` document as read from MongoDB. Lenient where a foreign producer
 * may reasonably differ (namespace_id, metadata and cache_scope may be absent; dates may
 * be ISO strings); extra fields are kept.
 */
export const webhookEventDocumentSchema = z.looseObject({
  _id: eventId,
  organization_id: nonEmpty('organization_id'),
  namespace_id: nonEmpty('namespace_id').nullish(),
  // Bounded like the others: it becomes a search attribute, which Temporal caps at 2 KiB.
  event_type: nonEmpty('event_type'),
  occurred_at: storedDate,
  subject: subjectSchema,
  metadata: metadataRecord.optional(),
  cache_scope: cacheScopeSchema.optional(),
  status: z.enum(EVENT_STATUSES),
  created_at: storedDate,
  dispatched_at: storedDate.optional(),
  target_webhook_ids: webhookIdList.optional(),
});
export type StoredWebhookEvent = z.output<typeof webhookEventDocumentSchema>;

/** The document hookrelay itself writes: every envelope field present and typed. */
export interface WebhookEventDocument {
  _id: string;
  organization_id: string;
  namespace_id: string | null;
  event_type: string;
  occurred_at: Date;
  subject: EventSubject;
  metadata: Record<string, unknown>;
  cache_scope: CacheScope;
  status: EventStatus;
  created_at: Date;
  dispatched_at?: Date;
  target_webhook_ids?: string[];
}

/** What `emitEvent` / `hookrelay emit` accept. */
export const emitEventInputSchema = z.object({
  event_id: eventId.optional(),
  organization_id: nonEmpty('organization_id'),
  namespace_id: nonEmpty('namespace_id').nullish(),
  event_type: z.string({ error: 'event_type must be a string' }).min(1, 'event_type must not be empty'),
  occurred_at: z
    .union([z.date(), z.iso.datetime({ offset: true }).transform((text) => new Date(text))], {
      error: 'occurred_at must be a date or an ISO 8601 timestamp with a time zone',
    })
    .optional(),
  subject: subjectSchema.optional(),
  metadata: metadataRecord.default({}),
  cache_scope: cacheScopeSchema.optional(),
  target_webhook_ids: webhookIdList.min(1, 'target_webhook_ids, when given, must name at least one webhook').optional(),
});
export type EmitEventInput = z.input<typeof emitEventInputSchema>;

export interface EventIssue {
  /** Dotted path of the offending field, e.g. "metadata.collection_id". */
  path: string;
  message: string;
}

export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
  constructor(readonly issues: EventIssue[]) {
    super(`invalid event: ${issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ')}`);
  }
}

function toIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): EventIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.'),
    message: issue.message,
  }));
}

export interface BuildEventOptions {
  /** Id generator for events without event_id (tests pass a fixed one). */
  generateEventId?: () => string;
}

/**
 * Validates an emit input against the envelope and the catalog (known event type,
 * metadata schema) and returns the document to insert: event_id generated when absent,
 * occurred_at = now when absent, subject and cache_scope defaulted from the catalog,
 * status "pending", created_at = now. Throws InvalidEventError listing every problem.
 */
export function buildEventDocument(input: EmitEventInput, now: Date, options: BuildEventOptions = {}): WebhookEventDocument {
  const parsed = emitEventInputSchema.safeParse(input);
  if (!parsed.success) throw new InvalidEventError(toIssues(parsed.error));
  const event = parsed.data;

  const entry = getEventTypeEntry(event.event_type);
  if (!entry) {
    throw new InvalidEventError([
      { path: 'event_type', message: `"${event.event_type}" is not a known event type (see GET /v1/organizations/webhooks/event-types)` },
    ]);
  }

  const unstorable = findUnstorableJson(event.metadata);
  if (unstorable) {
    throw new InvalidEventError([{ path: ['metadata', ...unstorable.path].join('.'), message: unstorable.message }]);
  }
  const metadata = entry.metadata.safeParse(event.metadata);
  if (!metadata.success) throw new InvalidEventError(toIssues(metadata.error, ['metadata']));

  const subject = event.subject ?? defaultSubject(entry.name, metadata.data);
  if (!subject) {
    throw new InvalidEventError([
      {
        path: 'subject',
        message: `subject is required: give {type, id}, or metadata.${entry.subject_id_field} to derive it from`,
      },
    ]);
  }

  const document: WebhookEventDocument = {
    _id: event.event_id ?? (options.generateEventId ?? newEventId)(),
    organization_id: event.organization_id,
    namespace_id: event.namespace_id ?? null,
    event_type: entry.name,
    occurred_at: event.occurred_at ?? now,
    subject: { type: subject.type, id: subject.id },
    metadata: metadata.data,
    cache_scope: event.cache_scope ?? defaultCacheScope(entry.name, subject, metadata.data),
    status: 'pending',
    created_at: now,
  };
  if (event.target_webhook_ids) document.target_webhook_ids = [...new Set(event.target_webhook_ids)];
  return document;
}

/** The JSON body receivers get (Mixpeek's payload), nothing more. */
export interface DeliveryPayload {
  event_id: string;
  event_type: string;
  /** ISO 8601, UTC. */
  occurred_at: string;
  namespace_id: string | null;
  subject: { type: string; id: string };
  metadata: Record<string, unknown>;
  cache_scope: CacheScope;
}

type PayloadSource = Pick<StoredWebhookEvent, '_id' | 'event_type' | 'occurred_at' | 'subject'> &
  Partial<Pick<StoredWebhookEvent, 'namespace_id' | 'metadata' | 'cache_scope'>>;

/** The payload of a stored event; a missing cache_scope is defaulted from the catalog. */
export function toDeliveryPayload(doc: PayloadSource): DeliveryPayload {
  const metadata = doc.metadata ?? {};
  const subject = { type: doc.subject.type, id: doc.subject.id };
  const cacheScope = doc.cache_scope ?? defaultCacheScope(doc.event_type, subject, metadata);
  const cache_scope: CacheScope = { scope: cacheScope.scope };
  if (cacheScope.collection_id !== undefined) cache_scope.collection_id = cacheScope.collection_id;
  if (cacheScope.keys !== undefined) cache_scope.keys = [...cacheScope.keys];
  return {
    event_id: doc._id,
    event_type: doc.event_type,
    occurred_at: doc.occurred_at.toISOString(),
    namespace_id: doc.namespace_id ?? null,
    subject,
    metadata,
    cache_scope,
  };
}
