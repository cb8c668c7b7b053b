import { describe, expect, it } from 'vitest';
import { AttemptsInFlight } from '../../src/delivery/attempts-in-flight';

/** A promise and the function that settles it. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('AttemptsInFlight', () => {
  it('starts a second attempt at the same key only once the first has ended', async () => {
    const inFlight = new AttemptsInFlight();
    const log: string[] = [];
    const first = gate<string>();
    const a = inFlight.oneAtATime('run/dlv', async () => {
      log.push('first started');
      const value = await first.promise;
      log.push('first ended');
      return value;
    });
    const b = inFlight.oneAtATime('run/dlv', async () => {
      log.push('second started');
      return 'second';
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log).toEqual(['first started']);
    first.open('first');
    expect(await Promise.all([a, b])).toEqual(['first', 'second']);
    expect(log).toEqual(['first started', 'first ended', 'second started']);
    expect(inFlight.size).toBe(0);
  });

  it('lets the next attempt go after one that failed, and passes the failure to its own caller only', async () => {
    const inFlight = new AttemptsInFlight();
    const first = gate();
    const a = inFlight.oneAtATime('k', () => first.promise);
    const b = inFlight.oneAtATime('k', async () => 'after');
    first.fail(new Error('receiver reset'));
    await expect(a).rejects.toThrow('receiver reset');
    await expect(b).resolves.toBe('after');
    expect(inFlight.size).toBe(0);
  });

  it('runs attempts at different keys side by side', async () => {
    const inFlight = new AttemptsInFlight();
    const held = gate();
    const a = inFlight.oneAtATime('run/dlv_1', () => held.promise);
    await expect(inFlight.oneAtATime('run/dlv_2', async () => 'not held up')).resolves.toBe('not held up');
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
      inFlight.oneAtATime('k', async () => {
        await first.promise;
        order.push(1);
      }),
      inFlight.oneAtATime('k', async () => {
        order.push(2);
      }),
      inFlight.oneAtATime('k', async () => {
        order.push(3);
      }),
    ];
    first.open();
    await Promise.all(runs);
    expect(order).toEqual([1, 2, 3]);
    expect(inFlight.size).toBe(0);
  });
});
