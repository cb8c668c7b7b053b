import type { Collection, Db } from 'mongodb';
import {
  toDeliveryPayload,
  webhookEventDocumentSchema,
  type EventStatus,
  type WebhookEventDocument,
} from '../domain/event-envelope';
import { COLLECTIONS } from './collection-names';

export type { EventStatus };
export type FinalEventStatus = Exclude<EventStatus, 'pending' | 'dispatched'>;

/** The `webhook_events` document (the engine contract, docs/architecture.md, Data), as hookrelay reads it. */
export type EventDocument = WebhookEventDocument & { completed_at?: Date | null; error?: string };

export class InvalidStoredEventError extends Error {
  override readonly name = 'InvalidStoredEventError';
}

/**
 * Other producers write this collection too: a document is read through the envelope
 * schema (ISO strings become dates, missing optional fields get defaults).
 */
export function parseStoredEvent(raw: unknown): EventDocument {
  const parsed = webhookEventDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidStoredEventError(`${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  const doc = parsed.data;
  return {
    ...doc,
    namespace_id: doc.namespace_id ?? null,
    metadata: doc.metadata ?? {},
    cache_scope: doc.cache_scope ?? toDeliveryPayload(doc).cache_scope,
  } as EventDocument;
}

export function eventsCollection(db: Db): Collection<EventDocument> {
  return db.collection<EventDocument>(COLLECTIONS.events);
}

/** Inserts an event; a duplicate event id is a no-op (returns false), never an error. */
export async function insertEvent(db: Db, event: EventDocument): Promise<boolean> {
  try {
    await eventsCollection(db).insertOne(event);
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 11000) return false;
    throw error;
  }
}

export async function findEvent(db: Db, eventId: string, organizationId?: string): Promise<EventDocument | null> {
  const raw = await eventsCollection(db).findOne(
    organizationId === undefined ? { _id: eventId } : { _id: eventId, organization_id: organizationId },
  );
  return raw ? parseStoredEvent(raw) : null;
}

/**
 * An event that cannot be delivered as written is failed with the reason, not dropped.
 * `eventId` is its `_id` as stored: another producer's may not be a string.
 */
export async function rejectEvent(db: Db, eventId: unknown, reason: string, now = new Date()): Promise<void> {
  await eventsCollection(db).updateOne(
    { _id: eventId as string, status: 'pending' },
    { $set: { status: 'failed', error: reason, completed_at: now } },
  );
}

/**
 * Moves freshly started events out of `pending`; later statuses are never overwritten.
 * `dispatched_at` is set either way (once): a run can finish before its event is marked.
 */
export async function markDispatched(db: Db, eventIds: readonly string[], now = new Date()): Promise<void> {
  if (eventIds.length === 0) return;
  const ids = [...eventIds];
  const moved = await eventsCollection(db).updateMany(
    { _id: { $in: ids }, status: 'pending' },
    { $set: { status: 'dispatched', dispatched_at: now } },
  );
  // Rarely, some had moved on already (or were marked by another dispatcher): a second write.
  if (moved.matchedCount < ids.length) {
    await eventsCollection(db).updateMany({ _id: { $in: ids }, dispatched_at: { $exists: false } }, { $set: { dispatched_at: now } });
  }
}

/**
 * Events the change stream may have missed: still pending after the grace period, oldest
 * first. MongoDB compares a date only with dates, so documents whose `created_at` is not
 * one (an ISO string from another producer, or a value no event may have) are read by a
 * query of their own: a string is checked for age here, anything else is taken at once,
 * to be failed as invalid rather than left pending.
 */
export async function findStalePendingEvents(db: Db, olderThan: Date, limit: number): Promise<EventDocument[]> {
  const [dated, undated] = await Promise.all([
    eventsCollection(db).find({ status: 'pending', created_at: { $lt: olderThan } }).sort({ created_at: 1 }).limit(limit).toArray(),
    findStaleUndated(db, olderThan),
  ]);
  if (undated.length === 0) return dated;
  return [...dated, ...undated].sort((a, b) => (createdAtMs(a) || 0) - (createdAtMs(b) || 0)).slice(0, limit);
}

/** How many events findStalePendingEvents would find, without a limit on those with a date. */
export async function countStalePendingEvents(db: Db, olderThan: Date): Promise<number> {
  const [dated, undated] = await Promise.all([
    eventsCollection(db).countDocuments({ status: 'pending', created_at: { $lt: olderThan } }),
    findStaleUndated(db, olderThan),
  ]);
  return dated + undated.length;
}

/** How many pending events whose `created_at` is not a date one sweep looks at. */
const UNDATED_SCAN = 1_000;

/** Pending events whose `created_at` is not a date: an ISO string older than `olderThan`, or no date at all. */
async function findStaleUndated(db: Db, olderThan: Date): Promise<EventDocument[]> {
  const undated = await eventsCollection(db)
    .find({ status: 'pending', created_at: { $not: { $type: 'date' } } })
    .limit(UNDATED_SCAN)
    .toArray();
  return undated.filter((event) => !(createdAtMs(event) >= olderThan.getTime()));
}

/** `created_at` in ms, stored as a date or an ISO string; NaN for anything else. */
function createdAtMs(event: { created_at: unknown }): number {
  const { created_at: createdAt } = event;
  return createdAt instanceof Date ? createdAt.getTime() : typeof createdAt === 'string' ? Date.parse(createdAt) : NaN;
}

export async function completeEvent(db: Db, eventId: string, status: FinalEventStatus, now = new Date()): Promise<void> {
  await eventsCollection(db).updateOne(
    { _id: eventId },
    { $set: { status, completed_at: now } },
  );
}
