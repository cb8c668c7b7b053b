import type { Db } from 'mongodb';
import { buildEventDocument, type EmitEventInput } from '../domain/event-envelope';
import { insertEvent } from '../store/event-store';

export interface EmitResult {
  eventId: string;
  /** False when an event with this id already existed: emission is idempotent. */
  inserted: boolean;
}

/**
 * What the engine does, as a convenience: validate the envelope against the catalog and
 * insert it into `webhook_events` as `pending`. Any MongoDB client can do the same insert.
 */
export async function emitEvent(db: Db, input: EmitEventInput, now = new Date()): Promise<EmitResult> {
  const document = buildEventDocument(input, now);
  const inserted = await insertEvent(db, document);
  return { eventId: document._id, inserted };
}
