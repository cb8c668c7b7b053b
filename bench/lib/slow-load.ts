import { performance } from 'node:perf_hooks';
import type { Db } from 'mongodb';
import { eventsCollection, insertEvent, type EventDocument } from '../../src/store/event-store';
import { openLoop, pollUntil, type Arrivals } from './load';
import { benchEvent } from './pipeline';

/** How the slow endpoint's events arrive: one by one at a rate (spaced as `arrivals` says), or all at once. */
export type SlowArrival = { kind: 'steady'; ratePerS: number; arrivals: Arrivals } | { kind: 'burst' };

/**
 * Inserts `count` events of the organization as `arrival` says and resolves once MongoDB
 * has taken them all; each event's id goes to `inserted` as its insert is sent. Steady:
 * one `insertOne` per arrival, open loop, so a slow insert never delays the next. Burst:
 * `insertMany`, 100 at a time, as fast as MongoDB takes them.
 */
export async function insertSlowEvents(
  db: Db,
  organizationId: string,
  count: number,
  arrival: SlowArrival,
  signal: AbortSignal,
  inserted: string[],
): Promise<void> {
  const next = (): EventDocument => {
    const event = benchEvent(organizationId);
    inserted.push(event._id);
    return event;
  };
  if (arrival.kind === 'burst') {
    const events = eventsCollection(db);
    for (let i = 0; i < count && !signal.aborted; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, next);
      await events.insertMany(batch, { ordered: false });
    }
    return;
  }
  const inserts: Array<Promise<unknown>> = [];
  await openLoop({
    ratePerS: arrival.ratePerS,
    durationMs: (count / arrival.ratePerS) * 1000,
    arrivals: arrival.arrivals,
    signal,
    tick: () => inserts.push(insertEvent(db, next())),
  });
  await Promise.all(inserts);
}

/**
 * When (performance.now()) the `count` events listed in `inserted` (as insertSlowEvents
 * lists them) had all left `pending`, i.e. the dispatcher had started their workflows;
 * undefined if `signal` stops the watch first. Polls twice a second, and asks only about
 * the events not yet seen to leave `pending`, by their ids: what a poll costs the MongoDB
 * server depends on how many those are, not on the size of the collection.
 */
export async function whenAllLeftPending(
  db: Db,
  inserted: readonly string[],
  count: number,
  signal: AbortSignal,
): Promise<number | undefined> {
  const events = eventsCollection(db);
  const waiting = new Set<string>();
  let listed = 0;
  let seenAt: number | undefined;
  await pollUntil(
    async () => {
      while (listed < inserted.length) waiting.add(inserted[listed++]!);
      if (waiting.size > 0) {
        const left = await events
          .find({ _id: { $in: [...waiting] }, status: { $ne: 'pending' } }, { projection: { _id: 1 } })
          .toArray();
        for (const event of left) waiting.delete(event._id);
      }
      if (listed >= count && waiting.size === 0) seenAt = performance.now();
      return seenAt !== undefined;
    },
    Number.POSITIVE_INFINITY,
    500,
    signal,
  );
  return seenAt;
}
