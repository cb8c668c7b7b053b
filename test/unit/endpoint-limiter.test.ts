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
    now = 9_000; // both have held their slots 9 s, none has finished yet
    // A slot should free up about every 9 s / 2: each deferral queues after the previous one.
    expect(limiter.deferralMs('slow')).toBe(4_500);
    expect(limiter.deferralMs('slow')).toBe(9_000);
    expect(limiter.deferralMs('slow')).toBe(13_500);
    first();
    expect(limiter.tryAcquire('slow')).toBeTypeOf('function');
  });

  it('learns the hold time from finished attempts and keeps waits within bounds', () => {
    let now = 0;
    const limiter = createEndpointLimiter(1, () => now);
    limiter.tryAcquire('fast')!();
    limiter.tryAcquire('fast');
    expect(limiter.deferralMs('fast')).toBe(MIN_DEFERRAL_MS); // nothing measured: as short as allowed

    const slow = createEndpointLimiter(1, () => now);
    const held = slow.tryAcquire('slow')!;
    now = 600_000;
    held();
    slow.tryAcquire('slow');
    expect(slow.deferralMs('slow')).toBe(MAX_DEFERRAL_MS);
  });

  it('forgets an endpoint once nothing is in flight or queued', () => {
    let now = 0;
    const limiter = createEndpointLimiter(1, () => now);
    const release = limiter.tryAcquire('a')!;
    now = 100;
    limiter.deferralMs('a'); // queued until 600 at the earliest turn
    release();
    expect(limiter.inFlight('a')).toBe(0);
    expect(limiter.tryAcquire('a')).toBeTypeOf('function');
  });
});
