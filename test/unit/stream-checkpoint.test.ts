import { describe, expect, it } from 'vitest';
import { StreamCheckpoint } from '../../src/dispatcher/stream-checkpoint';

describe('StreamCheckpoint', () => {
  it('advances only over a prefix of finished changes', () => {
    const checkpoint = new StreamCheckpoint<string>();
    const [a, b, c] = ['t1', 't2', 't3'].map((token) => checkpoint.add(token)) as [number, number, number];
    checkpoint.markDone(b);
    expect(checkpoint.takeAdvance()).toBeUndefined(); // t1 still running
    checkpoint.markDone(a);
    expect(checkpoint.takeAdvance()).toBe('t2');
    expect(checkpoint.takeAdvance()).toBeUndefined(); // nothing new
    expect(checkpoint.outstanding).toBe(1);
    checkpoint.markDone(c);
    expect(checkpoint.takeAdvance()).toBe('t3');
    expect(checkpoint.outstanding).toBe(0);
  });

  it('keeps sequence numbers valid across compaction', () => {
    const checkpoint = new StreamCheckpoint<number>();
    const open: number[] = [];
    let last: number | undefined;
    for (let i = 0; i < 5000; i++) {
      open.push(checkpoint.add(i));
      // Finish in pairs, the second first.
      if (open.length === 2) {
        checkpoint.markDone(open[1]!);
        checkpoint.markDone(open[0]!);
        open.length = 0;
        last = checkpoint.takeAdvance();
        expect(last).toBe(i);
      }
    }
    expect(checkpoint.outstanding).toBe(0);
    expect(() => checkpoint.markDone(0)).toThrow(RangeError);
  });
});
