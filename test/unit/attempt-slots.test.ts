import { describe, expect, it } from 'vitest';
import { AttemptSlots } from '../../src/delivery/attempt-slots';

describe('AttemptSlots', () => {
  it('runs at most `size` attempts at once, the waiting ones in the order they asked', async () => {
    const slots = new AttemptSlots(2);
    const started: number[] = [];
    const finish: Array<() => void> = [];
    const runs = [0, 1, 2, 3].map((i) =>
      slots.run(() => {
        started.push(i);
        return new Promise<number>((resolve) => finish.push(() => resolve(i)));
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    finish[1]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    finish[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2, 3]);
    finish[2]!();
    finish[3]!();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
  });

  it('frees the slot of an attempt that throws', async () => {
    const slots = new AttemptSlots(1);
    await expect(slots.run(async () => {
      throw new Error('reset');
    })).rejects.toThrow('reset');
    expect(await slots.run(async () => 'next')).toBe('next');
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new AttemptSlots(0)).toThrow(RangeError);
    expect(() => new AttemptSlots(1.5)).toThrow(RangeError);
  });
});
