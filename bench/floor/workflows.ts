// The Temporal floor: the least a workflow that fans out to K activities can cost on
// this server and worker. Bundled on its own (bench/lib/floor-runner.ts), never part of
// hookrelay's workflow bundle.
import { proxyActivities } from '@temporalio/workflow';
import type { FloorActivities } from './activities';

const { noop } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 1 },
});

/** Runs `fanOut` no-op regular activities concurrently, like deliverEvent's targets. */
export async function floorWorkflow(fanOut: number): Promise<void> {
  await Promise.all(Array.from({ length: fanOut }, (_, index) => noop(index)));
}
