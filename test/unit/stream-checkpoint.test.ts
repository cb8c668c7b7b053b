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

  it('compacts while later changes are still open, and finishes them after', () => {
    const checkpoint = new StreamCheckpoint<number>();
    const seqs = Array.from({ length: 3000 }, (_, i) => checkpoint.add(i));
    // Finish the first 2,000: compaction runs with 1,000 changes still open.
    for (const seq of seqs.slice(0, 2000)) checkpoint.markDone(seq);
    expect(checkpoint.takeAdvance()).toBe(1999);
    expect(checkpoint.outstanding).toBe(1000);
    const more = Array.from({ length: 10 }, (_, i) => checkpoint.add(3000 + i));
    // The open ones finish out of order, newest first.
    for (const seq of [...seqs.slice(2000), ...more].reverse()) checkpoint.markDone(seq);
    expect(checkpoint.takeAdvance()).toBe(3009);
    expect(checkpoint.outstanding).toBe(0);
  });
});
