import type { SlotReserveContext, WorkflowSlotInfo } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createWorkflowTaskSlotSupplier, ReceiverWaits } from '../../src/temporal/workflow-task-slots';

const reserveCtx: SlotReserveContext = {
  slotType: 'workflow',
  taskQueue: 'q',
  workerIdentity: 'test',
  workerBuildId: '',
  isSticky: false,
};
const taskInfo: WorkflowSlotInfo = { type: 'workflow', workflowType: 'deliverEvent', isSticky: false };

/** A supplier and helpers that play the SDK's part: reserve, mark used, release. */
function setUp(limits: { maxSlots: number; maxBusy: number }) {
  const waits = new ReceiverWaits();
  const slots = createWorkflowTaskSlotSupplier(limits, waits);
  const signal = new AbortController().signal;
  /** Reserves a slot and reports whether the reservation was granted by the next tick. */
  const reserve = (abort = signal) => {
    const state = { granted: false, rejected: undefined as unknown };
    const permit = slots.reserveSlot(reserveCtx, abort).then(
      (value) => {
        state.granted = true;
        return value;
      },
      (error: unknown) => {
        state.rejected = error;
        return undefined;
      },
    );
    return { state, permit };
  };
  /** A task that came with the reserved permit. */
  const use = async (reservation: ReturnType<typeof reserve>) => {
    const permit = (await reservation.permit)!;
    slots.markSlotUsed({ slotInfo: taskInfo, permit });
    return () => slots.releaseSlot({ slotInfo: taskInfo, permit });
  };
  return { waits, slots, reserve, use };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('workflow task slots', () => {
  it('grants polls while fewer than maxBusy tasks are at work, then one per finished task', async () => {
    const { reserve, use } = setUp({ maxSlots: 10, maxBusy: 2 });
    const finishFirst = await use(reserve());
    await use(reserve());
    const third = reserve();
    await tick();
    expect(third.state.granted).toBe(false);
    finishFirst();
    await tick();
    expect(third.state.granted).toBe(true);
  });

  it('does not count polls that came back empty as work', async () => {
    const { slots, reserve } = setUp({ maxSlots: 10, maxBusy: 1 });
    const first = reserve();
    await tick();
    expect(first.state.granted).toBe(true);
    // A poll that finds nothing holds a permit but no task: another poll may go out meanwhile.
    const second = reserve();
    await tick();
    expect(second.state.granted).toBe(true);
    slots.releaseSlot({ permit: (await first.permit)! });
    slots.releaseSlot({ permit: (await second.permit)! });
    const third = reserve();
    await tick();
    expect(third.state.granted).toBe(true);
  });

  it('takes another task when one starts waiting on a receiver, and counts a workflow once', async () => {
    const { waits, reserve, use } = setUp({ maxSlots: 10, maxBusy: 1 });
    await use(reserve());
    const next = reserve();
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
    const { waits, reserve, use } = setUp({ maxSlots: 2, maxBusy: 2 });
    await use(reserve());
    await use(reserve());
    waits.enter('event-1');
    waits.enter('event-2');
    const third = reserve();
    await tick();
    expect(third.state.granted).toBe(false);
  });

  it('gives eager starts a free slot beyond maxBusy, up to maxSlots', async () => {
    const { slots, reserve, use } = setUp({ maxSlots: 3, maxBusy: 1 });
    await use(reserve());
    expect(slots.tryReserveSlot(reserveCtx)).not.toBeNull();
    expect(slots.tryReserveSlot(reserveCtx)).not.toBeNull();
    expect(slots.tryReserveSlot(reserveCtx)).toBeNull();
  });

  it('serves waiting polls in order and drops aborted ones', async () => {
    const { reserve, use } = setUp({ maxSlots: 10, maxBusy: 1 });
    const finish = await use(reserve());
    const aborter = new AbortController();
    const aborted = reserve(aborter.signal);
    const later = reserve();
    aborter.abort();
    await tick();
    expect(aborted.state.rejected).toBe(aborter.signal.reason);
    finish();
    await tick();
    expect(later.state.granted).toBe(true);
    expect(aborted.state.granted).toBe(false);
  });

  it('rejects limits that cannot work', () => {
    const waits = new ReceiverWaits();
    expect(() => createWorkflowTaskSlotSupplier({ maxSlots: 10, maxBusy: 0 }, waits)).toThrow(RangeError);
    expect(() => createWorkflowTaskSlotSupplier({ maxSlots: 1, maxBusy: 2 }, waits)).toThrow(RangeError);
  });
});
