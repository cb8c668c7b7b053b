import { performance } from 'node:perf_hooks';
import { insertEvent } from '../../src/store/event-store';
import type { BenchContext } from './context';
import { openLoop, pollUntil } from './load';
import { beginWindow, type WindowFootprint } from './measure';
import { benchEvent, trackName, type HookrelayScope } from './pipeline';
import { summarizeLatencies, type LatencySummary } from './stats';

export interface OpenLoopFigures {
  sent: number;
  /**
   * Arrivals after the warm-up, whose latency counts. Those not received by the end of
   * the drain count with the time they had waited then (a lower bound).
   */
  measured: number;
  received: number;
  /** Latest an arrival fired after its due time, ms (the generator kept up if small). */
  maxLagMs: number;
  latencyMs: LatencySummary;
}

/** One measured arrival: when it was inserted (performance.now()) and how long it took. */
export interface OpenLoopSample {
  eventId: string;
  insertedAt: number;
  latencyMs: number;
}

export interface OpenLoopMeasurement {
  figures: OpenLoopFigures & { footprint: WindowFootprint };
  /** Every measured arrival, for callers that split the window. */
  samples: OpenLoopSample[];
}

/**
 * Inserts events of the organization one by one at `ratePerS` (open loop) into the
 * scope's `webhook_events` and times each until its receipt at the bench receiver. The
 * organization's subscribers must point at `ctx.receiver`; its receipts are reset first.
 */
export async function measureOpenLoop(
  ctx: BenchContext,
  scope: HookrelayScope,
  options: { organizationId: string; ratePerS: number; warmupS: number; durationS: number; drainS: number },
): Promise<OpenLoopMeasurement> {
  const warmupCount = Math.round(options.ratePerS * options.warmupS);
  const insertedAt = new Map<string, { at: number; measured: boolean }>();
  const inserts: Array<Promise<unknown>> = [];
  let insertErrors = 0;
  ctx.receiver.reset();
  const window = beginWindow(ctx.sampler, scope.processes.map((child) => trackName(child.role)));
  const loop = await openLoop({
    ratePerS: options.ratePerS,
    durationMs: (options.warmupS + options.durationS) * 1000,
    signal: ctx.signal,
    tick: (index) => {
      const event = benchEvent(options.organizationId);
      insertedAt.set(event._id, { at: performance.now(), measured: index >= warmupCount });
      inserts.push(insertEvent(scope.db, event).catch(() => insertErrors++));
    },
  });
  await Promise.all(inserts);
  await pollUntil(
    () => ctx.receiver.receipts.length >= loop.sent - insertErrors,
    options.drainS * 1000,
    50,
    ctx.signal,
  );
  const receipts = [...ctx.receiver.receipts];
  const footprint = window.end(receipts.length);
  const samples = receipts.flatMap((receipt) => {
    const inserted = insertedAt.get(receipt.eventId);
    insertedAt.delete(receipt.eventId);
    return inserted?.measured ? [{ eventId: receipt.eventId, insertedAt: inserted.at, latencyMs: receipt.at - inserted.at }] : [];
  });
  // Events still undelivered after the drain count with the time they have waited so
  // far: the percentiles stay conservative (lower bounds) instead of ignoring them.
  const now = performance.now();
  for (const [eventId, inserted] of insertedAt) {
    if (inserted.measured) samples.push({ eventId, insertedAt: inserted.at, latencyMs: now - inserted.at });
  }
  return {
    figures: {
      sent: loop.sent,
      measured: Math.max(0, loop.sent - warmupCount),
      received: receipts.length,
      maxLagMs: loop.maxLagMs,
      latencyMs: summarizeLatencies(samples.map((sample) => sample.latencyMs)),
      footprint,
    },
    samples,
  };
}
