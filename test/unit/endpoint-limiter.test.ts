import { describe, expect, it } from 'vitest';
import {
  createEndpointLimiter,
  KEPT_SLOT_MS,
  MAX_DEFERRAL_MS,
  MAX_QUEUED_FALLBACK_MS,
  MIN_DEFERRAL_MS,
  WAKE_RETRY_MS,
} from '../../src/delivery/endpoint-limiter';

describe('endpoint limiter', () => {
  it('admits up to the limit per endpoint, independently per endpoint', () => {
    const limiter = createEndpointLimiter(2);
    const a1 = limiter.tryAcquire('a');
    const a2 = limiter.tryAcquire('a');
    expect(a1).toBeTypeOf('function');
    expect(a2).toBeTypeOf('function');
    expect(limiter.tryAcquire('a')).toBeUndefined();
    expect(limiter.tryAcquire('b')).toBeTypeOf('function');
    a1!();
    a1!(); // releasing twice frees one slot only
    expect(limiter.inFlight('a')).toBe(1);
    expect(limiter.tryAcquire('a')).toBeTypeOf('function');
    expect(limiter.tryAcquire('a')).toBeUndefined();
  });
});

describe('endpoint limiter deferrals', () => {
  it('queues deferred attempts behind each other, spaced by how long attempts hold a slot', () => {
    let now = 0;
    const limiter = createEndpointLimiter(2, { clock: () => now });
    const first = limiter.tryAcquire('slow')!;
    limiter.tryAcquire('slow');
    now = 9_000; // both have held their slots 9 s, none has finished yet (timeout 5 s is exceeded)
    // A slot should free up about every 9 s / 2: each deferral queues after the previous one.
    expect(limiter.deferralMs('slow', 5_000)).toBe(4_500);
    expect(limiter.deferralMs('slow', 5_000)).toBe(9_000);
    expect(limiter.deferralMs('slow', 5_000)).toBe(13_500);
    first();
    expect(limiter.tryAcquire('slow')).toBeTypeOf('function');
  });

  it('assumes attempts take their timeout until one finishes, then learns how long they take', () => {
    let now = 0;
    const limiter = createEndpointLimiter(2, { clock: () => now });
    const a = limiter.tryAcquire('e')!;
    const b = limiter.tryAcquire('e')!;
    expect(limiter.deferralMs('e', 10_000)).toBe(5_000); // 10 s / 2 slots
    now = 100;
    a();
    b(); // both held 100 ms
    now = 6_000; // past the queued turn
    limiter.tryAcquire('e');
    limiter.tryAcquire('e');
    // A slot should free up within 100 ms / 2: as soon as the minimum allows.
    expect(limiter.deferralMs('e', 10_000)).toBe(MIN_DEFERRAL_MS);
  });

  it('spreads attempts queued beyond the horizon over its second half', () => {
    const now = 0;
    let draw = 0;
    const limiter = createEndpointLimiter(1, { clock: () => now, random: () => draw });
    limiter.tryAcquire('dead');
    expect(limiter.deferralMs('dead', 30_000)).toBe(30_000);
    expect(limiter.deferralMs('dead', 30_000)).toBe(60_000);
    draw = 0;
    expect(limiter.deferralMs('dead', 30_000)).toBe(MAX_DEFERRAL_MS / 2);
    draw = 0.999;
    expect(limiter.deferralMs('dead', 30_000)).toBeLessThanOrEqual(MAX_DEFERRAL_MS);
    expect(limiter.deferralMs('dead', 30_000)).toBeGreaterThan(MAX_DEFERRAL_MS * 0.99);
  });

  it('learns nothing from a slot released without a send', () => {
    let now = 0;
    const limiter = createEndpointLimiter(1, { clock: () => now });
    const sent = limiter.tryAcquire('e')!;
    now = 5_000;
    sent();
    for (let i = 0; i < 10; i++) {
      const unsent = limiter.tryAcquire('e')!;
      now += 2;
      unsent(false); // e.g. the circuit was open: recorded, not sent
    }
    limiter.tryAcquire('e');
    expect(limiter.deferralMs('e', 30_000)).toBe(5_000);
  });

  it('forgets an idle endpoint but not how long its attempts took', () => {
    let now = 0;
    const limiter = createEndpointLimiter(1, { clock: () => now });
    const release = limiter.tryAcquire('a')!;
    now = 2_000;
    release();
    expect(limiter.inFlight('a')).toBe(0);
    limiter.tryAcquire('a');
    expect(limiter.deferralMs('a', 30_000)).toBe(2_000);
  });
});

