import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/dispatcher/fair-queue';

function drain<T>(queue: FairQueue<T>): T[] {
  const out: T[] = [];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) out.push(next.item);
  return out;
}

describe('FairQueue', () => {
  it('takes keys in turn, each in arrival order', () => {
    const queue = new FairQueue<string>();
    for (let i = 1; i <= 4; i++) queue.push('burst', `b${i}`);
    queue.push('quiet', 'q1');
    queue.push('other', 'o1');
    queue.push('quiet', 'q2');
    expect(queue.size).toBe(7);
    expect(drain(queue)).toEqual(['b1', 'q1', 'o1', 'b2', 'q2', 'b3', 'b4']);
    expect(queue.size).toBe(0);
  });

  it('serves a key that arrives behind a long backlog within one turn', () => {
    const queue = new FairQueue<string>();
    for (let i = 0; i < 5000; i++) queue.push('burst', `b${i}`);
    expect(queue.shift()?.item).toBe('b0');
    queue.push('late', 'l1');
    expect(queue.shift()?.item).toBe('b1'); // the burst's turn had come already
    expect(queue.shift()).toEqual({ key: 'late', item: 'l1' });
    expect(queue.shift()?.item).toBe('b2');
  });

  it('keeps order within a key across the internal compaction', () => {
    const queue = new FairQueue<number>();
    const taken: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      queue.push('a', i);
      if (i % 3 === 0) taken.push(queue.shift()!.item);
    }
    taken.push(...drain(queue));
    expect(taken).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('keeps order when items arrive after a compaction', () => {
    const queue = new FairQueue<number>();
    for (let i = 0; i < 3000; i++) queue.push('a', i);
    const taken: number[] = [];
    for (let i = 0; i < 2000; i++) taken.push(queue.shift()!.item); // compacts with 1,000 left
    for (let i = 3000; i < 3500; i++) queue.push('a', i);
    taken.push(...drain(queue));
    expect(taken).toEqual(Array.from({ length: 3500 }, (_, i) => i));
    expect(queue.size).toBe(0);
  });

  it('tells whether a key has items waiting', () => {
    const queue = new FairQueue<number>();
    queue.push('a', 1);
    queue.push('a', 2);
    expect(queue.has('a')).toBe(true);
    expect(queue.has('b')).toBe(false);
    queue.shift();
    expect(queue.has('a')).toBe(true);
    queue.shift();
    expect(queue.has('a')).toBe(false);
  });

  it('is empty when new', () => {
    expect(new FairQueue<number>().shift()).toBeUndefined();
  });
});
