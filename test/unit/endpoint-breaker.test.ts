import { describe, expect, it } from 'vitest';
import { createEndpointBreaker, FIRST_COOLDOWN_MS, MAX_COOLDOWN_MS } from '../../src/delivery/endpoint-breaker';

describe('endpoint breaker', () => {
  it('opens after the threshold of failures in a row and defers attempts for the cooling period', () => {
    let now = 0;
    const breaker = createEndpointBreaker(3, () => now, () => 0);
    for (let i = 0; i < 2; i++) {
      expect(breaker.admit('dead')).toEqual({ send: true, probe: false });
      breaker.failed('dead', false);
    }
    expect(breaker.admit('dead')).toEqual({ send: true, probe: false });
    breaker.failed('dead', false); // third in a row: open
    expect(breaker.admit('dead')).toEqual({ send: false, waitMs: FIRST_COOLDOWN_MS });
    now = 1_000;
    expect(breaker.admit('dead')).toEqual({ send: false, waitMs: FIRST_COOLDOWN_MS - 1_000 });
    expect(breaker.admit('other')).toEqual({ send: true, probe: false });
  });

  it('a success in between starts the count again', () => {
    const breaker = createEndpointBreaker(2, () => 0);
    breaker.failed('e', false);
    breaker.succeeded('e');
    breaker.failed('e', false);
    expect(breaker.admit('e')).toEqual({ send: true, probe: false });
  });

  it('lets one probe through after the period; a failed probe doubles the period, a good one closes', () => {
    let now = 0;
    const breaker = createEndpointBreaker(1, () => now, () => 0);
    breaker.failed('e', false);
    now = FIRST_COOLDOWN_MS;
    expect(breaker.admit('e')).toEqual({ send: true, probe: true });
    expect(breaker.admit('e')).toEqual({ send: false, waitMs: 0 }); // one probe at a time
    breaker.failed('e', false); // an attempt sent before the endpoint opened: changes nothing
    expect(breaker.admit('e').send).toBe(false);
    breaker.failed('e', true);
    expect(breaker.admit('e')).toEqual({ send: false, waitMs: 2 * FIRST_COOLDOWN_MS });
    for (let i = 0; i < 10; i++) {
      now += MAX_COOLDOWN_MS;
      expect(breaker.admit('e')).toEqual({ send: true, probe: true });
      breaker.failed('e', true);
    }
    expect(breaker.admit('e')).toEqual({ send: false, waitMs: MAX_COOLDOWN_MS });
    now += MAX_COOLDOWN_MS;
    expect(breaker.admit('e')).toEqual({ send: true, probe: true });
    breaker.succeeded('e');
    expect(breaker.admit('e')).toEqual({ send: true, probe: false });
  });

  it('spreads deferred attempts over the period so they do not return together', () => {
    const breaker = createEndpointBreaker(1, () => 0, () => 0.5);
    breaker.failed('e', false);
    expect(breaker.admit('e')).toEqual({ send: false, waitMs: FIRST_COOLDOWN_MS * 1.5 });
  });

  it('never opens with a threshold of 0', () => {
    const breaker = createEndpointBreaker(0, () => 0);
    for (let i = 0; i < 100; i++) breaker.failed('e', false);
    expect(breaker.admit('e')).toEqual({ send: true, probe: false });
  });
});
