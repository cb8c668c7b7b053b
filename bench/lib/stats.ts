/** Small statistics helpers: percentiles of latency samples and steady-state rates. */

export interface LatencySummary {
  /** Samples that went into the percentiles. */
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (p in 0..100) of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1]! : Number.NaN),
    mean: round(sorted.length ? sum / sorted.length : Number.NaN),
  };
}

export interface RateSummary {
  /** Items per second between the warm-up and drain cut-offs. */
  steadyPerS: number;
  /** Items per second from the first to the last item. */
  overallPerS: number;
  /** Items counted. */
  count: number;
  /** Seconds from the first to the last item. */
  spanS: number;
}

/**
 * Steady-state rate of a run that completed `expected` items at the given times (ms):
 * the items between the `from` and `to` fractions of `expected` (default 20 % .. 90 %),
 * divided by the time between them. Warm-up (workers filling, JIT) and the drain tail
 * (too little work left to keep every slot busy) are left out.
 */
export function steadyRate(times: readonly number[], expected: number, from = 0.2, to = 0.9): RateSummary {
  const sorted = [...times].sort((a, b) => a - b);
  const count = sorted.length;
  const spanMs = count > 1 ? sorted[count - 1]! - sorted[0]! : 0;
  const overall = spanMs > 0 ? ((count - 1) * 1000) / spanMs : Number.NaN;
  const first = Math.floor(from * expected);
  const last = Math.min(count, Math.ceil(to * expected)) - 1;
  let steady = Number.NaN;
  if (last > first) {
    const ms = sorted[last]! - sorted[first]!;
    if (ms > 0) steady = ((last - first) * 1000) / ms;
  }
  return { steadyPerS: round(steady, 1), overallPerS: round(overall, 1), count, spanS: round(spanMs / 1000, 2) };
}

/** Rounds to `digits` decimals (2 by default); keeps NaN as is. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** a / b rounded, NaN when either side is missing. */
export function ratio(a: number, b: number, digits = 2): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? round(a / b, digits) : Number.NaN;
}
