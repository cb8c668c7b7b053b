/**
 * A worker process's attempt slots, and its local-activity slots (src/temporal/worker.ts):
 * one number, since the local-activity slots bounded first attempts before the first round.
 */
export const DEFAULT_ATTEMPT_SLOTS = 200;

/** Gives a taken slot back; calling it again does nothing. */
export type ReleaseAttemptSlot = () => void;

interface Waiter {
  grant: () => void;
}

/**
 * Bounds how many attempts a worker process has in flight at once. First attempts run
 * inside an event's first round, one local activity for up to 100 of them, so the
 * worker's local-activity slots no longer bound them as they did when each was a local
 * activity of its own; this does, with the same number.
 */
export class AttemptSlots {
  private free: number;
  private readonly waiting: Waiter[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`attempt slots must be a positive integer, got ${size}`);
    this.free = size;
  }

  /**
   * Takes a slot, waiting in the order callers asked, for at most `waitMs` and not past
   * `signal`: undefined when none came in time. The caller releases what it got.
   */
  acquire(waitMs = Infinity, signal?: AbortSignal): Promise<ReleaseAttemptSlot | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    if (waitMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const giveUp = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        stopWaiting();
        resolve(undefined);
      };
      const timer = Number.isFinite(waitMs) ? setTimeout(giveUp, waitMs) : undefined;
      const stopWaiting = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
      };
      const waiter: Waiter = {
        grant: () => {
          stopWaiting();
          resolve(this.releaser());
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', giveUp, { once: true });
    });
  }

  private releaser(): ReleaseAttemptSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next caller in line, if any.
      const next = this.waiting.shift();
      if (next) next.grant();
      else this.free++;
    };
  }
}
