import { describe, expect, it } from 'vitest';
import {
  createEndpointLimiter,
  MAX_DEFERRAL_MS,
  MAX_QUEUED_DEFERRAL_MS,
  MIN_DEFERRAL_MS,
  QUEUED_DEFERRAL_MARGIN_MS,
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

/** Scheduled callbacks run only when a test says so. */
function manualScheduler() {
  const pending = new Set<() => void>();
  return {
    schedule(fn: () => void) {
      pending.add(fn);
      return () => pending.delete(fn);
    },
    runAll() {
      const due = [...pending];
      pending.clear();
      for (const fn of due) fn();
    },
    get size() {
      return pending.size;
    },
  };
}

describe('endpoint limiter turns', () => {
  /** A turn request that records when it is told, and can be told to fail. */
  function waiter(ticket: string, told: string[], fails = false) {
    return {
      ticket,
      notify: async () => {
        told.push(ticket);
        if (fails) throw new Error('workflow closed');
      },
    };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('keeps a freed slot for the oldest queued attempt and tells it, not a newcomer', async () => {
    let now = 0;
    const timers = manualScheduler();
    const limiter = createEndpointLimiter(1, { clock: () => now, schedule: timers.schedule });
    const told: string[] = [];
    const first = limiter.tryAcquire('e', 'd0')!;
    expect(limiter.tryAcquire('e', 'd1')).toBeUndefined();
    limiter.deferralMs('e', 10_000, waiter('d1', told));
    expect(limiter.tryAcquire('e', 'd2')).toBeUndefined();
    limiter.deferralMs('e', 10_000, waiter('d2', told));
    expect(limiter.queued('e')).toBe(2);

    now = 1_000;
    first();
    await settle();
    expect(told).toEqual(['d1']);
    // The slot is d1's: a newcomer and the next in line find the endpoint full.
    expect(limiter.tryAcquire('e', 'd3')).toBeUndefined();
    expect(limiter.tryAcquire('e', 'd2')).toBeUndefined();
    const second = limiter.tryAcquire('e', 'd1');
    expect(second).toBeTypeOf('function');
    expect(limiter.queued('e')).toBe(1);
    expect(timers.size).toBe(0); // the hold's expiry was cancelled when d1 claimed it

    second!();
    await settle();
    expect(told).toEqual(['d1', 'd2']);
  });

  it('passes a kept slot on when its attempt does not come within the hold, or cannot be told', async () => {
    const timers = manualScheduler();
    const limiter = createEndpointLimiter(1, { schedule: timers.schedule });
    const told: string[] = [];
    const release = limiter.tryAcquire('e')!;
    for (const [ticket, fails] of [['gone', true], ['late', false], ['next', false]] as const) {
      limiter.tryAcquire('e', ticket);
      limiter.deferralMs('e', 10_000, waiter(ticket, told, fails));
    }
    release();
    await settle();
    // 'gone' could not be told: its slot went to 'late' at once.
    expect(told).toEqual(['gone', 'late']);
    timers.runAll(); // 'late' never came for its slot within TURN_HOLD_MS
    await settle();
    expect(told).toEqual(['gone', 'late', 'next']);
    expect(limiter.tryAcquire('e', 'late')).toBeUndefined();
    expect(limiter.tryAcquire('e', 'next')).toBeTypeOf('function');
  });

  it('lets an attempt that comes back on its timer keep its place in the queue', async () => {
    let now = 0;
    const limiter = createEndpointLimiter(1, { clock: () => now, schedule: manualScheduler().schedule });
    const told: string[] = [];
    const release = limiter.tryAcquire('e')!;
    limiter.deferralMs('e', 10_000, waiter('a', told));
    limiter.deferralMs('e', 10_000, waiter('b', told));
    now = 5_000;
    expect(limiter.tryAcquire('e', 'a')).toBeUndefined(); // back before its turn: still full
    limiter.deferralMs('e', 10_000, waiter('a', told));
    expect(limiter.queued('e')).toBe(2);
    release();
    await settle();
    expect(told).toEqual(['a']);
  });

  it('gives queued attempts a fallback past their expected turn, spread when far off', () => {
    let now = 0;
    let draw = 0;
    const limiter = createEndpointLimiter(2, { clock: () => now, random: () => draw, schedule: manualScheduler().schedule });
    const told: string[] = [];
    limiter.tryAcquire('e');
    limiter.tryAcquire('e');
    now = 9_000; // a slot frees up about every 9 s / 2
    expect(limiter.deferralMs('e', 5_000, waiter('1', told))).toBe(2 * 4_500 + QUEUED_DEFERRAL_MARGIN_MS);
    expect(limiter.deferralMs('e', 5_000, waiter('2', told))).toBe(2 * 9_000 + QUEUED_DEFERRAL_MARGIN_MS);
    for (let i = 3; i < 40; i++) limiter.deferralMs('e', 5_000, waiter(String(i), told));
    // The 40th is expected in 180 s: its fallback would be 370 s, past the longest.
    draw = 0;
    expect(limiter.deferralMs('e', 5_000, waiter('40', told))).toBe(MAX_QUEUED_DEFERRAL_MS / 2);
    draw = 0.999;
    expect(limiter.deferralMs('e', 5_000, waiter('41', told))).toBeLessThanOrEqual(MAX_QUEUED_DEFERRAL_MS);
    expect(limiter.queued('e')).toBe(41);
    // Without a turn request, the old horizon still holds.
    expect(limiter.deferralMs('e', 5_000)).toBeLessThanOrEqual(MAX_DEFERRAL_MS);
  });

  it('skips queued attempts long past their fallback: they came back elsewhere or gave up', async () => {
    let now = 0;
    const limiter = createEndpointLimiter(1, { clock: () => now, schedule: manualScheduler().schedule });
    const told: string[] = [];
    const release = limiter.tryAcquire('e')!;
    const fallbackMs = limiter.deferralMs('e', 1_000, waiter('stale', told));
    now = 100;
    limiter.deferralMs('e', 1_000, waiter('fresh', told));
    now = fallbackMs + 61_000;
    limiter.deferralMs('e', 1_000, waiter('fresh', told)); // fresh came back meanwhile
    release();
    await settle();
    expect(told).toEqual(['fresh']);
    expect(limiter.queued('e')).toBe(0);
  });
});
