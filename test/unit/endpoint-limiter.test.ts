import { describe, expect, it } from 'vitest';
import { createEndpointLimiter, MAX_DEFERRAL_MS, MIN_DEFERRAL_MS } from '../../src/delivery/endpoint-limiter';

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
    const limiter = createEndpointLimiter(2, () => now);
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
    const limiter = createEndpointLimiter(2, () => now);
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
    const limiter = createEndpointLimiter(1, () => now, () => draw);
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
    const limiter = createEndpointLimiter(1, () => now);
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
    const limiter = createEndpointLimiter(1, () => now);
    const release = limiter.tryAcquire('a')!;
    now = 2_000;
    release();
    expect(limiter.inFlight('a')).toBe(0);
    limiter.tryAcquire('a');
    expect(limiter.deferralMs('a', 30_000)).toBe(2_000);
  });
});
