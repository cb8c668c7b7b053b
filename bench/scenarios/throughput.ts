// Throughput: a backlog of events at fan-out 1, 10 and 100 subscribers per event; how
// many deliveries per second does one box sustain? Baselines: the Temporal floor's
// activities per second at the same fan-out and number of workflows, and the transport
// floor's requests per second at the pipeline's HTTP concurrency.
import type { BenchContext } from '../lib/context';
import { openFloorScope, runFloorBacklog, type FloorBacklogRun } from '../lib/floor-runner';
import { openHookrelayScope, runBacklog, seedSubscribers, type BacklogRun } from '../lib/pipeline';
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
  /** One receiver origin, at most 16 requests in flight: the pipeline's HTTP shape. */
  transport: TransportThroughput;
}

export async function runThroughputScenario(ctx: BenchContext): Promise<ThroughputResult> {
  const settings = ctx.profile.throughput;
  ctx.log(`throughput: transport floor, ${settings.transportRequests} POSTs`);
  const transport = await transportThroughput(ctx, { requests: settings.transportRequests });

  // Floor and hookrelay run back to back at each fan-out (both processes stay up, the
  // idle one only long-polls), so each pair sees the same machine and server state.
  const floorScope = await openFloorScope(ctx, 'throughput');
  const runs: ThroughputAtFanOut[] = [];
  try {
    const scope = await openHookrelayScope(ctx, 'throughput', ['start']);
    try {
      for (const { fanOut, events } of settings.runs) {
        ctx.log(`throughput: Temporal floor, ${events} workflows × ${fanOut} activities`);
        const floor = await runFloorBacklog(ctx, floorScope, {
          fanOut,
          workflows: events,
          timeoutS: settings.timeoutS,
          runId: `throughput-${fanOut}-${ctx.runTag}`,
        });
        ctx.log(`  floor fan-out ${fanOut}: ${floor.activities.steadyPerS} activities/s${floor.complete ? '' : ' (incomplete)'}`);

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
  } finally {
    await floorScope.close();
  }
  return { transport, runs };
}
