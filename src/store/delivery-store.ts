import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { ChannelKind } from './webhook-store';
import { COLLECTIONS } from './collection-names';
import { afterPosition, NEWEST_FIRST, type PageRequest } from './pagination';

export const DELIVERY_STATUSES = ['pending', 'retrying', 'delivered', 'failed', 'canceled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const FINAL_DELIVERY_STATUSES: readonly DeliveryStatus[] = ['delivered', 'failed', 'canceled'];

/** The attempt log keeps the newest entries only, so a document stays small forever. */
export const MAX_ATTEMPTS_KEPT = 50;

export interface DeliveryAttempt {
  n: number;
  at: Date;
  status_code: number | null;
  duration_ms: number;
  /** Error class such as `timeout`, `http_503`, `destination_blocked`; null when delivered. */
  error: string | null;
  /** Human-readable detail of the error. */
  error_message: string | null;
  response_excerpt: string | null;
  /** The workflow run that made the attempt (a redelivery is a new run). */
  run: string | null;
}

export interface DeliveryDocument {
  /** The delivery id; also the Standard Webhooks `webhook-id`, stable across retries. */
  _id: string;
  event_id: string;
  webhook_id: string;
  organization_id: string;
  event_type: string;
  channel_index: number;
  channel: ChannelKind;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  attempt_count: number;
  next_retry_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /**
   * The run whose attempt (or settle) set the status; null once a redelivery reopened the
   * record, until a run writes. Absent on records written before it was kept.
   */
  status_run?: string | null;
  /** Set by the redelivery that reopened the record last, so that only it can put the record back. */
  reopen_token?: string;
  /** What that redelivery would put back: the record before the reopens whose runs have not started. */
  reopened_from?: ReopenedState;
}

export interface DeliveryKey {
  deliveryId: string;
  eventId: string;
  webhookId: string;
  organizationId: string;
  eventType: string;
  channelIndex: number;
  channel: ChannelKind;
}

export function deliveriesCollection(db: Db): Collection<DeliveryDocument> {
  return db.collection<DeliveryDocument>(COLLECTIONS.deliveries);
}

type RecordedOutcome = { status: DeliveryStatus; nextRetryAt?: Date | null };

/** A new record's fields that never change. */
const createdWith = (key: DeliveryKey, at: Date) => ({
  event_id: key.eventId,
  webhook_id: key.webhookId,
  organization_id: key.organizationId,
  event_type: key.eventType,
  channel_index: key.channelIndex,
  channel: key.channel,
  created_at: at,
});

const loggedAttempt = (attempt: DeliveryAttempt) => ({
  $push: { attempts: { $each: [attempt], $slice: -MAX_ATTEMPTS_KEPT } },
  $inc: { attempt_count: 1 },
});

const statusAfter = (attempt: DeliveryAttempt, outcome: RecordedOutcome) => ({
  status: outcome.status,
  next_retry_at: outcome.nextRetryAt ?? null,
  updated_at: attempt.at,
  ...(outcome.status === 'delivered' ? { delivered_at: attempt.at } : {}),
  ...(attempt.run === null ? {} : { status_run: attempt.run }),
});

const OPEN = { status: { $nin: [...FINAL_DELIVERY_STATUSES] } };

/**
 * An open record that `run` may settle: one whose status it set, or that no run has
 * claimed (reopened by a redelivery that has not written yet, or written before runs
 * were kept; `null` matches both). A record a redelivery has taken over is left to it.
 */
const openFor = (run: string | null) => (run === null ? OPEN : { ...OPEN, status_run: { $in: [run, null] } });

/**
 * The record, if an attempt of `run` may set its status: an open one it may settle, or
 * one this run has no attempt on yet (a redelivery's first, even over a settled record).
 */
const writableBy = (deliveryId: string, run: string | null) => ({
  _id: deliveryId,
  $or: [openFor(run), { 'attempts.run': { $ne: run } }],
});

/**
 * One write per attempt: creates the record on the first one, appends afterwards. An
 * attempt can end after its own run settled the delivery (one of a first round that
 * timed out, on another worker than the workflow's own attempt): the settled record
 * (`delivered`, `failed`, `canceled`) keeps its status, the attempt is logged, and it
 * moves the record only to `delivered`, which is what the receiver saw. So does an
 * attempt of an earlier run once a redelivery that reopened the record has written to
 * it: its status is the redelivery's. A run with no attempt on the record yet writes
 * through: a redelivery whose start timed out had its records put back as they were,
 * and may have started after all. Every filter names the `_id`, which MongoDB (and the
 * stand-in) answers from its index.
 */
export async function recordAttempt(db: Db, key: DeliveryKey, attempt: DeliveryAttempt, outcome: RecordedOutcome): Promise<void> {
  const writable = writableBy(key.deliveryId, attempt.run);
  const status = statusAfter(attempt, outcome);
  const logged = loggedAttempt(attempt);
  const update = {
    $set: status,
    ...logged,
    // A run has the record now: no redelivery that failed to start may put it back.
    $unset: { reopen_token: '' as const, reopened_from: '' as const },
  };
  try {
    await deliveriesCollection(db).updateOne(writable, { ...update, $setOnInsert: createdWith(key, attempt.at) }, { upsert: true });
    return;
  } catch (error) {
    // The record exists: settled, or created meanwhile by a concurrent attempt (MongoDB
    // does not retry such an upsert), in which case the write goes through now.
    if ((error as { code?: number }).code !== 11000) throw error;
  }
  if ((await deliveriesCollection(db).updateOne(writable, update)).matchedCount > 0) return;
  if (outcome.status === 'delivered') {
    // The receiver has it: no redelivery that fails to start may put the record back either.
    const { matchedCount } = await deliveriesCollection(db).updateOne({ _id: key.deliveryId, status: { $ne: 'delivered' } }, update);
    if (matchedCount > 0) return;
  }
  // Delivered already, or settled otherwise and this attempt did not deliver: log it only.
  await deliveriesCollection(db).updateOne({ _id: key.deliveryId }, logged);
}

/**
 * Whether an attempt of this run delivered it already: an attempt made again after its
 * worker lost the result (a rejected or timed-out workflow task, a retried activity).
 * It asks the attempt log, not the status, which a redelivery's reopen resets.
 */
export async function deliveredInRun(db: Db, deliveryId: string, runId: string): Promise<boolean> {
  const record = await deliveriesCollection(db).findOne({ _id: deliveryId }, { projection: { 'attempts.run': 1, 'attempts.error': 1 } });
  // A delivered attempt is the only kind logged without an error.
  return (record?.attempts ?? []).some((attempt) => attempt.run === runId && attempt.error === null);
}

/** How many of the deliveries are `delivered`. A find rather than a count: it is answered from the `_id` index. */
export async function countDelivered(db: Db, deliveryIds: readonly string[]): Promise<number> {
  const delivered = await deliveriesCollection(db)
    .find({ _id: { $in: [...deliveryIds] }, status: 'delivered' }, { projection: { _id: 1 } })
    .toArray();
  return delivered.length;
}

/**
 * Marks a delivery final when its retries ran out without the activity getting a
 * chance to say so (schedule-to-close timeout). Never downgrades a settled record, and
 * leaves one that another run has taken over (a redelivery) to that run.
 */
export async function settleDelivery(
  db: Db,
  key: DeliveryKey,
  status: DeliveryStatus,
  now = new Date(),
  run: string | null = null,
): Promise<void> {
  try {
    await settleOpenDelivery(db, key, status, now, run);
  } catch (error) {
    // The record exists and is final, or another run's: the upsert collides with it, nothing to do.
    if ((error as { code?: number }).code !== 11000) throw error;
  }
}

async function settleOpenDelivery(db: Db, key: DeliveryKey, status: DeliveryStatus, now: Date, run: string | null): Promise<void> {
  await deliveriesCollection(db).updateOne(
    { _id: key.deliveryId, ...openFor(run) },
    {
      $setOnInsert: { ...createdWith(key, now), attempts: [], attempt_count: 0, delivered_at: null },
      $set: { status, next_retry_at: null, updated_at: now, ...(run === null ? {} : { status_run: run }) },
      $unset: { reopen_token: '', reopened_from: '' },
    },
    { upsert: true },
  );
}

/** The fields a reopen changes, as they were before it. */
export interface ReopenedState {
  status: DeliveryStatus;
  next_retry_at: Date | null;
  updated_at: Date;
  status_run?: string | null;
}

/** What a reopened delivery was before, so that a redelivery that could not start can put it back. */
export interface ReopenedDelivery extends ReopenedState {
  _id: string;
}

/** The records one redelivery reopened, as they were before, and its token on them. */
export interface Reopened {
  token: string;
  before: ReopenedDelivery[];
}

/**
 * A redelivery starts a fresh round on the same record (same webhook-id for receivers).
 * Returns the records as they were, for `restoreReopenedDeliveries`. A record still
 * reopened by a redelivery whose run has not started (its token is on it) keeps that
 * one's "before": should both fail to start, the record goes back to what it was before
 * either, not to the first one's `pending`.
 */
export async function reopenDeliveries(db: Db, eventId: string, webhookIds?: readonly string[], now = new Date()): Promise<Reopened> {
  const found = await deliveriesCollection(db)
    .find(
      { event_id: eventId, ...(webhookIds ? { webhook_id: { $in: [...webhookIds] } } : {}) },
      { projection: { _id: 1, status: 1, next_retry_at: 1, updated_at: 1, status_run: 1, reopen_token: 1, reopened_from: 1 } },
    )
    .toArray();
  const token = randomUUID();
  const before = found.map(
    (record): ReopenedDelivery => ({
      _id: record._id,
      ...(record.reopen_token && record.reopened_from
        ? record.reopened_from
        : {
            status: record.status,
            next_retry_at: record.next_retry_at,
            updated_at: record.updated_at,
            ...(record.status_run === undefined ? {} : { status_run: record.status_run }),
          }),
    }),
  );
  if (before.length === 0) return { token, before };
  // Only the records read above: those are the ones this redelivery can put back. The
  // status is nobody's until a run writes; once the redelivery's run has, earlier runs
  // only log their attempts.
  await deliveriesCollection(db).bulkWrite(
    before.map(({ _id, ...state }) => ({
      updateOne: {
        filter: { _id },
        update: {
          $set: { status: 'pending' as const, next_retry_at: null, updated_at: now, status_run: null, reopen_token: token, reopened_from: state },
        },
      },
    })),
    { ordered: false },
  );
  return { token, before };
}

/**
 * Puts the records a redelivery reopened back as they were, when its run never started.
 * A record reopened since by another redelivery, or moved on from `pending` by a run, is
 * left as it is. (Had the start gone through after all, its run records each attempt
 * over what this puts back.)
 */
export async function restoreReopenedDeliveries(db: Db, reopened: Reopened) {
  if (reopened.before.length === 0) return;
  await deliveriesCollection(db).bulkWrite(
    reopened.before.map((record) => ({
      updateOne: {
        filter: { _id: record._id, reopen_token: reopened.token, status: 'pending' as const },
        update: {
          $set: {
            status: record.status,
            next_retry_at: record.next_retry_at,
            updated_at: record.updated_at,
            ...(record.status_run === undefined ? {} : { status_run: record.status_run }),
          },
          $unset: {
            reopen_token: '' as const,
            reopened_from: '' as const,
            ...(record.status_run === undefined ? { status_run: '' as const } : {}),
          },
        },
      },
    })),
    { ordered: false },
  );
}

/** The redelivery's run started: its records are the run's now, with nothing to put back. */
export async function releaseReopenedDeliveries(db: Db, reopened: Reopened) {
  if (reopened.before.length === 0) return;
  await deliveriesCollection(db).updateMany(
    { _id: { $in: reopened.before.map((record) => record._id) }, reopen_token: reopened.token },
    { $unset: { reopen_token: '', reopened_from: '' } },
  );
}

/** One page of a webhook's deliveries, newest first; reads one extra to tell if more follow. */
export async function listWebhookDeliveries(
  db: Db,
  webhookId: string,
  organizationId: string,
  filter: { status?: DeliveryStatus },
  page: PageRequest,
): Promise<DeliveryDocument[]> {
  return deliveriesCollection(db)
    .find({
      webhook_id: webhookId,
      organization_id: organizationId,
      ...(filter.status ? { status: filter.status } : {}),
      ...afterPosition<DeliveryDocument>(page.after),
    })
    .sort(NEWEST_FIRST)
    .skip(page.offset ?? 0)
    .limit(page.limit + 1)
    .toArray();
}

/** Every delivery record of an event, per webhook and channel. */
export async function findEventDeliveries(db: Db, eventId: string, organizationId: string): Promise<DeliveryDocument[]> {
  return deliveriesCollection(db)
    .find({ event_id: eventId, organization_id: organizationId })
    .sort({ webhook_id: 1, channel_index: 1 })
    .toArray();
}

export async function countWebhookDeliveries(
  db: Db,
  webhookId: string,
  organizationId: string,
  filter: { status?: DeliveryStatus },
): Promise<number> {
  return deliveriesCollection(db).countDocuments({
    webhook_id: webhookId,
    organization_id: organizationId,
    ...(filter.status ? { status: filter.status } : {}),
  });
}
