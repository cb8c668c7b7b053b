/**
 * Bounds how many attempts a worker process has in flight at once. First attempts run
 * inside an event's first round, one local activity for up to 100 of them, so the
 * worker's local-activity slots no longer bound them as they did when each was a local
 * activity of its own; this does, with the same number.
 */
export class AttemptSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`attempt slots must be a positive integer, got ${size}`);
    this.free = size;
  }

  /** Runs `attempt` once a slot is free, in the order callers asked. */
  async run<T>(attempt: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await attempt();
    } finally {
      // The slot passes straight to the next caller in line, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
