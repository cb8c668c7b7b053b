// Latency: events arrive at a fixed open-loop rate; how long from the insert into
// `webhook_events` to the receiver's receipt? Baselines at the same rates: the Temporal
// floor's start-to-activity and the transport floor's send-to-receipt.
import type { BenchContext } from '../lib/context';
import { FLOOR_TRACK_NAME, openFloorScope, type FloorScope } from '../lib/floor-runner';
import { beginWindow, type WindowFootprint } from '../lib/measure';
import { measureOpenLoop, type OpenLoopFigures } from '../lib/open-loop-pipeline';
import { openHookrelayScope, seedSubscribers, type HookrelayScope } from '../lib/pipeline';
import { summarizeLatencies, type LatencySummary } from '../lib/stats';
import { transportLatency, type TransportLatency } from '../lib/transport-floor';

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
  const { warmupS, durationS, drainS } = ctx.profile.latency;
  const { figures } = await measureOpenLoop(ctx, scope, { organizationId: ORGANIZATION, ratePerS, warmupS, durationS, drainS });
  return figures;
}
