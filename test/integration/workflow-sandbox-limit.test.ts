import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/context';
import { spinRounds } from '../fixtures/workflows/spin-loop';

/** How long one call into the sandbox spins: past the SDK's own default (5 s) and far past the limit below. */
const SPIN_MS = 6_000;
const LIMIT_MS = 200;

/** Rounds of the spin loop that take about `ms` here, measured in this process. */
function roundsFor(ms: number): number {
  let rounds = 100_000;
  for (;;) {
    const started = performance.now();
    spinRounds(rounds);
    const took = performance.now() - started;
    if (took >= 100) return Math.ceil((rounds * ms) / took);
    rounds *= 2;
  }
}

/**
 * The worker sets no limit on a call into the workflow sandbox unless
 * HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS asks for one; with one, the SDK fails a workflow
 * task whose call runs past it (its check for a workflow stuck in a loop).
 */
describe('workflow sandbox limit', () => {
  let workflowBundle: { code: string };
  let rounds: number;
  let ctx: TestContext | undefined;

  beforeAll(async () => {
    const bundle = await bundleWorkflowCode({
      workflowsPath: join(__dirname, '../fixtures/workflows/spin.ts'),
      logger: new DefaultLogger('WARN'),
    });
    workflowBundle = { code: bundle.code };
    rounds = roundsFor(SPIN_MS);
  });

  /** One run of the spin workflow on the context's task queue. */
  const spinRun = (context: TestContext, name: string) => ({
    args: [rounds],
    taskQueue: context.taskQueue,
    workflowId: `spin-${name}-${context.taskQueue}`,
    workflowTaskTimeout: '1 minute',
  });

  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });

  it('by default lets a call run as long as it takes', async () => {
    ctx = await createTestContext('sandbox-none');
    await ctx.startWorker({}, { workflowBundle });
    const result = await ctx.client.workflow.execute('spin', spinRun(ctx, 'none'));
    expect(result).toBe(spinRounds(rounds));
  });

  it('fails the task of a call that runs past the limit it is given', async () => {
    ctx = await createTestContext('sandbox-limit', { HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS: String(LIMIT_MS) });
    await ctx.startWorker({}, { workflowBundle });
    const handle = await ctx.client.workflow.start('spin', spinRun(ctx, 'limit'));
    // The SDK fails the task when the call runs past the limit; Temporal retries it.
    let failure: string | null | undefined;
    for (let tries = 0; tries < 150 && !failure; tries++) {
      const events = (await handle.fetchHistory()).events ?? [];
      failure = events.find((event) => event.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure?.message;
      if (!failure) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await handle.terminate('test over');
    expect(failure).toMatch(/timed out/i);
  });
});
