// Footprint: the fan-out-10 backlog with the worker and the dispatcher as separate
// processes (`hookrelay worker`, `hookrelay dispatcher`), so each role's RSS and CPU per
// 1,000 deliveries can be read on its own. Baseline: the floor process (worker + client)
// at the same fan-out. The throughput scenario reports the same for `hookrelay start`.
import type { BenchContext } from '../lib/context';
import { FLOOR_TRACK_NAME, openFloorScope, runFloorBacklog, type FloorBacklogRun } from '../lib/floor-runner';
import type { ProcessCost } from '../lib/measure';
import { openHookrelayScope, runBacklog, seedSubscribers, type BacklogRun } from '../lib/pipeline';

export interface FootprintResult {
  fanOut: number;
  events: number;
  worker: ProcessCost;
  dispatcher: ProcessCost;
  /** The floor's worker + client process at the same fan-out. */
  floorWorker: ProcessCost;
  pipeline: BacklogRun;
  floor: FloorBacklogRun;
}

export async function runFootprintScenario(ctx: BenchContext): Promise<FootprintResult> {
  const { fanOut, events, timeoutS } = ctx.profile.footprint;
  ctx.log(`footprint: Temporal floor, ${events} workflows × ${fanOut} activities`);
  const floorScope = await openFloorScope(ctx, 'footprint');
  let floor: FloorBacklogRun;
  try {
    floor = await runFloorBacklog(ctx, floorScope, { fanOut, workflows: events, timeoutS, runId: `footprint-${ctx.runTag}` });
  } finally {
    await floorScope.close();
  }

  ctx.log(`footprint: hookrelay worker + dispatcher processes, ${events} events × ${fanOut} subscribers`);
  const scope = await openHookrelayScope(ctx, 'footprint', ['worker', 'dispatcher']);
  let pipeline: BacklogRun;
  try {
    await seedSubscribers(ctx, scope.db, { organizationId: 'org_bench_footprint', healthy: fanOut });
    pipeline = await runBacklog(ctx, scope, {
      organizationId: 'org_bench_footprint',
      events,
      fanOut,
      timeoutS,
      waitForWorkflows: true,
    });
  } finally {
    await scope.close();
  }
  const worker = pipeline.footprint.processes.worker!;
  const dispatcher = pipeline.footprint.processes.dispatcher!;
  ctx.log(`  worker RSS peak ${worker.rssPeakMB} MB, dispatcher ${dispatcher.rssPeakMB} MB`);
  return {
    fanOut,
    events,
    worker,
    dispatcher,
    floorWorker: floor.footprint.processes[FLOOR_TRACK_NAME]!,
    pipeline,
    floor,
  };
}
