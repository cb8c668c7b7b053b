import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { HookrelayActivities } from '../activities';
import type { MuxLifecycleAction, MuxLifecycleChanges, MuxLifecycleInput } from '../activities/mux-lifecycle';

/** Objects changed per activity call: keeps each call short and history small. */
const OBJECTS_PER_BATCH = 100;

// Reading the plan and recording the outcome are quick MongoDB calls: local activities.
const bookkeeping = proxyLocalActivities<HookrelayActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

// Changing objects retries until MongoDB answers; a stuck batch shows as a pending activity.
const { applyMuxLifecycle } = proxyActivities<HookrelayActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface MuxAssetLifecycleResult {
  action: MuxLifecycleAction;
  reason?: string;
  deleted: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

/**
 * One Mux webhook (workflow id `mux-<connection_id>-<mux event id>`): `video.asset.deleted`
 * removes the connection's bucket objects made from the asset; `video.asset.updated`
 * re-evaluates the connection's metadata filters and removes or updates them. Every
 * change emits its object.* event. Input and history carry ids and counts only.
 */
export async function muxAssetLifecycle(input: MuxLifecycleInput): Promise<MuxAssetLifecycleResult> {
  const plan = await bookkeeping.planMuxLifecycle(input);
  const totals: MuxLifecycleChanges = { deleted: [], updated: [], unchanged: [], skipped: [] };
  for (let start = 0; start < plan.objectIds.length; start += OBJECTS_PER_BATCH) {
    const changes = await applyMuxLifecycle({ ...input, objectIds: plan.objectIds.slice(start, start + OBJECTS_PER_BATCH) });
    totals.deleted.push(...changes.deleted);
    totals.updated.push(...changes.updated);
    totals.unchanged.push(...changes.unchanged);
    totals.skipped.push(...changes.skipped);
  }
  const outcome = { deleted: totals.deleted.length, updated: totals.updated.length, unchanged: totals.unchanged.length };
  await bookkeeping.completeMuxLifecycle({ inboundEventId: input.inboundEventId, action: plan.action, outcome });
  return {
    action: plan.action,
    ...(plan.reason ? { reason: plan.reason } : {}),
    ...outcome,
    skipped: totals.skipped.length,
  };
}
