import type { Db } from 'mongodb';
import { buildEventDocument, type EmitEventInput } from '../../src/domain/event-envelope';
import { insertEvent } from '../../src/store/event-store';

/** Event types the run emits; every subscriber's patterns cover all of them. */
export const CHAOS_EVENT_TYPES = ['collection.documents.written', 'object.created', 'cluster.execution.completed'] as const;
export const CHAOS_ORGANIZATION = 'org_chaos';

export interface InsertStats {
  planned: number;
  inserted: number;
  /** Insert calls that failed (MongoDB down or restarting) and were tried again. */
  retries: number;
  /** Acknowledged insert time per event id, ms since the epoch. */
  insertedAt: Map<string, number>;
  /** When the last insert was acknowledged, ms since the epoch. */
  finishedAt: number;
}

export function newInsertStats(planned: number): InsertStats {
  return { planned, inserted: 0, retries: 0, insertedAt: new Map(), finishedAt: 0 };
}

function eventInput(eventId: string, i: number): EmitEventInput {
  const type = CHAOS_EVENT_TYPES[i % CHAOS_EVENT_TYPES.length]!;
  const base = { event_id: eventId, organization_id: CHAOS_ORGANIZATION, namespace_id: 'ns_chaos', event_type: type };
  switch (type) {
    case 'collection.documents.written':
      return { ...base, metadata: { collection_id: `col_${i % 17}`, document_count: i % 50 } };
    case 'object.created':
      return { ...base, metadata: { bucket_id: 'bkt_chaos', object_id: `obj_${i}` } };
    case 'cluster.execution.completed':
      return { ...base, metadata: { cluster_id: `clu_${i % 5}`, run_id: `run_${i}` } };
  }
}

/**
 * Inserts `count` events into webhook_events as the engine would (one document each,
 * `status: "pending"`), event i due at start + i / rate. An insert that fails (the
 * server is restarting) is tried again with the same _id until acknowledged; a
 * duplicate-key answer means an earlier try had landed. Several inserts may be in
 * flight so that a slow answer does not slow the rate.
 */
export async function insertAtSteadyRate(options: {
  db: Db;
  eventIds: readonly string[];
  ratePerS: number;
  signal: AbortSignal;
  /** Filled in as inserts land (the caller may read it meanwhile). */
  stats?: InsertStats;
  concurrency?: number;
}): Promise<InsertStats> {
  const { db, eventIds, ratePerS, signal } = options;
  const stats = options.stats ?? newInsertStats(eventIds.length);
  const start = Date.now();
  let next = 0;
  const insertOne = async (i: number) => {
    const eventId = eventIds[i]!;
    for (;;) {
      if (signal.aborted) return;
      try {
        const document = buildEventDocument(eventInput(eventId, i), new Date());
        await insertEvent(db, document);
        stats.inserted++;
        stats.insertedAt.set(eventId, Date.now());
        return;
      } catch {
        stats.retries++;
        await sleep(250);
      }
    }
  };
  const lane = async () => {
    while (next < eventIds.length && !signal.aborted) {
      const i = next++;
      const due = start + (i * 1000) / ratePerS;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      await insertOne(i);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, lane));
  stats.finishedAt = Date.now();
  return stats;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
