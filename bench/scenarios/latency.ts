// Latency: events arrive at a fixed open-loop rate; how long from the insert into
// `webhook_events` to the receiver's receipt? Baselines at the same rates: the Temporal
// floor's start-to-activity and the transport floor's send-to-receipt.
import { performance } from 'node:perf_hooks';
import { insertEvent } from '../../src/store/event-store';
import type { BenchContext } from '../lib/context';
import { FLOOR_TRACK_NAME, openFloorScope, type FloorScope } from '../lib/floor-runner';
import { openLoop, pollUntil } from '../lib/load';
import { beginWindow, type WindowFootprint } from '../lib/measure';
import { benchEvent, openHookrelayScope, seedSubscribers, trackName, type HookrelayScope } from '../lib/pipeline';
import { summarizeLatencies, type LatencySummary } from '../lib/stats';
import { transportLatency, type TransportLatency } from '../lib/transport-floor';

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

export interface LatencyAtRate {
  ratePerS: number;
  /** Insert into webhook_events → receipt in the receiver (one subscriber). */
  pipeline: OpenLoopFigures & { footprint: WindowFootprint };
  /** client.workflow.start → the no-op activity runs (one activity). */
  floor: OpenLoopFigures & { footprint: WindowFootprint };
  /** undici POST → receipt, no Temporal in between. */
  transport: { sent: number; latencyMs: LatencySummary };
}

export interface LatencyResult {
  fanOut: 1;
  warmupS: number;
  durationS: number;
  rates: LatencyAtRate[];
}

const ORGANIZATION = 'org_bench_latency';

export async function runLatencyScenario(ctx: BenchContext): Promise<LatencyResult> {
  const settings = ctx.profile.latency;
  const transport: TransportLatency[] = [];
  for (const ratePerS of settings.ratesPerS) {
    ctx.log(`latency: transport floor at ${ratePerS}/s for ${settings.transportDurationS} s`);
    transport.push(
      await transportLatency(ctx, {
        ratePerS,
        warmupS: Math.min(settings.warmupS, 1),
        durationS: settings.transportDurationS,
        drainS: settings.drainS,
      }),
    );
  }

  // The floor runs first, alone: a hookrelay process standing by keeps a change stream
  // open, which the MongoDB stand-in serves by busy polling.
  const seconds = settings.warmupS + settings.durationS;
  const floor: Array<LatencyAtRate['floor']> = [];
  const floorScope = await openFloorScope(ctx, 'latency');
  try {
    for (const ratePerS of settings.ratesPerS) {
      ctx.log(`latency: Temporal floor at ${ratePerS} workflows/s for ${seconds} s`);
      floor.push(await floorAtRate(ctx, floorScope, ratePerS));
      ctx.log(`  floor start-to-activity p50 ${floor[floor.length - 1]!.latencyMs.p50} ms`);
    }
  } finally {
    await floorScope.close();
  }

  const pipeline: Array<LatencyAtRate['pipeline']> = [];
  const scope = await openHookrelayScope(ctx, 'latency', ['start']);
  try {
    await seedSubscribers(ctx, scope.db, { organizationId: ORGANIZATION, healthy: 1 });
    for (const ratePerS of settings.ratesPerS) {
      ctx.log(`latency: hookrelay at ${ratePerS} events/s for ${seconds} s`);
      pipeline.push(await pipelineAtRate(ctx, scope, ratePerS));
      ctx.log(`  hookrelay insert-to-receipt p50 ${pipeline[pipeline.length - 1]!.latencyMs.p50} ms`);
    }
  } finally {
    await scope.close();
  }

  return {
    fanOut: 1,
    warmupS: settings.warmupS,
    durationS: settings.durationS,
    rates: settings.ratesPerS.map((ratePerS, i) => ({
      ratePerS,
      pipeline: pipeline[i]!,
      floor: floor[i]!,
      transport: { sent: transport[i]!.sent, latencyMs: transport[i]!.latencyMs },
    })),
  };
}

/** Starts floor workflows at `ratePerS` (open loop) and times each until its activity runs. */
async function floorAtRate(ctx: BenchContext, scope: FloorScope, ratePerS: number): Promise<LatencyAtRate['floor']> {
  const settings = ctx.profile.latency;
  const window = beginWindow(ctx.sampler, [FLOOR_TRACK_NAME]);
  const result = await scope.floor.latency({
    runId: `latency-${ratePerS}-${ctx.runTag}`,
    ratePerS,
    warmupMs: settings.warmupS * 1000,
    durationMs: settings.durationS * 1000,
    drainMs: settings.drainS * 1000,
  });
  return {
    sent: result.sent,
    measured: result.measured,
    received: result.received,
    maxLagMs: result.maxLagMs,
    latencyMs: summarizeLatencies(result.latenciesMs),
    footprint: window.end(result.received),
  };
}

/** Inserts events one by one at `ratePerS` (open loop) and times each until its receipt. */
async function pipelineAtRate(ctx: BenchContext, scope: HookrelayScope, ratePerS: number): Promise<LatencyAtRate['pipeline']> {
  const settings = ctx.profile.latency;
  const warmupCount = Math.round(ratePerS * settings.warmupS);
  const insertedAt = new Map<string, { at: number; measured: boolean }>();
  const inserts: Array<Promise<unknown>> = [];
  let insertErrors = 0;
  ctx.receiver.reset();
  const window = beginWindow(ctx.sampler, scope.processes.map((child) => trackName(child.role)));
  const loop = await openLoop({
    ratePerS,
    durationMs: (settings.warmupS + settings.durationS) * 1000,
    signal: ctx.signal,
    tick: (index) => {
      const event = benchEvent(ORGANIZATION);
      insertedAt.set(event._id, { at: performance.now(), measured: index >= warmupCount });
      inserts.push(insertEvent(scope.db, event).catch(() => insertErrors++));
    },
  });
  await Promise.all(inserts);
  await pollUntil(
    () => ctx.receiver.receipts.length >= loop.sent - insertErrors,
    settings.drainS * 1000,
    50,
    ctx.signal,
  );
  const receipts = [...ctx.receiver.receipts];
  const footprint = window.end(receipts.length);
  const latencies = receipts.flatMap((receipt) => {
    const inserted = insertedAt.get(receipt.eventId);
    insertedAt.delete(receipt.eventId);
    return inserted?.measured ? [receipt.at - inserted.at] : [];
  });
  // Events still undelivered after the drain count with the time they have waited so
  // far: the percentiles stay conservative (lower bounds) instead of ignoring them.
  const now = performance.now();
  for (const inserted of insertedAt.values()) if (inserted.measured) latencies.push(now - inserted.at);
  return {
    sent: loop.sent,
    measured: Math.max(0, loop.sent - warmupCount),
    received: receipts.length,
    maxLagMs: loop.maxLagMs,
    latencyMs: summarizeLatencies(latencies),
    footprint,
  };
}
