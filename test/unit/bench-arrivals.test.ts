import { describe, expect, it } from 'vitest';
import { arrivalOffsetsMs } from '../../bench/lib/load';

describe('bench arrivals', () => {
  it('spaces fixed arrivals one every 1/rate seconds', () => {
    expect(arrivalOffsetsMs(4, 10, { kind: 'fixed' })).toEqual([0, 100, 200, 300]);
  });

  it('draws Poisson arrivals at the rate, within the window, the same for the same seed', () => {
    const offsets = arrivalOffsetsMs(1000, 10, { kind: 'poisson', seed: 7 });
    expect(offsets).toEqual(arrivalOffsetsMs(1000, 10, { kind: 'poisson', seed: 7 }));
    expect(offsets).not.toEqual(arrivalOffsetsMs(1000, 10, { kind: 'poisson', seed: 8 }));
    // All 1,000 fall inside the 100 s window, in order.
    expect(offsets).toHaveLength(1000);
    expect(offsets[0]).toBeGreaterThanOrEqual(0);
    expect(offsets.at(-1)).toBeLessThan(100_000);
    const gaps = offsets.slice(1).map((at, i) => at - offsets[i]!);
    expect(gaps.every((gap) => gap >= 0)).toBe(true);
    // Independent arrivals: about e^-1 of the gaps are longer than the 100 ms mean, and
    // some are under a tenth of it (fixed spacing: none of either).
    const longer = gaps.filter((gap) => gap > 100).length / gaps.length;
    expect(longer).toBeGreaterThan(0.3);
    expect(longer).toBeLessThan(0.44);
    const short = gaps.filter((gap) => gap < 10).length / gaps.length;
    expect(short).toBeGreaterThan(0.05);
    expect(short).toBeLessThan(0.15);
    // Each tenth of the window holds about a tenth of them.
    for (let tenth = 0; tenth < 10; tenth++) {
      const inside = offsets.filter((at) => at >= tenth * 10_000 && at < (tenth + 1) * 10_000).length;
      expect(inside, `tenth ${tenth}`).toBeGreaterThan(60);
      expect(inside, `tenth ${tenth}`).toBeLessThan(140);
    }
  });
});
