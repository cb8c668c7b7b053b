import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findEvent } from '../../src/store/event-store';
import { startEventWorkflow } from '../../src/temporal/start-event-workflow';
import { createTestContext, type TestContext } from '../support/context';
import { emitTestEvent, eventually } from '../support/fixtures';

const { EventType } = temporal.api.enums.v1;

/**
 * The dev server hookrelay ships runs with matching.enableFairness, and each workflow is
 * started with its organization as fairness key: a task queue backlog is then served in
 * turn across organizations instead of in arrival order.
 */
describe('Temporal task queue fairness', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext('temporal-fairness');
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('serves a late organization\'s task before most of a backlog queued ahead of it', async () => {
    // Started with no worker polling, so every first workflow task waits in the backlog.
    const burst: string[] = [];
    for (let i = 0; i < 300; i++) burst.push(await emitTestEvent(ctx, { organizationId: 'org_fair_burst' }));
    const late = await emitTestEvent(ctx, { organizationId: 'org_fair_late' });
    for (const id of [...burst, late]) {
      const event = await findEvent(ctx.db, id);
      await startEventWorkflow(ctx.client, ctx.taskQueue, event!);
    }

    // Starting a workflow hands its first task to matching asynchronously: wait until all
    // of them are in the backlog, so the late one is there before any is served.
    await eventually(async () => {
      const { stats } = await ctx.connection.workflowService.describeTaskQueue({
        namespace: ctx.config.TEMPORAL_NAMESPACE,
        taskQueue: { name: ctx.taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        reportStats: true,
      });
      return Number(stats?.approximateBacklogCount ?? 0) >= 301;
    }, 60_000, 'all 301 first workflow tasks in the backlog');
    await ctx.startWorker();
    // No subscribers: each workflow resolves nothing and completes in its first task.
    const ids = [...burst, late];
    const pickedUpAt = async (id: string) => {
      const handle = ctx.client.workflow.getHandle(id);
      await handle.result();
      const history = await handle.fetchHistory();
      const started = history.events?.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
      expect(started?.eventTime).toBeTruthy();
      // Milliseconds as a double: exact enough, and no precision lost above 2^53.
      return { id, at: Number(started!.eventTime!.seconds) * 1000 + (started!.eventTime!.nanos ?? 0) / 1e6 };
    };
    const pickedUp: Array<{ id: string; at: number }> = [];
    for (let i = 0; i < ids.length; i += 25) pickedUp.push(...(await Promise.all(ids.slice(i, i + 25).map(pickedUpAt))));
    const order = pickedUp.sort((a, b) => a.at - b.at).map(({ id }) => id);
    // In arrival order it would be last (301st); in turn, among the first few.
    expect(order.indexOf(late)).toBeLessThan(30);
  }, 120_000);
});
