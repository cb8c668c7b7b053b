import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRng } from '../../chaos/lib/rng';

/** Longest wait, after a run's last receipt, for its workflows to finish. */
export const CLOSE_WAIT_MS = 30_000;

export interface OpenLoopResult {
  /** Ticks fired. */
  sent: number;
  /** How late the latest tick fired after its due time, ms: shows the generator kept up. */
  maxLagMs: number;
}

/**
 * How arrivals are spaced: `fixed`, one every 1/rate seconds; `poisson`, independent
 * arrivals at the same mean rate, drawn from `seed` so that a run can be repeated.
 */
export type Arrivals = { kind: 'fixed' } | { kind: 'poisson'; seed: number };

/**
 * Fires `tick(i)` `ratePerS × durationMs / 1000` times within `durationMs` (fixed
 * spacing unless `arrivals` says otherwise), whatever the system under test does (open loop: a slow
 * answer never delays the next arrival). Ticks are not awaited here; `tick` keeps its
 * own promises. Stops early when `signal` aborts.
 */
export async function openLoop(options: {
  ratePerS: number;
  durationMs: number;
  tick: (index: number) => void;
  arrivals?: Arrivals;
  signal?: AbortSignal;
}): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round((options.ratePerS * options.durationMs) / 1000));
  const offsetsMs = arrivalOffsetsMs(total, options.ratePerS, options.arrivals ?? { kind: 'fixed' });
  const startedAt = performance.now();
  let maxLagMs = 0;
  let sent = 0;
  for (let index = 0; index < total; index++) {
    if (options.signal?.aborted) break;
    const due = startedAt + offsetsMs[index]!;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    options.tick(index);
    sent++;
  }
  return { sent, maxLagMs: Math.round(maxLagMs * 10) / 10 };
}

/**
 * When each of `count` arrivals is due, ms from the start of a window of `count / ratePerS`
 * seconds. Poisson: `count` independent uniform times in the window, in order, which is a
 * Poisson process at that rate given that it has `count` arrivals. Drawing exponential gaps
 * instead would make the window itself random, and some events would fall after it.
 */
export function arrivalOffsetsMs(count: number, ratePerS: number, arrivals: Arrivals): number[] {
  const meanGapMs = 1000 / ratePerS;
  if (arrivals.kind === 'fixed') return Array.from({ length: count }, (_, index) => index * meanGapMs);
  const rng = createRng(arrivals.seed);
  const windowMs = count * meanGapMs;
  return Array.from({ length: count }, () => rng.next() * windowMs).sort((a, b) => a - b);
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function withConcurrency(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count && !signal?.aborted) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/** Polls `check` every `intervalMs` until it returns true; false when `timeoutMs` passes first. */
export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 250,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline || signal?.aborted) return false;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
