import type { SlotPermit, SlotReserveContext, WorkflowSlotInfo } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createWorkflowTaskSlotSupplier, ReceiverWaits } from '../../src/temporal/workflow-task-slots';

const pollCtx = (isSticky: boolean): SlotReserveContext => ({
  slotType: 'workflow',
  taskQueue: 'q',
  workerIdentity: 'test',
  workerBuildId: '',
  isSticky,
});
const taskInfo: WorkflowSlotInfo = { type: 'workflow', workflowType: 'deliverEvent', isSticky: false };

/** A supplier and helpers that play the SDK's part: reserve, mark used, release. */
function setUp(limits: { maxSlots: number; maxBusy: number }) {
  const waits = new ReceiverWaits();
  const slots = createWorkflowTaskSlotSupplier(limits, waits);
  const granted: string[] = [];
  /** Reserves a slot for a poll; `state` tells whether it was granted (after a tick). */
  const poll = (name: string, options: { sticky?: boolean; signal?: AbortSignal } = {}) => {
    const state = { granted: false, rejected: undefined as unknown };
    const permit = slots.reserveSlot(pollCtx(options.sticky ?? false), options.signal ?? new AbortController().signal).then(
      (value) => {
        state.granted = true;
        granted.push(name);
        return value;
      },
      (error: unknown) => {
        state.rejected = error;
        return undefined;
      },
    );
    return { state, permit };
  };
  /** The poll brought a task: returns the task's end. */
  const run = async (reservation: { permit: Promise<SlotPermit | undefined> } | SlotPermit) => {
    const permit = ('permit' in reservation ? await reservation.permit : reservation) as SlotPermit;
    slots.markSlotUsed({ slotInfo: taskInfo, permit });
    return () => slots.releaseSlot({ slotInfo: taskInfo, permit });
  };
  /** Fills the work below which new polls are granted. */
  const fill = async (count: number) => {
    for (let i = 0; i < count; i++) await run(poll(`fill-${i}`));
  };
  return { waits, slots, poll, run, fill, granted };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('workflow task slots', () => {
  it('grants polls while fewer than maxBusy tasks are at work, then one per finished task', async () => {
    const { poll, run } = setUp({ maxSlots: 10, maxBusy: 2 });
    const finishFirst = await run(poll('a'));
    await run(poll('b'));
    const third = poll('c');
    await tick();
    expect(third.state.granted).toBe(false);
    finishFirst();
    await tick();
    expect(third.state.granted).toBe(true);
  });

  it('counts only tasks at work: a poll that came back empty frees no work', async () => {
    const { slots, poll, run } = setUp({ maxSlots: 10, maxBusy: 2 });
    const empty = poll('empty'); // granted: nothing at work yet
    await run(poll('task'));
    await tick();
    expect(empty.state.granted).toBe(true);
    await run(poll('second task'));
    const next = poll('next');
    await tick();
    expect(next.state.granted).toBe(false);
    // The empty poll's permit goes back unused: still two at work, the next poll waits.
    slots.releaseSlot({ permit: (await empty.permit)! });
    await tick();
    expect(next.state.granted).toBe(false);
  });

  it('takes another task when one starts waiting on a receiver, and counts a workflow once', async () => {
    const { waits, poll, fill } = setUp({ maxSlots: 10, maxBusy: 1 });
    await fill(1);
    const next = poll('next');
    await tick();
    expect(next.state.granted).toBe(false);
    const leaveA = waits.enter('event-1');
    const leaveB = waits.enter('event-1'); // a second target of the same event
    expect(waits.workflows).toBe(1);
    await tick();
    expect(next.state.granted).toBe(true);
    leaveA();
    leaveA(); // leaving twice leaves once
    expect(waits.workflows).toBe(1);
    leaveB();
    expect(waits.workflows).toBe(0);
  });

  it('never holds more than maxSlots open, resting tasks included', async () => {
    const { waits, poll, run } = setUp({ maxSlots: 2, maxBusy: 1 });
    await run(poll('a'));
    waits.enter('event-1');
    await run(poll('b'));
    waits.enter('event-2');
    const third = poll('c', { sticky: true });
    await tick();
    expect(third.state.granted).toBe(false);
  });

  it('lets sticky polls go on up to twice maxBusy, and eager starts up to maxSlots', async () => {
    const { slots, poll, run, fill } = setUp({ maxSlots: 5, maxBusy: 2 });
    await fill(2);
    const fresh = poll('fresh');
    const sticky = poll('sticky', { sticky: true });
    await tick();
    expect(fresh.state.granted).toBe(false);
    expect(sticky.state.granted).toBe(true);
    await run(sticky); // 3 at work
    const secondSticky = poll('second sticky', { sticky: true });
    await tick();
    expect(secondSticky.state.granted).toBe(true);
    await run(secondSticky); // 4 at work: twice maxBusy
    const thirdSticky = poll('third sticky', { sticky: true });
    await tick();
    expect(thirdSticky.state.granted).toBe(false);
    // An eager start is not held back by the work at hand, only by the slots.
    const eager = slots.tryReserveSlot(pollCtx(false));
    expect(eager).not.toBeNull();
    await run(eager!); // 5 at work: every slot
    expect(slots.tryReserveSlot(pollCtx(false))).toBeNull();
  });

  it('serves waiting sticky polls first, each kind in arrival order, and drops aborted ones', async () => {
    const { poll, run, granted } = setUp({ maxSlots: 100, maxBusy: 1 });
    await run(poll('first'));
    const finishSticky = await run(poll('sticky at work', { sticky: true })); // 2 at work: the ceiling
    const aborter = new AbortController();
    const aborted = poll('aborted', { signal: aborter.signal });
    poll('new 1');
    poll('new 2');
    poll('sticky 1', { sticky: true });
    aborter.abort();
    await tick();
    expect(aborted.state.rejected).toBe(aborter.signal.reason);
    finishSticky(); // 1 at work: room for a sticky task, not yet for a new one
    await tick();
    expect(granted.slice(2)).toEqual(['sticky 1']);
  });

  it('grants new polls in arrival order as work finishes', async () => {
    const { poll, run, granted } = setUp({ maxSlots: 100, maxBusy: 1 });
    const finish = await run(poll('first'));
    poll('new 1');
    poll('new 2');
    await tick();
    finish();
    await tick();
    expect(granted).toEqual(['first', 'new 1', 'new 2']); // both: nothing at work, neither brought a task
  });

  it('rejects limits that cannot work', () => {
    const waits = new ReceiverWaits();
    expect(() => createWorkflowTaskSlotSupplier({ maxSlots: 10, maxBusy: 0 }, waits)).toThrow(RangeError);
    expect(() => createWorkflowTaskSlotSupplier({ maxSlots: 3, maxBusy: 2 }, waits)).toThrow(RangeError);
  });
});