describe('endpoint limiter queue', () => {
  /** A limiter whose timers run when the test says, and waiters that record their wake-ups. */
  function setUp(max: number) {
    let now = 0;
    const timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
    const limiter = createEndpointLimiter(max, {
      clock: () => now,
      schedule: (fn, ms) => {
        const timer = { at: now + ms, fn, cancelled: false };
        timers.push(timer);
        return timer as unknown as ReturnType<typeof setTimeout>;
      },
      cancel: (handle) => void ((handle as unknown as { cancelled: boolean }).cancelled = true),
    });
    const woken: string[] = [];
    const waiter = (key: string, wake: () => Promise<boolean> = async () => (woken.push(key), true)) => ({ key, wake });
    return {
      limiter,
      woken,
      waiter,
      advance(ms: number) {
        now += ms;
        for (const timer of timers.filter((t) => t.at <= now && !t.cancelled)) {
          timer.cancelled = true;
          timer.fn();
        }
      },
    };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('keeps each freed slot for the first waiter and wakes it; nobody else gets that slot', async () => {
    const { limiter, woken, waiter } = setUp(1);
    const held = limiter.tryAcquire('e')!;
    limiter.deferralMs('e', 10_000, waiter('a'));
    limiter.deferralMs('e', 10_000, waiter('b'));
    expect(limiter.waiting('e')).toBe(2);
    held();
    await settle();
    expect(woken).toEqual(['a']);
    expect(limiter.tryAcquire('e')).toBeUndefined(); // kept for a
    expect(limiter.tryAcquire('e', 'b')).toBeUndefined(); // b is next, not now
    const a = limiter.tryAcquire('e', 'a');
    expect(a).toBeTypeOf('function');
    a!();
    await settle();
    expect(woken).toEqual(['a', 'b']);
    expect(limiter.tryAcquire('e', 'b')).toBeTypeOf('function');
    expect(limiter.waiting('e')).toBe(0);
  });

  it('gives a kept slot on when its waiter does not come, and puts that waiter back at the head', async () => {
    const { limiter, woken, waiter, advance } = setUp(1);
    const held = limiter.tryAcquire('e')!;
    for (const key of ['a', 'b', 'c']) limiter.deferralMs('e', 10_000, waiter(key));
    held();
    await settle();
    advance(KEPT_SLOT_MS);
    await settle();
    expect(woken).toEqual(['a', 'b']);
    const b = limiter.tryAcquire('e', 'b')!; // b came in time
    // a comes late, with no slot kept to take: it waits again, first in line (before c).
    expect(limiter.tryAcquire('e', 'a')).toBeUndefined();
    limiter.deferralMs('e', 10_000, waiter('a'));
    b();
    await settle();
    expect(woken).toEqual(['a', 'b', 'a']);
  });

  it('keeps sending when every wake-up takes longer than a slot is kept', async () => {
    const { limiter, woken, waiter, advance } = setUp(1);
    const held = limiter.tryAcquire('e')!;
    for (const key of ['a', 'b', 'c']) limiter.deferralMs('e', 10_000, waiter(key));
    held();
    await settle();
    advance(KEPT_SLOT_MS); // a is late: the slot is kept for b now
    await settle();
    expect(woken).toEqual(['a', 'b']);
    // a comes: it takes the slot kept for b, and b is the late one.
    const a = limiter.tryAcquire('e', 'a');
    expect(a).toBeTypeOf('function');
    expect(limiter.tryAcquire('e', 'c')).toBeUndefined(); // c is not woken yet
    a!();
    await settle();
    expect(woken).toEqual(['a', 'b', 'c']); // the slot a freed is kept for c
    // b comes after c was woken: it takes c's slot in turn.
    expect(limiter.tryAcquire('e', 'b')).toBeTypeOf('function');
    expect(limiter.waiting('e')).toBe(0);
  });

  it('gives the slot on at once when a waiter is gone for good', async () => {
    const { limiter, woken, waiter } = setUp(1);
    const held = limiter.tryAcquire('e')!;
    limiter.deferralMs('e', 10_000, waiter('gone', async () => false));
    limiter.deferralMs('e', 10_000, waiter('b'));
    held();
    await settle();
    expect(woken).toEqual(['b']);
    expect(limiter.tryAcquire('e', 'b')).toBeTypeOf('function');
  });

  it('keeps a waiter that could not be told first in line, frees the slot, and tries it again on the next', async () => {
    const { limiter, woken, waiter } = setUp(1);
    const held = limiter.tryAcquire('e')!;
    let reachable = false;
    const flaky = waiter('a', async () => {
      if (!reachable) throw new Error('Temporal unreachable');
      woken.push('a');
      return true;
    });
    limiter.deferralMs('e', 10_000, flaky);
    limiter.deferralMs('e', 10_000, waiter('b'));
    held();
    await settle();
    expect(woken).toEqual([]); // b was not tried after a's failure
    expect(limiter.waiting('e')).toBe(2);
    const other = limiter.tryAcquire('e'); // the slot is free meanwhile
    expect(other).toBeTypeOf('function');
    reachable = true;
    other!();
    await settle();
    expect(woken).toEqual(['a']);
  });

  it('tries a waiter that could not be told again a second later, even with nothing in flight', async () => {
    const { limiter, woken, waiter, advance } = setUp(1);
    const held = limiter.tryAcquire('e')!;
    let reachable = false;
    limiter.deferralMs(
      'e',
      10_000,
      waiter('a', async () => {
        if (!reachable) throw new Error('Temporal unreachable');
        woken.push('a');
        return true;
      }),
    );
    held();
    await settle();
    expect(woken).toEqual([]);
    reachable = true;
    advance(WAKE_RETRY_MS);
    await settle();
    expect(woken).toEqual(['a']);
    expect(limiter.tryAcquire('e')).toBeUndefined(); // kept for a
    expect(limiter.tryAcquire('e', 'a')).toBeTypeOf('function');
  });

  it('keeps a waiter in its place, and sizes its fallback from its place in the queue', () => {
    const { limiter, waiter } = setUp(2);
    limiter.tryAcquire('e');
    limiter.tryAcquire('e');
    // Nothing finished yet: attempts are assumed to hold their slot the timeout, 10 s.
    expect(limiter.deferralMs('e', 10_000, waiter('a'))).toBe(10_000); // twice 10 s / 2
    expect(limiter.deferralMs('e', 10_000, waiter('b'))).toBe(20_000);
    expect(limiter.deferralMs('e', 10_000, waiter('a'))).toBe(10_000); // back early: still first
    for (let i = 0; i < 200; i++) limiter.deferralMs('e', 10_000, waiter(`w${i}`));
    expect(limiter.deferralMs('e', 10_000, waiter('last'))).toBe(MAX_QUEUED_FALLBACK_MS);
    expect(limiter.waiting('e')).toBe(203);
  });

  it('wakes a waiter at once when a slot freed while it was being deferred', async () => {
    const { limiter, woken, waiter } = setUp(1);
    const held = limiter.tryAcquire('e')!;
    expect(limiter.tryAcquire('e', 'a')).toBeUndefined();
    held(); // freed before a's deferral was queued
    limiter.deferralMs('e', 10_000, waiter('a'));
    await settle();
    expect(woken).toEqual(['a']);
    expect(limiter.tryAcquire('e', 'a')).toBeTypeOf('function');
  });
});
