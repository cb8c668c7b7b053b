import { describe, expect, it } from 'vitest';
import { AttemptsInFlight } from '../../src/delivery/attempts-in-flight';

/** A promise and the functions that settle it. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const LONG = { waitMs: 60_000, result: () => 'gave up' };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('AttemptsInFlight', () => {
  it('starts a second attempt at the same key only once the first has ended', async () => {
    const inFlight = new AttemptsInFlight();
    const log: string[] = [];
    const first = gate<string>();
    const a = inFlight.oneAtATime(
      'run/dlv',
      async () => {
        log.push('first started');
        const value = await first.promise;
        log.push('first ended');
        return value;
      },
      LONG,
    );
    const b = inFlight.oneAtATime(
      'run/dlv',
      async () => {
        log.push('second started');
        return 'second';
      },
      LONG,
    );
    await pause(10);
    expect(log).toEqual(['first started']);
    first.open('first');
    expect(await Promise.all([a, b])).toEqual(['first', 'second']);
    expect(log).toEqual(['first started', 'first ended', 'second started']);
    expect(inFlight.size).toBe(0);
  });

  it('lets the next attempt go after one that failed, and passes the failure to its own caller only', async () => {
    const inFlight = new AttemptsInFlight();
    const first = gate();
    const a = inFlight.oneAtATime('k', () => first.promise, LONG);
    const b = inFlight.oneAtATime('k', async () => 'after', LONG);
    first.fail(new Error('receiver reset'));
    await expect(a).rejects.toThrow('receiver reset');
    await expect(b).resolves.toBe('after');
    expect(inFlight.size).toBe(0);
  });

  it('runs attempts at different keys side by side', async () => {
    const inFlight = new AttemptsInFlight();
    const held = gate();
    const a = inFlight.oneAtATime('run/dlv_1', () => held.promise, LONG);
    await expect(inFlight.oneAtATime('run/dlv_2', async () => 'not held up', LONG)).resolves.toBe('not held up');
    expect(inFlight.size).toBe(1);
    held.open();
    await a;
    expect(inFlight.size).toBe(0);
  });

  it('keeps three attempts at one key in the order they came', async () => {
    const inFlight = new AttemptsInFlight();
    const order: number[] = [];
    const first = gate();
    const runs = [
      inFlight.oneAtATime(
        'k',
        async () => {
          await first.promise;
          order.push(1);
        },
        { waitMs: 60_000, result: () => undefined },
      ),
      inFlight.oneAtATime('k', async () => void order.push(2), { waitMs: 60_000, result: () => undefined }),
      inFlight.oneAtATime('k', async () => void order.push(3), { waitMs: 60_000, result: () => undefined }),
    ];
    first.open();
    await Promise.all(runs);
    expect(order).toEqual([1, 2, 3]);
    expect(inFlight.size).toBe(0);
  });

  it('gives up, running nothing, when the earlier attempt is still out after the wait', async () => {
    const inFlight = new AttemptsInFlight();
    const stuck = gate<string>();
    const a = inFlight.oneAtATime('k', () => stuck.promise, LONG);
    let ran = false;
    const b = inFlight.oneAtATime(
      'k',
      async () => {
        ran = true;
        return 'sent';
      },
      { waitMs: 20, result: () => 'deferred' },
    );
    await expect(b).resolves.toBe('deferred');
    // A third attempt still waits for the first, not for the one that gave up.
    const c = inFlight.oneAtATime('k', async () => 'third', LONG);
    await pause(10);
    stuck.open('first');
    await expect(a).resolves.toBe('first');
    await expect(c).resolves.toBe('third');
    expect(ran).toBe(false);
    await pause(0);
    expect(inFlight.size).toBe(0);
  });

  it('does not give up on an attempt that started before the wait ran out', async () => {
    const inFlight = new AttemptsInFlight();
    const first = gate();
    const second = gate<string>();
    const a = inFlight.oneAtATime('k', () => first.promise, LONG);
    const b = inFlight.oneAtATime('k', () => second.promise, { waitMs: 30, result: () => 'deferred' });
    first.open();
    await a;
    // The second attempt is out now; the wait running out meanwhile changes nothing.
    await pause(60);
    second.open('sent');
    await expect(b).resolves.toBe('sent');
  });
});
