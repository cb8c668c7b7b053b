import { performance } from 'node:perf_hooks';
import type { Db } from 'mongodb';
import { eventsCollection, insertEvent } from '../../src/store/event-store';
import { openLoop, pollUntil } from './load';
import { benchEvent } from './pipeline';

/** How the slow endpoint's events arrive: one by one at a fixed rate, or all at once. */
export type SlowArrival = { kind: 'steady'; ratePerS: number } | { kind: 'burst' };

/**
 * Inserts `count` events of the organization as `arrival` says and resolves once MongoDB
 * has taken them all. Steady: one `insertOne` per arrival, open loop, so a slow insert
 * never delays the next. Burst: `insertMany`, 100 at a time, as fast as MongoDB takes them.
 */
export async function insertSlowEvents(
  db: Db,
  organizationId: string,
  count: number,
  arrival: SlowArrival,
  signal: AbortSignal,
): Promise<void> {
  if (arrival.kind === 'burst') {
    const events = eventsCollection(db);
    for (let i = 0; i < count && !signal.aborted; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, () => benchEvent(organizationId));
      await events.insertMany(batch, { ordered: false });
    }
    return;
  }
  const inserts: Array<Promise<unknown>> = [];
  await openLoop({
    ratePerS: arrival.ratePerS,
    durationMs: (count / arrival.ratePerS) * 1000,
    signal,
    tick: () => inserts.push(insertEvent(db, benchEvent(organizationId))),
  });
  await Promise.all(inserts);
}

/**
 * When (performance.now()) `count` events of the organization had all left `pending`,
 * i.e. the dispatcher had started their workflows; undefined if `signal` stops the
 * watch first. Polls twice a second: each poll is a count the MongoDB server must answer.
 */
export async function whenAllLeftPending(
  db: Db,
  organizationId: string,
  count: number,
  signal: AbortSignal,
): Promise<number | undefined> {
  const events = eventsCollection(db);
  let seenAt: number | undefined;
  await pollUntil(
    async () => {
      const left = await events.countDocuments({ organization_id: organizationId, status: { $ne: 'pending' } });
      if (left >= count) seenAt = performance.now();
      return seenAt !== undefined;
    },
    Number.POSITIVE_INFINITY,
    500,
    signal,
  );
  return seenAt;
}
