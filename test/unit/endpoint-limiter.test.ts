import { describe, expect, it } from 'vitest';
import {
  createEndpointLimiter,
  MAX_DEFERRAL_MS,
  MAX_QUEUED_DEFERRAL_MS,
  MIN_DEFERRAL_MS,
  MAX_QUEUED_PER_ENDPOINT,
  NOTICE_TIMEOUT_MS,
  QUEUE_SWEEP_MS,
  QUEUED_DEFERRAL_MARGIN_MS,
  STALE_AFTER_MS,
  type TurnRequest,
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
    expect(limiter.defer('slow', 5_000).waitMs).toBe(4_500);
    expect(limiter.defer('slow', 5_000).waitMs).toBe(9_000);
    expect(limiter.defer('slow', 5_000).waitMs).toBe(13_500);
    first();
    expect(limiter.tryAcquire('slow')).toBeTypeOf('function');
  });

  it('assumes attempts take their timeout until one finishes, then learns how long they take', () => {
    let now = 0;
    const limiter = createEndpointLimiter(2, { clock: () => now });
    const a = limiter.tryAcquire('e')!;
    const b = limiter.tryAcquire('e')!;
    expect(limiter.defer('e', 10_000).waitMs).toBe(5_000); // 10 s / 2 slots
    now = 100;
    a();
    b(); // both held 100 ms
    now = 6_000; // past the queued turn
    limiter.tryAcquire('e');
    limiter.tryAcquire('e');
    // A slot should free up within 100 ms / 2: as soon as the minimum allows.
    expect(limiter.defer('e', 10_000).waitMs).toBe(MIN_DEFERRAL_MS);
  });

  it('spreads attempts queued beyond the horizon over its second half', () => {
    const now = 0;
    let draw = 0;
    const limiter = createEndpointLimiter(1, { clock: () => now, random: () => draw });
    limiter.tryAcquire('dead');
    expect(limiter.defer('dead', 30_000).waitMs).toBe(30_000);
    expect(limiter.defer('dead', 30_000).waitMs).toBe(60_000);
    draw = 0;
    expect(limiter.defer('dead', 30_000).waitMs).toBe(MAX_DEFERRAL_MS / 2);
    draw = 0.999;
    expect(limiter.defer('dead', 30_000).waitMs).toBeLessThanOrEqual(MAX_DEFERRAL_MS);
    expect(limiter.defer('dead', 30_000).waitMs).toBeGreaterThan(MAX_DEFERRAL_MS * 0.99);
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
    expect(limiter.defer('e', 30_000).waitMs).toBe(5_000);
  });

  it('forgets an idle endpoint but not how long its attempts took', () => {
    let now = 0;
    const limiter = createEndpointLimiter(1, { clock: () => now });
    const release = limiter.tryAcquire('a')!;
    now = 2_000;
    release();
    expect(limiter.inFlight('a')).toBe(0);
    limiter.tryAcquire('a');
    expect(limiter.defer('a', 30_000).waitMs).toBe(2_000);
  });
});

/** Scheduled callbacks run only when a test says so. */
function manualScheduler() {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    schedule(fn: () => void, ms: number) {
      const entry = { fn, ms };
      pending.push(entry);
      return () => void pending.splice(pending.indexOf(entry) >>> 0, 1);
    },
    runAll() {
      for (const { fn } of pending.splice(0)) fn();
    },
    get delays() {
      return pending.map((p) => p.ms);
    },
  };
}

