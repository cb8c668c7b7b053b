import type { CustomSlotSupplier, SlotPermit, WorkflowSlotInfo } from '@temporalio/worker';

/**
 * The workflows whose open workflow task is waiting on a receiver: a local first attempt
 * holds its workflow task (and that task's slot) until the receiver answers, which takes
 * up to the attempt's timeout and costs the worker nothing meanwhile.
 */
export class ReceiverWaits {
  private readonly waits = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  /** Workflows with at least one attempt waiting on a receiver. */
  get workflows(): number {
    return this.waits.size;
  }

  /** Marks one attempt of `workflowId` as waiting; call the returned function once it is answered. */
  enter(workflowId: string): () => void {
    const count = this.waits.get(workflowId) ?? 0;
    this.waits.set(workflowId, count + 1);
    // The workflow's task went to rest: one fewer task at work, so a poll may be due.
    if (count === 0) for (const listener of this.listeners) listener();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const remaining = this.waits.get(workflowId)! - 1;
      if (remaining > 0) this.waits.set(workflowId, remaining);
      else this.waits.delete(workflowId);
    };
  }

  /** Calls `listener` whenever a workflow starts waiting on a receiver. */
  onRest(listener: () => void): void {
    this.listeners.add(listener);
  }
}

export interface WorkflowTaskSlotLimits {
  /** Workflow tasks open at once, resting ones included. */
  maxSlots: number;
  /**
   * Tasks at work (open and not waiting on a receiver) below which the worker polls for a
   * new event's first task. Work already admitted (sticky tasks of running workflows)
   * may go on up to twice this; eager starts, up to `maxSlots`.
   */
  maxBusy: number;
}

/** One reservation; the SDK hands the same object back when it marks or releases it. */
interface Permit {
  used: boolean;
}

interface Waiter {
  grant: () => void;
}

/**
 * Workflow-task slots that keep the worker's CPU work to about `maxBusy` tasks while
 * letting up to `maxSlots` stay open for tasks resting on receivers.
 *
 * Why: the tasks the worker holds share its CPU. Taken all at once, a burst's hundreds
 * of tasks each wait for all the others, and so does any task that comes after them.
 * Left in Temporal's task queue, they are served in turn with other organizations' tasks
 * (fairness keys). Tasks resting on a receiver do not count, so slow receivers cannot
 * stall the others, as a fixed slot count this low would.
 *
 * Who gets a slot, by how many tasks are at work:
 * - a poll of the task queue (new events' first tasks, the sweep's, redeliveries): below
 *   `maxBusy`; the polls in flight may each bring one task more;
 * - a sticky poll (running workflows' next tasks: timers that fired, retries that
 *   finished): below twice `maxBusy`. Sticky tasks are cheap to run here and, left
 *   waiting, would go back to the task queue and be replayed from their whole history.
 *   Sticky polls waiting are served before the others;
 * - an eager workflow start: whenever a slot is free. The dispatcher asks for one only
 *   for an organization with nothing else waiting; refused, that event's first task
 *   would wait behind every backlog in Temporal (a burst's starts, then its task queue),
 *   which is what the limits above are there to spare it.
 */
export function createWorkflowTaskSlotSupplier(
  limits: WorkflowTaskSlotLimits,
  receiverWaits: ReceiverWaits,
): CustomSlotSupplier<WorkflowSlotInfo> {
  if (!(limits.maxBusy >= 1 && limits.maxSlots >= 2 * limits.maxBusy)) {
    throw new RangeError(`workflow task slots: need 1 ≤ maxBusy ≤ maxSlots ÷ 2, got ${limits.maxBusy} and ${limits.maxSlots}`);
  }
  let reserved = 0;
  let used = 0;
  const waitingSticky: Waiter[] = [];
  const waitingNew: Waiter[] = [];

  const busy = () => Math.max(0, used - receiverWaits.workflows);
  const admits = (sticky: boolean) =>
    reserved < limits.maxSlots && busy() < (sticky ? 2 * limits.maxBusy : limits.maxBusy);
  const reserve = (): Permit => {
    reserved++;
    return { used: false };
  };
  const grantWaiting = () => {
    while (waitingSticky.length > 0 && admits(true)) waitingSticky.shift()!.grant();
    while (waitingNew.length > 0 && admits(false)) waitingNew.shift()!.grant();
  };
  receiverWaits.onRest(grantWaiting);

  return {
    type: 'custom',
    reserveSlot(ctx, abortSignal) {
      const queue = ctx.isSticky ? waitingSticky : waitingNew;
      if (queue.length === 0 && admits(ctx.isSticky)) return Promise.resolve(reserve());
      return new Promise<SlotPermit>((resolve, reject) => {
        const waiter: Waiter = {
          grant: () => {
            abortSignal.removeEventListener('abort', onAbort);
            resolve(reserve());
          },
        };
        const onAbort = () => {
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          reject(abortSignal.reason); // what the SDK expects back, so it logs nothing
        };
        if (abortSignal.aborted) return onAbort();
        abortSignal.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
    tryReserveSlot() {
      return reserved < limits.maxSlots ? reserve() : null;
    },
    markSlotUsed({ permit }) {
      const slot = permit as Permit;
      if (slot.used) return;
      slot.used = true;
      used++;
    },
    releaseSlot({ permit }) {
      const slot = permit as Permit;
      reserved--;
      if (slot.used) used--;
      grantWaiting();
    },
  };
}
