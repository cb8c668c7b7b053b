import { ObjectId } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { dispatcherState } from '../../src/dispatcher/dispatcher-state';
import { eventsCollection, markDispatched } from '../../src/store/event-store';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

describe('dispatcher', () => {
  let ctx: TestContext;
  let receiver: Receiver;
  const dispatchers: Dispatcher[] = [];

  async function dispatcher(options: Parameters<typeof startDispatcher>[1] = {}): Promise<Dispatcher> {
    const d = await startDispatcher(ctx, options);
    dispatchers.push(d);
    return d;
  }

  async function allDelivered(eventIds: string[]): Promise<void> {
    await eventually(async () => {
      const count = await eventsCollection(ctx.db).countDocuments({ _id: { $in: eventIds }, status: 'delivered' });
      return count === eventIds.length;
    }, 60_000, `${eventIds.length} events delivered`);
  }

  function deliveriesPerEvent(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const request of receiver.requests) {
      const eventId = (JSON.parse(request.body) as { event_id: string }).event_id;
      counts.set(eventId, (counts.get(eventId) ?? 0) + 1);
    }
    return counts;
  }

  beforeAll(async () => {
    ctx = await createTestContext('dispatcher');
    await ctx.startWorker();
    receiver = await startReceiver();
    await createWebhook(ctx, { url: receiver.url });
  });

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
  });

  afterAll(async () => {
    await receiver?.close();
    await ctx?.close();
  });

  it('delivers events inserted while no dispatcher ran, once one starts', async () => {
    const before = receiver.requests.length;
    const eventIds = [await emitTestEvent(ctx), await emitTestEvent(ctx)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests.length).toBe(before);

    await dispatcher();
    await allDelivered(eventIds);
    for (const id of eventIds) expect(deliveriesPerEvent().get(id)).toBe(1);
  });

  it('resumes from its checkpoint after a restart, losing nothing inserted meanwhile', async () => {
    // Sweep effectively off: only the change stream and its resume token can find these.
    const options = { sweepIntervalMs: 3_600_000, sweepGraceMs: 3_600_000 };
    const first = await dispatcher(options);
    const early = await emitTestEvent(ctx);
    await allDelivered([early]);
    await first.stop();
    const token = await dispatcherState(ctx.db, 'webhook_events').load();
    expect(token).toBeDefined();

    const whileDown = [await emitTestEvent(ctx), await emitTestEvent(ctx), await emitTestEvent(ctx)];
    await dispatcher(options);
    const afterRestart = await emitTestEvent(ctx);
    await allDelivered([...whileDown, afterRestart]);
    for (const id of [early, ...whileDown, afterRestart]) expect(deliveriesPerEvent().get(id)).toBe(1);
  });

  it('starts a burst from one organization in turn with the other organizations\' events', async () => {
    const options = { stateId: 'fairness', sweepIntervalMs: 3_600_000, sweepGraceMs: 3_600_000 };
    const first = await dispatcher(options);
    await allDelivered([await emitTestEvent(ctx)]);
    await first.stop(); // its checkpoint: the stream resumes with everything inserted next

    const burst: string[] = [];
    for (let i = 0; i < 40; i++) burst.push(await emitTestEvent(ctx, { organizationId: 'org_burst' }));
    const other = await emitTestEvent(ctx, { organizationId: 'org_other' });
    const startOrder: string[] = [];
    // One start at a time, so the order of starts is the order the dispatcher chose.
    await dispatcher({ ...options, concurrency: 1, onStarted: (event) => startOrder.push(event._id) });
    await eventually(async () => startOrder.length === 41, 30_000, 'all 41 events started');
    // Inserted last, started within the first turns instead of after the 40 before it.
    expect(startOrder.indexOf(other)).toBeGreaterThanOrEqual(0);
    expect(startOrder.indexOf(other)).toBeLessThanOrEqual(2);
    // Within its organization, the burst starts in insertion order.
    expect(startOrder.filter((id) => id !== other)).toEqual(burst);
    // Temporal's matching serves task backlogs fairly by this key (the dev server has fairness on).
    const history = await ctx.client.workflow.getHandle(other).fetchHistory();
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.priority?.fairnessKey).toBe('org_other');
  });

  it('dispatches a backlog larger than its read-ahead in full', async () => {
    const options = { stateId: 'read-ahead', sweepIntervalMs: 3_600_000, sweepGraceMs: 3_600_000 };
    const first = await dispatcher(options);
    await allDelivered([await emitTestEvent(ctx)]);
    await first.stop();

    const backlog: string[] = [];
    for (let i = 0; i < 30; i++) backlog.push(await emitTestEvent(ctx, { organizationId: `org_backlog_${i % 3}` }));
    await dispatcher({ ...options, readAhead: 4, concurrency: 2 });
    await eventually(
      async () => (await eventsCollection(ctx.db).countDocuments({ _id: { $in: backlog }, status: 'pending' })) === 0,
      30_000,
      'backlog dispatched',
    );
    // The checkpoint passed the whole backlog: a restart would not read it again.
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
    const startOrder: string[] = [];
    await dispatcher({ ...options, onStarted: (event) => startOrder.push(event._id) });
    const after = await emitTestEvent(ctx);
    await eventually(async () => startOrder.includes(after), 15_000, 'event after the restart started');
    expect(startOrder).toEqual([after]);
  });

  it('starts the workflow of an organization whose id is longer than a Temporal fairness key', async () => {
    const started: string[] = [];
    await dispatcher({ stateId: 'long-organization', onStarted: (event) => started.push(event._id) });
    const eventId = await emitTestEvent(ctx, { organizationId: `org_${'l'.repeat(150)}` });
    await eventually(async () => started.includes(eventId), 15_000, 'event with a long organization id started');
    const history = await ctx.client.workflow.getHandle(eventId).fetchHistory();
    const key = history.events?.[0]?.workflowExecutionStartedEventAttributes?.priority?.fairnessKey;
    expect(key).toMatch(/^sha256:[0-9a-f]{40}$/);
  });

  it('two dispatchers at once deliver each event exactly once', async () => {
    await dispatcher({ stateId: 'dispatcher-a', sweepGraceMs: 0 });
    await dispatcher({ stateId: 'dispatcher-b', sweepGraceMs: 0 });
    const eventIds: string[] = [];
    for (let i = 0; i < 20; i++) eventIds.push(await emitTestEvent(ctx));
    await allDelivered(eventIds);
    // Let any duplicate start that would slip through have time to deliver.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const counts = deliveriesPerEvent();
    for (const id of eventIds) expect(counts.get(id)).toBe(1);
  });

  it('emitting the same event id twice is a no-op that delivers once', async () => {
    await dispatcher();
    const eventId = `evt_dup_${Date.now()}`;
    await emitTestEvent(ctx, { eventId });
    await emitTestEvent(ctx, { eventId });
    await allDelivered([eventId]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(deliveriesPerEvent().get(eventId)).toBe(1);
    expect(await eventsCollection(ctx.db).countDocuments({ _id: eventId })).toBe(1);
  });

  it('fails an event document written with missing fields, with the reason, instead of dropping it', async () => {
    await dispatcher();
    await eventsCollection(ctx.db).insertOne({
      _id: 'evt_broken_doc',
      status: 'pending',
      created_at: new Date(),
    } as never);
    const event = await eventually(async () => {
      const doc = await eventsCollection(ctx.db).findOne({ _id: 'evt_broken_doc' });
      return doc?.status === 'failed' ? doc : undefined;
    }, 15_000, 'broken event failed');
    expect(event.error).toMatch(/invalid event document: organization_id/);
  });

  it('fails a document whose _id is not a string, and goes on to the events after it', async () => {
    // Sweep effectively off: the change stream itself must get past the document.
    await dispatcher({ sweepIntervalMs: 3_600_000, sweepGraceMs: 3_600_000 });
    const objectId = new ObjectId();
    await eventsCollection(ctx.db).insertOne({ _id: objectId, organization_id: 'org_test', status: 'pending', created_at: new Date() } as never);
    const next = await emitTestEvent(ctx);
    await allDelivered([next]);
    const broken = await eventually(async () => {
      const doc = await eventsCollection(ctx.db).findOne({ _id: objectId as never });
      return doc?.status === 'failed' ? doc : undefined;
    }, 15_000, 'document with an ObjectId failed');
    expect(broken.error).toMatch(/invalid event document: _id/);
  });

  it('sweeps up a pending event whose created_at another producer stored as an ISO string', async () => {
    // Inserted while no dispatcher ran, and no checkpoint to resume from: only the sweep finds it.
    const eventId = await emitTestEvent(ctx);
    const aMinuteAgo = new Date(Date.now() - 60_000 + 3_600_000).toISOString().replace('Z', '+01:00');
    await eventsCollection(ctx.db).updateOne({ _id: eventId }, { $set: { created_at: aMinuteAgo as never } });
    await dispatcherState(ctx.db, 'webhook_events').clear();
    await dispatcher();
    await allDelivered([eventId]);
    expect(deliveriesPerEvent().get(eventId)).toBe(1);
  });

  it('fails a pending document without created_at that the sweep finds, rather than leaving it pending', async () => {
    await eventsCollection(ctx.db).insertOne({ _id: 'evt_undated_doc', organization_id: 'org_test', status: 'pending' } as never);
    await dispatcherState(ctx.db, 'webhook_events').clear();
    await dispatcher();
    const event = await eventually(async () => {
      const doc = await eventsCollection(ctx.db).findOne({ _id: 'evt_undated_doc' });
      return doc?.status === 'failed' ? doc : undefined;
    }, 15_000, 'undated event failed');
    expect(event.error).toMatch(/invalid event document/);
  });

  it('records when an event was started even if its run finished first, without moving its status back', async () => {
    // No dispatcher runs here: the events stay as written until marked by hand.
    const finishedFirst = await emitTestEvent(ctx);
    const stillPending = await emitTestEvent(ctx);
    await eventsCollection(ctx.db).updateOne({ _id: finishedFirst }, { $set: { status: 'delivered', completed_at: new Date() } });

    const startedAt = new Date('2026-01-02T03:04:05Z');
    await markDispatched(ctx.db, [finishedFirst, stillPending], startedAt);
    // A second marking (a replayed batch) keeps the first time.
    await markDispatched(ctx.db, [finishedFirst, stillPending], new Date(startedAt.getTime() + 60_000));

    const events = await eventsCollection(ctx.db).find({ _id: { $in: [finishedFirst, stillPending] } }).toArray();
    const byId = new Map(events.map((event) => [event._id, event]));
    expect(byId.get(finishedFirst)).toMatchObject({ status: 'delivered', dispatched_at: startedAt });
    expect(byId.get(stillPending)).toMatchObject({ status: 'dispatched', dispatched_at: startedAt });
  });
});
