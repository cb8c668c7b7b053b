import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Longest wait, after a run's last receipt, for its workflows to finish. */
export const CLOSE_WAIT_MS = 30_000;

export interface OpenLoopResult {
  /** Ticks fired. */
  sent: number;
  /** How late the latest tick fired after its due time, ms: shows the generator kept up. */
  maxLagMs: number;
}

/**
 * Fires `tick(i)` at a fixed rate for `durationMs`, whatever the system under test does
 * (open loop: a slow answer never delays the next arrival). Ticks are not awaited here;
 * `tick` keeps its own promises. Stops early when `signal` aborts.
 */
export async function openLoop(options: {
  ratePerS: number;
  durationMs: number;
  tick: (index: number) => void;
  signal?: AbortSignal;
}): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round((options.ratePerS * options.durationMs) / 1000));
  const intervalMs = 1000 / options.ratePerS;
  const startedAt = performance.now();
  let maxLagMs = 0;
  let sent = 0;
  for (let index = 0; index < total; index++) {
    if (options.signal?.aborted) break;
    const due = startedAt + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    options.tick(index);
    sent++;
  }
  return { sent, maxLagMs: Math.round(maxLagMs * 10) / 10 };
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
