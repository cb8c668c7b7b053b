import { describe, expect, it } from 'vitest';
import { arrivalOffsetsMs } from '../../bench/lib/load';

describe('bench arrivals', () => {
  it('spaces fixed arrivals one every 1/rate seconds', () => {
    expect(arrivalOffsetsMs(4, 10, { kind: 'fixed' })).toEqual([0, 100, 200, 300]);
  });

  it('draws Poisson arrivals at the mean rate, the same for the same seed', () => {
    const offsets = arrivalOffsetsMs(1000, 10, { kind: 'poisson', seed: 7 });
    expect(offsets).toEqual(arrivalOffsetsMs(1000, 10, { kind: 'poisson', seed: 7 }));
    expect(offsets).not.toEqual(arrivalOffsetsMs(1000, 10, { kind: 'poisson', seed: 8 }));
    expect(offsets[0]).toBe(0);
    const gaps = offsets.slice(1).map((at, i) => at - offsets[i]!);
    expect(gaps.every((gap) => gap >= 0)).toBe(true);
    // 999 exponential gaps of mean 100 ms: their mean is within a few percent of it,
    // and about e^-1 of them are longer than the mean (fixed spacing: none, or all).
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    expect(mean).toBeGreaterThan(90);
    expect(mean).toBeLessThan(110);
    const longer = gaps.filter((gap) => gap > 100).length / gaps.length;
    expect(longer).toBeGreaterThan(0.3);
    expect(longer).toBeLessThan(0.44);
  });
});
