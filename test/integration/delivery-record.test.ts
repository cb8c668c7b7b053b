import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliveredInRun,
  deliveriesCollection,
  recordAttempt,
  reopenDeliveries,
  restoreReopenedDeliveries,
  settleDelivery,
  type DeliveryAttempt,
  type DeliveryKey,
  type DeliveryStatus,
} from '../../src/store/delivery-store';
import { createTestContext, type TestContext } from '../support/context';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext('delivery-record');
});

afterAll(async () => {
  await ctx?.close();
});

const keyOf = (id: string): DeliveryKey => ({
  deliveryId: id,
  eventId: `evt_${id}`,
  webhookId: `wh_${id}`,
  organizationId: 'org_delivery_record',
  eventType: 'collection.documents.written',
  channelIndex: 0,
  channel: 'webhook',
});

/** Attempt `n` of `run`, made at `at`: delivered when the receiver answered 200, a 503 otherwise. */
const attemptAt = (n: number, at: Date, statusCode: number, run = 'run_1'): DeliveryAttempt => ({
  n,
  at,
  status_code: statusCode,
  duration_ms: 5,
  error: statusCode === 200 ? null : 'http_503',
  error_message: statusCode === 200 ? null : 'receiver answered 503',
  response_excerpt: null,
  run,
});

/**
 * An attempt can end after its delivery was settled: one still in flight when its first
 * round timed out (the workflow went on without it), racing the workflow's own attempt.
 */
describe('an attempt recorded on a settled delivery', () => {
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
  const find = (id: string) => deliveriesCollection(ctx.db).findOne({ _id: id });

  async function settle(id: string, status: DeliveryStatus, at: Date) {
    await recordAttempt(ctx.db, keyOf(id), attemptAt(1, at, status === 'delivered' ? 200 : 503), { status });
  }

  it('keeps a delivered record delivered when a late attempt failed, and logs the attempt', async () => {
    const deliveredAt = minutesAgo(2);
    await settle('dlv_rec_late_failure', 'delivered', deliveredAt);
    const late = attemptAt(2, minutesAgo(3), 503);
    await recordAttempt(ctx.db, keyOf('dlv_rec_late_failure'), late, { status: 'retrying', nextRetryAt: new Date() });

    const record = await find('dlv_rec_late_failure');
    expect(record).toMatchObject({ status: 'delivered', delivered_at: deliveredAt, next_retry_at: null, attempt_count: 2 });
    expect(record?.attempts.map((a) => a.n)).toEqual([1, 2]);
  });

  it('keeps the first delivery time when another attempt delivers too', async () => {
    const deliveredAt = minutesAgo(2);
    await settle('dlv_rec_twice', 'delivered', deliveredAt);
    await recordAttempt(ctx.db, keyOf('dlv_rec_twice'), attemptAt(2, minutesAgo(1), 200), { status: 'delivered' });

    expect(await find('dlv_rec_twice')).toMatchObject({ status: 'delivered', delivered_at: deliveredAt, attempt_count: 2 });
  });

  it('turns a failed or canceled record delivered when a late attempt delivered: the receiver has it', async () => {
    for (const settled of ['failed', 'canceled'] as const) {
      const id = `dlv_rec_${settled}_then_delivered`;
      await settle(id, settled, minutesAgo(2));
      const at = minutesAgo(1);
      await recordAttempt(ctx.db, keyOf(id), attemptAt(2, at, 200), { status: 'delivered' });
      expect(await find(id)).toMatchObject({ status: 'delivered', delivered_at: at, updated_at: at, attempt_count: 2 });
    }
  });

  it('keeps a failed or canceled record as it is when a late attempt did not deliver either', async () => {
    for (const settled of ['failed', 'canceled'] as const) {
      const id = `dlv_rec_${settled}_then_retrying`;
      const settledAt = minutesAgo(2);
      await settle(id, settled, settledAt);
      await recordAttempt(ctx.db, keyOf(id), attemptAt(2, minutesAgo(1), 503), { status: 'retrying', nextRetryAt: new Date() });
      expect(await find(id)).toMatchObject({ status: settled, updated_at: settledAt, next_retry_at: null, attempt_count: 2 });
    }
  });

  it('moves an open record, and a reopened one, to whatever the attempt says', async () => {
    const id = 'dlv_rec_open';
    await settle(id, 'retrying', minutesAgo(3));
    const failedAt = minutesAgo(2);
    await recordAttempt(ctx.db, keyOf(id), attemptAt(2, failedAt, 503), { status: 'failed' });
    expect(await find(id)).toMatchObject({ status: 'failed', updated_at: failedAt, attempt_count: 2 });

    // A redelivery reopens it (`pending`): the record is open again, and an attempt of
    // the redelivery's run sets its status, a failure too.
    await reopenDeliveries(ctx.db, `evt_${id}`, [`wh_${id}`]);
    const next = new Date();
    await recordAttempt(ctx.db, keyOf(id), attemptAt(3, next, 503, 'run_2'), { status: 'retrying', nextRetryAt: next });
    const record = await find(id);
    expect(record).toMatchObject({ status: 'retrying', next_retry_at: next, attempt_count: 3, status_run: 'run_2' });
    expect(record?.reopen_token).toBeUndefined();
  });

  it('lets a run with no attempt on a settled record write through: a redelivery put back, then started after all', async () => {
    for (const settled of ['delivered', 'failed'] as const) {
      const id = `dlv_rec_${settled}_then_other_run`;
      await settle(id, settled, minutesAgo(2));
      const next = new Date();
      await recordAttempt(ctx.db, keyOf(id), attemptAt(1, next, 503, 'run_2'), { status: 'retrying', nextRetryAt: next });
      expect(await find(id)).toMatchObject({ status: 'retrying', next_retry_at: next, updated_at: next, attempt_count: 2 });
      // Settled by that run now: its own later attempt is only logged.
      await recordAttempt(ctx.db, keyOf(id), attemptAt(2, next, 503, 'run_2'), { status: 'failed' });
      await recordAttempt(ctx.db, keyOf(id), attemptAt(3, next, 503, 'run_2'), { status: 'retrying', nextRetryAt: new Date() });
      expect(await find(id)).toMatchObject({ status: 'failed', attempt_count: 4 });
    }
  });

  it('creates the record on the first attempt recorded, whatever its outcome', async () => {
    const at = minutesAgo(1);
    await recordAttempt(ctx.db, keyOf('dlv_rec_late_first'), attemptAt(1, at, 503), { status: 'retrying', nextRetryAt: at });
    expect(await find('dlv_rec_late_first')).toMatchObject({ status: 'retrying', created_at: at, attempt_count: 1, event_id: 'evt_dlv_rec_late_first' });
  });
});

