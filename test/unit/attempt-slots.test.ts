import { describe, expect, it } from 'vitest';
import { AttemptSlots } from '../../src/delivery/attempt-slots';

describe('AttemptSlots', () => {
  it('grants at most `size` slots at once, to waiting callers in the order they asked', async () => {
    const slots = new AttemptSlots(2);
    const granted: number[] = [];
    const releases: Array<() => void> = [];
    const asks = [0, 1, 2, 3].map((i) =>
      slots.acquire().then((release) => {
        granted.push(i);
        releases[i] = release!;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual([0, 1]);
    releases[1]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual([0, 1, 2]);
    releases[0]!();
    releases[0]!(); // a second release frees nothing more
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual([0, 1, 2, 3]);
    await Promise.all(asks);
    expect(await slots.acquire(0)).toBeUndefined();
    releases[2]!();
    expect(await slots.acquire(0)).toBeTypeOf('function');
  });

  it('gives up after waitMs, leaving the line without taking a slot', async () => {
    const slots = new AttemptSlots(1);
    const held = await slots.acquire();
    expect(await slots.acquire(10)).toBeUndefined();
    const next = slots.acquire(1_000);
    held!();
    // The slot went to the caller still waiting, not to the one that gave up.
    expect(await next).toBeTypeOf('function');
  });

  it('gives up when its signal aborts, and grants nothing to an aborted caller', async () => {
    const slots = new AttemptSlots(1);
    const held = await slots.acquire();
    const cancelled = new AbortController();
    const waiting = slots.acquire(Infinity, cancelled.signal);
    cancelled.abort();
    expect(await waiting).toBeUndefined();
    held!();
    expect(await slots.acquire(0, cancelled.signal)).toBeUndefined();
    expect(await slots.acquire(0)).toBeTypeOf('function');
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new AttemptSlots(0)).toThrow(RangeError);
    expect(() => new AttemptSlots(1.5)).toThrow(RangeError);
  });
});
