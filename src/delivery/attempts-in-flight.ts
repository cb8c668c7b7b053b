/**
 * The attempts this process has out, by delivery and run, made one at a time. An attempt
 * made again because the one before may have been lost (a first round that failed as a
 * whole or timed out while its attempts were still out) starts only once that one has
 * ended, so that the record it reads first says whether the delivery was made. Across
 * processes the record alone decides: a repeat on another worker can still send while
 * the first is out.
 */
export class AttemptsInFlight {
  /** Per key, when the last attempt started for it will have ended, however it ends. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `attempt` after every attempt started before it for `key` has ended. */
  async oneAtATime<T>(key: string, attempt: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    const running = before ? before.then(attempt) : attempt();
    const ended = running.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, ended);
    try {
      return await running;
    } finally {
      if (this.tails.get(key) === ended) this.tails.delete(key);
    }
  }

  /** Keys with an attempt out or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