/** A turn request that records when its workflow is told; its run may have closed, or Temporal be unreachable. */
function turnOf(ticket: string, told: string[], run: 'open' | 'closed' | 'unreachable' = 'open'): TurnRequest {
  return {
    ticket,
    notify: async () => {
      told.push(ticket);
      if (run === 'unreachable') throw new Error('connection refused');
      return run === 'open';
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('endpoint limiter turns', () => {
  /**
   * One slot held 100 s: the first deferral's turn is 100 s away, past the one-minute
   * horizon, so attempts that bring a turn request queue from the start.
   */
  function slowEndpoint() {
    const clock = { now: 0 };
    const timers = manualScheduler();
    const limiter = createEndpointLimiter(1, { clock: () => clock.now, random: () => 0.5, schedule: timers.schedule });
    const release = limiter.tryAcquire('e')!;
    clock.now = 100_000;
    return { clock, timers, limiter, release };
  }

  it('queues attempts whose turn lies past the horizon and tells the first when a slot frees up', async () => {
    const { clock, limiter, release } = slowEndpoint();
    const told: string[] = [];
    expect(limiter.defer('e', 1_000, turnOf('a', told))).toEqual({ waitMs: 2 * 100_000 + QUEUED_DEFERRAL_MARGIN_MS, queued: true });
    expect(limiter.defer('e', 1_000, turnOf('b', told)).queued).toBe(true);
    expect(limiter.queued('e')).toBe(2);
    clock.now = 150_000;
    release();
    await settle();
    expect(told).toEqual(['a']);
    // No slot is held for it: whoever comes first gets it, and 'a' keeps its place.
    const other = limiter.tryAcquire('e', 'newcomer')!;
    expect(limiter.tryAcquire('e', 'a')).toBeUndefined();
    expect(limiter.defer('e', 1_000, turnOf('a', told)).queued).toBe(true);
    expect(limiter.queued('e')).toBe(2);
    other();
    await settle();
    expect(told).toEqual(['a', 'a']); // told again, still first
    expect(limiter.tryAcquire('e', 'a')).toBeTypeOf('function');
    expect(limiter.queued('e')).toBe(1);
  });

  it('does not tell a notified attempt again, and drops it if it does not come back within the notice timeout', async () => {
    const { clock, limiter, release } = slowEndpoint();
    const told: string[] = [];
    limiter.defer('e', 1_000, turnOf('a', told));
    limiter.defer('e', 1_000, turnOf('b', told));
    release();
    await settle();
    // A newcomer took the slot and freed it again before 'a' came: the free slot is still 'a''s to take.
    limiter.tryAcquire('e')!();
    await settle();
    expect(told).toEqual(['a']);
    // 'a' never came (its attempt ran on another worker, or its delivery ended): 'b' is next.
    clock.now += NOTICE_TIMEOUT_MS;
    limiter.tryAcquire('e')!();
    await settle();
    expect(told).toEqual(['a', 'b']);
    expect(limiter.queued('e')).toBe(1);
  });

  it('still tells a full queue while later attempts wait by estimate', async () => {
    const { clock, limiter, release } = slowEndpoint();
    const told: string[] = [];
    for (let i = 0; i < MAX_QUEUED_PER_ENDPOINT; i++) limiter.defer('e', 1_000, turnOf(`q${i}`, told));
    expect(limiter.defer('e', 1_000, turnOf('overflow', told)).queued).toBe(false);
    clock.now += 1_000;
    limiter.defer('e', 1_000, turnOf('overflow2', told));
    release();
    await settle();
    expect(told).toEqual(['q0']);
  });

  it('sweeps out queued attempts that will not come back, and then forgets the endpoint', async () => {
    const clock = { now: 0 };
    const timers = manualScheduler();
    const limiter = createEndpointLimiter(1, { clock: () => clock.now, schedule: timers.schedule });
    limiter.tryAcquire('e'); // never released here: its attempt's process went away, say
    clock.now = 100_000;
    const fallbackMs = limiter.defer('e', 1_000, turnOf('a', [])).waitMs;
    expect(timers.delays).toEqual([QUEUE_SWEEP_MS]);
    timers.runAll();
    expect(limiter.queued('e')).toBe(1); // not yet past its fallback
    clock.now += fallbackMs + STALE_AFTER_MS + 1;
    timers.runAll();
    expect(limiter.queued('e')).toBe(0);
    expect(timers.delays).toEqual([]);
  });

  it('tells the next in line at once when a run has closed', async () => {
    const { limiter, release } = slowEndpoint();
    const told: string[] = [];
    limiter.defer('e', 1_000, turnOf('gone', told, 'closed'));
    limiter.defer('e', 1_000, turnOf('next', told));
    release();
    await settle();
    await settle();
    expect(told).toEqual(['gone', 'next']);
    expect(limiter.queued('e')).toBe(1);
  });

  it('keeps an attempt first in line when Temporal cannot be reached, and tries no other meanwhile', async () => {
    const { limiter, release } = slowEndpoint();
    const told: string[] = [];
    limiter.defer('e', 1_000, turnOf('first', told, 'unreachable'));
    limiter.defer('e', 1_000, turnOf('second', told));
    release();
    await settle();
    await settle();
    expect(told).toEqual(['first']);
    expect(limiter.queued('e')).toBe(2);
    // The next free slot tells it again at once, though its notice is recent.
    limiter.tryAcquire('e')!();
    await settle();
    expect(told).toEqual(['first', 'first']);
  });

  it('waits by estimate within the horizon, and tells the queue only once those attempts are due', async () => {
    const clock = { now: 0 };
    const timers = manualScheduler();
    const limiter = createEndpointLimiter(1, { clock: () => clock.now, schedule: timers.schedule });
    const release = limiter.tryAcquire('e')!;
    clock.now = 20_000; // held 20 s: a slot frees up about every 20 s
    const told: string[] = [];
    expect(limiter.defer('e', 1_000, turnOf('a', told))).toEqual({ waitMs: 20_000, queued: false });
    expect(limiter.defer('e', 1_000, turnOf('b', told))).toEqual({ waitMs: 40_000, queued: false });
    expect(limiter.defer('e', 1_000, turnOf('c', told))).toEqual({ waitMs: 60_000, queued: false });
    expect(limiter.defer('e', 1_000, turnOf('d', told)).queued).toBe(true);
    release();
    await settle();
    expect(told).toEqual([]); // the slot is for 'a', due by its estimate
    // The queue's sweep, and its notice once 'c' is due (60 s from now).
    expect(timers.delays).toEqual([QUEUE_SWEEP_MS, 60_000]);
    clock.now = 80_000;
    timers.runAll();
    await settle();
    expect(told).toEqual(['d']);
  });

  it('gives queued attempts a fallback past their expected turn, spread when far off', () => {
    const clock = { now: 0 };
    let draw = 0;
    const limiter = createEndpointLimiter(1, { clock: () => clock.now, random: () => draw, schedule: manualScheduler().schedule });
    const told: string[] = [];
    limiter.tryAcquire('e');
    clock.now = 100_000;
    expect(limiter.defer('e', 1_000, turnOf('1', told)).waitMs).toBe(2 * 100_000 + QUEUED_DEFERRAL_MARGIN_MS);
    // The second is expected in 200 s: its fallback would be 410 s, past the longest.
    expect(limiter.defer('e', 1_000, turnOf('2', told)).waitMs).toBe(MAX_QUEUED_DEFERRAL_MS / 2);
    draw = 0.999;
    const far = limiter.defer('e', 1_000, turnOf('3', told)).waitMs;
    expect(far).toBeLessThanOrEqual(MAX_QUEUED_DEFERRAL_MS);
    expect(far).toBeGreaterThan(MAX_QUEUED_DEFERRAL_MS * 0.99);
    // Without a turn request, an attempt past the horizon is spread within it.
    expect(limiter.defer('e', 1_000)).toMatchObject({ queued: false });
    expect(limiter.defer('e', 1_000).waitMs).toBeLessThanOrEqual(MAX_DEFERRAL_MS);
  });

  it('drops queued attempts long past their fallback: they came back elsewhere, or gave up', async () => {
    const { clock, limiter, release } = slowEndpoint();
    const told: string[] = [];
    const fallbackMs = limiter.defer('e', 1_000, turnOf('stale', told)).waitMs;
    limiter.defer('e', 1_000, turnOf('fresh', told));
    clock.now += fallbackMs + 61_000;
    limiter.defer('e', 1_000, turnOf('fresh', told)); // 'fresh' came back meanwhile
    release();
    await settle();
    expect(told).toEqual(['fresh']);
    expect(limiter.queued('e')).toBe(1);
  });
});
