import { LRUCache } from 'lru-cache';
import type { Db } from 'mongodb';
import { findEvent, type EventDocument } from './event-store';

/**
 * Events this process read or dispatched lately, so one event is read from MongoDB (and
 * parsed) once per process rather than once per step. What is read from here never
 * changes after insert (id, organization, type, subject, metadata, target webhooks); the status
 * fields do, and nothing that reads through this cache looks at them.
 */
export class RecentEvents {
  private readonly cache: LRUCache<string, EventDocument>;

  constructor(options: { maxEntries?: number; maxBytes?: number; ttlMs?: number } = {}) {
    this.cache = new LRUCache({
      max: options.maxEntries ?? 5_000,
      // Payloads come from other producers, up to MongoDB's 16 MiB a document: bound the bytes too.
      maxSize: options.maxBytes ?? 64 * 1024 * 1024,
      sizeCalculation: approximateBytes,
      ttl: options.ttlMs ?? 10 * 60_000,
    });
  }

  remember(event: EventDocument): void {
    this.cache.set(event._id, event);
  }

  forget(eventId: string): void {
    this.cache.delete(eventId);
  }

  /** The event from the cache, else from MongoDB (then cached); null when it does not exist. */
  async load(db: Db, eventId: string): Promise<EventDocument | null> {
    const cached = this.cache.get(eventId);
    if (cached) return cached;
    const event = await findEvent(db, eventId);
    if (event) this.cache.set(eventId, event);
    return event;
  }
}

/** What an event holds in memory, roughly: its metadata and subject as JSON, plus the rest. */
function approximateBytes(event: EventDocument): number {
  return 1_024 + (JSON.stringify(event.metadata).length + JSON.stringify(event.subject).length) * 2;
}
