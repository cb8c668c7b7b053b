// Throughput: a backlog of events at fan-out 1, 10 and 100 subscribers per event; how
// many deliveries per second does one box sustain? Baselines: the Temporal floor's
// activities per second at the same fan-out and number of workflows, and the transport
// floor's requests per second at the pipeline's HTTP concurrency.
import type { BenchContext } from '../lib/context';
import { openFloorScope, runFloorBacklog, type FloorBacklogRun } from '../lib/floor-runner';
import { measureStandby, openHookrelayScope, runBacklog, seedSubscribers, type BacklogRun, type StandbyCost } from '../lib/pipeline';
import { ratio } from '../lib/stats';
import { transportThroughput, type TransportThroughput } from '../lib/transport-floor';

export interface ThroughputAtFanOut {
  fanOut: number;
  events: number;
  pipeline: BacklogRun;
  floor: FloorBacklogRun;
  /** pipeline deliveries/s ÷ floor activities/s (steady state). */
  ratioToFloor: number;
}

export interface ThroughputResult {
  runs: ThroughputAtFanOut[];
  /** What `hookrelay start` costs with nothing to do, before the first run. */
  standby: StandbyCost;
  /** One receiver origin, at most CONNECTIONS_PER_ORIGIN (20) requests in flight: the pipeline's HTTP shape. */
  transport: TransportThroughput;
}

export async function runThroughputScenario(ctx: BenchContext): Promise<ThroughputResult> {
  const settings = ctx.profile.throughput;
  ctx.log(`throughput: transport floor, ${settings.transportRequests} POSTs`);
  const transport = await transportThroughput(ctx, { requests: settings.transportRequests });

  // The floor runs first, alone: a hookrelay process standing by keeps a change stream
  // open, which the MongoDB stand-in serves by busy polling (see standbyCost).
  const floorRuns: FloorBacklogRun[] = [];
  const floorScope = await openFloorScope(ctx, 'throughput');
  try {
    for (const { fanOut, events } of settings.runs) {
      ctx.log(`throughput: Temporal floor, ${events} workflows × ${fanOut} activities`);
      const run = await runFloorBacklog(ctx, floorScope, {
        fanOut,
        workflows: events,
        timeoutS: settings.timeoutS,
        runId: `throughput-${fanOut}-${ctx.runTag}`,
      });
      ctx.log(`  floor fan-out ${fanOut}: ${run.activities.steadyPerS} activities/s${run.complete ? '' : ' (incomplete)'}`);
      floorRuns.push(run);
    }
  } finally {
    await floorScope.close();
  }

  const runs: ThroughputAtFanOut[] = [];
  const scope = await openHookrelayScope(ctx, 'throughput', ['start']);
  let standby: StandbyCost;
  try {
    standby = await measureStandby(ctx, scope, settings.standbyS);
    for (const [i, { fanOut, events }] of settings.runs.entries()) {
      const organizationId = `org_bench_fanout_${fanOut}`;
      await seedSubscribers(ctx, scope.db, { organizationId, healthy: fanOut });
      ctx.log(`throughput: hookrelay, ${events} events × ${fanOut} subscribers`);
      const pipeline = await runBacklog(ctx, scope, {
        organizationId,
        events,
        fanOut,
        timeoutS: settings.timeoutS,
        waitForWorkflows: true,
      });
      ctx.log(`  hookrelay fan-out ${fanOut}: ${pipeline.deliveries.steadyPerS} deliveries/s${pipeline.complete ? '' : ' (incomplete)'}`);
      const floor = floorRuns[i]!;
      runs.push({
        fanOut,
        events,
        pipeline,
        floor,
        ratioToFloor: ratio(pipeline.deliveries.steadyPerS, floor.activities.steadyPerS),
      });
    }
  } finally {
    await scope.close();
  }
  return { transport, standby, runs };
}