/**
 * A redelivery can start while the event's first run still retries the delivery: once
 * its run has written to the record it reopened, the status is the redelivery's, and the
 * earlier run's attempts are only logged (a 2xx still moves the record to delivered: the
 * receiver has it). Until then the earlier run may go on setting it: a record the
 * redelivery never writes to (its start failed and the record could not be put back, or
 * its run no longer delivers there) is not left open.
 */
describe('an earlier run on a record a redelivery reopened', () => {
  const find = (id: string) => deliveriesCollection(ctx.db).findOne({ _id: id });
  const retrying = (at: Date) => ({ status: 'retrying' as const, nextRetryAt: at });

  async function reopened(id: string) {
    await recordAttempt(ctx.db, keyOf(id), attemptAt(1, new Date(), 503, 'run_first'), retrying(new Date()));
    return reopenDeliveries(ctx.db, `evt_${id}`, [`wh_${id}`]);
  }

  it("lets the earlier run set a reopened record until the redelivery's run writes to it", async () => {
    const id = 'dlv_reopen_before_redelivery';
    await reopened(id);
    expect(await find(id)).toMatchObject({ status: 'pending', status_run: null });
    await recordAttempt(ctx.db, keyOf(id), attemptAt(2, new Date(), 503, 'run_first'), { status: 'failed' });
    expect(await find(id)).toMatchObject({ status: 'failed', attempt_count: 2, status_run: 'run_first' });
    // The redelivery's first attempt takes it over all the same.
    await recordAttempt(ctx.db, keyOf(id), attemptAt(1, new Date(), 503, 'run_redelivery'), retrying(new Date()));
    expect(await find(id)).toMatchObject({ status: 'retrying', attempt_count: 3, status_run: 'run_redelivery' });
  });

  it("keeps the redelivery's status once it has written, whatever the earlier run's attempts say", async () => {
    const id = 'dlv_reopen_taken_over';
    await reopened(id);
    const next = new Date(Date.now() + 60_000);
    await recordAttempt(ctx.db, keyOf(id), attemptAt(1, new Date(), 503, 'run_redelivery'), retrying(next));
    await recordAttempt(ctx.db, keyOf(id), attemptAt(2, new Date(), 503, 'run_first'), { status: 'failed' });
    await recordAttempt(ctx.db, keyOf(id), attemptAt(3, new Date(), 503, 'run_first'), retrying(new Date()));
    expect(await find(id)).toMatchObject({ status: 'retrying', next_retry_at: next, status_run: 'run_redelivery', attempt_count: 4 });
    // The redelivery's own attempts go on setting it.
    await recordAttempt(ctx.db, keyOf(id), attemptAt(2, new Date(), 503, 'run_redelivery'), { status: 'failed' });
    expect(await find(id)).toMatchObject({ status: 'failed', attempt_count: 5 });
  });

  it('moves it to delivered when an attempt of the earlier run delivered', async () => {
    const id = 'dlv_reopen_late_delivered';
    await reopened(id);
    await recordAttempt(ctx.db, keyOf(id), attemptAt(1, new Date(), 503, 'run_redelivery'), retrying(new Date()));
    const at = new Date();
    await recordAttempt(ctx.db, keyOf(id), attemptAt(2, at, 200, 'run_first'), { status: 'delivered' });
    expect(await find(id)).toMatchObject({ status: 'delivered', delivered_at: at, attempt_count: 3 });

    // Before the redelivery wrote, too; and a redelivery that then fails to start puts nothing back.
    const early = 'dlv_reopen_early_delivered';
    const reopen = await reopened(early);
    await recordAttempt(ctx.db, keyOf(early), attemptAt(2, at, 200, 'run_first'), { status: 'delivered' });
    await restoreReopenedDeliveries(ctx.db, reopen);
    const record = await find(early);
    expect(record).toMatchObject({ status: 'delivered', delivered_at: at, attempt_count: 2 });
    expect(record?.reopen_token).toBeUndefined();
  });

  it("leaves it open when the earlier run's retries run out after the redelivery wrote, and settles it for the redelivery", async () => {
    const id = 'dlv_reopen_settle';
    await reopened(id);
    await recordAttempt(ctx.db, keyOf(id), attemptAt(1, new Date(), 503, 'run_redelivery'), retrying(new Date()));
    await settleDelivery(ctx.db, keyOf(id), 'failed', new Date(), 'run_first');
    expect(await find(id)).toMatchObject({ status: 'retrying', status_run: 'run_redelivery' });
    await settleDelivery(ctx.db, keyOf(id), 'failed', new Date(), 'run_redelivery');
    expect(await find(id)).toMatchObject({ status: 'failed', status_run: 'run_redelivery', attempt_count: 2 });

    // Before the redelivery wrote, either run may settle it.
    const early = 'dlv_reopen_settle_early';
    await reopened(early);
    await settleDelivery(ctx.db, keyOf(early), 'failed', new Date(), 'run_first');
    expect(await find(early)).toMatchObject({ status: 'failed', status_run: 'run_first' });
  });

  it('gives the record back to the earlier run when the redelivery did not start', async () => {
    const id = 'dlv_reopen_restored';
    const reopen = await reopened(id);
    await restoreReopenedDeliveries(ctx.db, reopen);
    expect(await find(id)).toMatchObject({ status: 'retrying', status_run: 'run_first' });
    await recordAttempt(ctx.db, keyOf(id), attemptAt(2, new Date(), 503, 'run_first'), { status: 'failed' });
    expect(await find(id)).toMatchObject({ status: 'failed', attempt_count: 2 });
  });
});

/** What a repeated attempt asks before it sends: did an attempt of its own run deliver? */
describe('delivered in a run', () => {
  const key = keyOf('dlv_in_run');

  it('answers from the attempt log: a run whose own attempts failed did not deliver, even on a delivered record', async () => {
    expect(await deliveredInRun(ctx.db, key.deliveryId, 'run_a')).toBe(false);
    await recordAttempt(ctx.db, key, attemptAt(1, new Date(), 503, 'run_a'), { status: 'retrying' });
    await recordAttempt(ctx.db, key, attemptAt(1, new Date(), 200, 'run_b'), { status: 'delivered' });
    expect(await deliveredInRun(ctx.db, key.deliveryId, 'run_a')).toBe(false);
    expect(await deliveredInRun(ctx.db, key.deliveryId, 'run_b')).toBe(true);
    // A redelivery reopens the record: what run_b delivered stays delivered for run_b.
    await reopenDeliveries(ctx.db, key.eventId, [key.webhookId]);
    expect(await deliveredInRun(ctx.db, key.deliveryId, 'run_b')).toBe(true);
  });
});
