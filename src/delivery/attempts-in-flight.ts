/** How an attempt that finds an earlier one out waits for it. */
export interface WhileEarlierOut<T> {
  /** How long it waits for the earlier attempt to end. */
  waitMs: number;
  /** What it returns, sending nothing, when the earlier attempt is still out by then. */
  result: () => T;
}

/**
 * The attempts this process has out, by delivery and run, made one at a time. An attempt
 * made again because the one before may have been lost (a first round that failed as a
 * whole or timed out while its attempts were still out) starts only once that one has
 * ended, so that the record it reads first says whether the delivery was made. The wait
 * is bounded: an attempt still out after it (e.g. stuck on a database call) leaves the
 * repeat to come back later, within its own timeout. Across processes the record alone
 * decides: a repeat on another worker can still send while the first is out.
 */
export class AttemptsInFlight {
  /** Per key, when the last attempt started for it will have ended, however it ends. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `attempt` once every attempt started before it for `key` has ended. */
  async oneAtATime<T>(key: string, attempt: () => Promise<T>, whileOut: WhileEarlierOut<T>): Promise<T> {
    const before = this.tails.get(key);
    let state: 'waiting' | 'started' | 'gave up' = before ? 'waiting' : 'started';
    const start = async (): Promise<T | undefined> => {
      if (state === 'gave up') return undefined;
      state = 'started';
      return attempt();
    };
    const running = before ? before.then(start) : attempt();
    const ended = running.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, ended);
    void ended.then(() => {
      if (this.tails.get(key) === ended) this.tails.delete(key);
    });
    if (before) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, whileOut.waitMs);
      });
      // `start` was chained onto `before` first, so it has run by the time this resumes.
      await Promise.race([before, waited]);
      clearTimeout(timer);
      if (state === 'waiting') {
        state = 'gave up';
        return whileOut.result();
      }
    }
    return running as Promise<T>;
  }

  /** Keys with an attempt out or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
