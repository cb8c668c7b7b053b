/**
 * Items queued per key and taken round-robin across keys, in arrival order within a key.
 * The dispatcher keys events by organization, so one organization's burst waits behind
 * its own events, not in front of everyone else's.
 */
export class FairQueue<T> {
  // A Map iterates in insertion order: its order is the rotation. A key that is served
  // and still has items is re-inserted, which moves it to the back.
  private readonly queues = new Map<string, Deque<T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(key: string, item: T): void {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new Deque<T>();
      this.queues.set(key, queue);
    }
    queue.push(item);
    this.count++;
  }

  /** Whether any item of `key` waits. */
  has(key: string): boolean {
    return this.queues.has(key);
  }

  /** The oldest item of the key whose turn it is, with its key; undefined when empty. */
  shift(): { key: string; item: T } | undefined {
    const next = this.queues.entries().next();
    if (next.done) return undefined;
    const [key, queue] = next.value;
    const item = queue.shift()!;
    this.queues.delete(key);
    if (queue.length > 0) this.queues.set(key, queue);
    this.count--;
    return { key, item };
  }
}

/** An array queue with O(1) shift: a burst of thousands must not cost a copy per item. */
class Deque<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as T; // let the item be collected
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
