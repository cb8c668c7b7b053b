import type { Collection, Db } from 'mongodb';
import { COLLECTIONS } from './collection-names';

export type InboundEventStatus = 'received' | 'processed' | 'ignored';

export interface InboundEventOutcome {
  deleted: number;
  updated: number;
  unchanged: number;
}

/**
 * One provider webhook as received (docs/architecture.md, Data): the dedup record of provider retries
 * and the input of its lifecycle workflow. `_id` is the connection-scoped event id
 * (`mux-<connection_id>-<provider event id>`), also the workflow id. The parsed payload
 * is stored for handled types only; the connection's secret never is.
 */
export interface InboundEventDocument {
  _id: string;
  provider: 'mux';
  provider_event_id: string;
  connection_id: string;
  organization_id: string;
  event_type: string;
  handled: boolean;
  payload: Record<string, unknown> | null;
  status: InboundEventStatus;
  received_at: Date;
  processed_at?: Date;
  outcome?: InboundEventOutcome;
}

/** Dedup records are kept this long (Mux stops retrying after about a day). */
export const INBOUND_EVENT_RETENTION_SECONDS = 30 * 24 * 60 * 60;

export function inboundEventsCollection(db: Db): Collection<InboundEventDocument> {
  return db.collection<InboundEventDocument>(COLLECTIONS.inboundEvents);
}

/** Records an inbound event; false when it was already recorded (a provider retry). */
export async function recordInboundEvent(db: Db, event: InboundEventDocument): Promise<boolean> {
  try {
    await inboundEventsCollection(db).insertOne(event);
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 11000) return false;
    throw error;
  }
}

export async function findInboundEvent(db: Db, inboundEventId: string): Promise<InboundEventDocument | null> {
  return inboundEventsCollection(db).findOne({ _id: inboundEventId });
}

export async function completeInboundEvent(
  db: Db,
  inboundEventId: string,
  status: Exclude<InboundEventStatus, 'received'>,
  outcome: InboundEventOutcome,
  now: Date,
): Promise<void> {
  await inboundEventsCollection(db).updateOne(
    { _id: inboundEventId },
    { $set: { status, outcome, processed_at: now } },
  );
}
