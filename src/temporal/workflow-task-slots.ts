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
  /** Workflow tasks at work at once: open and not waiting on a receiver. */
  maxBusy: number;
}

/** Permits are plain objects; the supplier keeps its own counts. */
const PERMIT: SlotPermit = Object.freeze({});

/**
 * Workflow-task slots that keep the worker's CPU work to `maxBusy` tasks while letting
 * up to `maxSlots` stay open for tasks resting on receivers.
 *
 * Why: the tasks the worker holds share its CPU. Taken all at once, a burst's hundreds
 * of tasks each wait for all the others, and so does any task that comes after them.
 * Left in Temporal's task queue, they are served in turn with other organizations' tasks
 * (fairness keys). Tasks resting on a receiver do not count against `maxBusy`, so slow
 * receivers cannot stall the others, as a fixed slot count this low would.
 *
 * Polls reserve a slot while fewer than `maxBusy` tasks are at work (the polls in flight
 * may each bring one more). Eager workflow starts, which the dispatcher asks for only for
 * an organization with nothing else waiting, take a free slot at once, up to `maxSlots`.
 */
export function createWorkflowTaskSlotSupplier(
  limits: WorkflowTaskSlotLimits,
  receiverWaits: ReceiverWaits,
): CustomSlotSupplier<WorkflowSlotInfo> {
  if (!(limits.maxBusy >= 1 && limits.maxSlots >= limits.maxBusy)) {
    throw new RangeError(`workflow task slots: need 1 ≤ maxBusy ≤ maxSlots, got ${limits.maxBusy} and ${limits.maxSlots}`);
  }
  let reserved = 0;
  let used = 0;
  const waiting: Array<{ grant: () => void }> = [];

  const busy = () => Math.max(0, used - receiverWaits.workflows);
  const canPoll = () => reserved < limits.maxSlots && busy() < limits.maxBusy;
  const grantWaiting = () => {
    while (waiting.length > 0 && canPoll()) {
      reserved++;
      waiting.shift()!.grant();
    }
  };
  receiverWaits.onRest(grantWaiting);

  return {
    type: 'custom',
    reserveSlot(_ctx, abortSignal) {
      if (waiting.length === 0 && canPoll()) {
        reserved++;
        return Promise.resolve(PERMIT);
      }
      return new Promise<SlotPermit>((resolve, reject) => {
        const entry = {
          grant: () => {
            abortSignal.removeEventListener('abort', onAbort);
            resolve(PERMIT);
          },
        };
        const onAbort = () => {
          const index = waiting.indexOf(entry);
          if (index >= 0) waiting.splice(index, 1);
          reject(abortSignal.reason); // what the SDK expects back, so it logs nothing
        };
        if (abortSignal.aborted) return onAbort();
        abortSignal.addEventListener('abort', onAbort, { once: true });
        waiting.push(entry);
      });
    },
    tryReserveSlot() {
      if (reserved >= limits.maxSlots) return null;
      reserved++;
      return PERMIT;
    },
    markSlotUsed() {
      used++;
    },
    releaseSlot(ctx) {
      reserved--;
      // A permit released unused (a poll that came back empty) has no slot info.
      if (ctx.slotInfo) used = Math.max(0, used - 1);
      grantWaiting();
    },
  };
}
