// Isolation: the fan-out-10 backlog again, with one extra subscriber whose endpoint
// never answers (1 s attempt timeout, retried every second). What does the dead endpoint
// cost the healthy deliveries? Baseline: the same backlog without it, same process.
import type { BenchContext } from '../lib/context';
import { openHookrelayScope, runBacklog, seedSubscribers, type BacklogRun } from '../lib/pipeline';
import { ratio } from '../lib/stats';

export interface IsolationResult {
  fanOut: number;
  events: number;
  /** fanOut healthy subscribers. */
  withoutDead: BacklogRun;
  /** fanOut healthy subscribers + 1 hanging one; figures count healthy deliveries only. */
  withDead: BacklogRun;
  /** withDead ÷ withoutDead healthy deliveries/s. */
  throughputRatio: number;
  /** withDead ÷ withoutDead healthy insert-to-receipt p99. */
  p99Ratio: number;
}

export async function runIsolationScenario(ctx: BenchContext): Promise<IsolationResult> {
  const { fanOut, events, timeoutS } = ctx.profile.isolation;
  const scope = await openHookrelayScope(ctx, 'isolation', ['start']);
  try {
    await seedSubscribers(ctx, scope.db, { organizationId: 'org_bench_healthy', healthy: fanOut });
    await seedSubscribers(ctx, scope.db, { organizationId: 'org_bench_one_dead', healthy: fanOut, hanging: 1 });

    ctx.log(`isolation: ${events} events × ${fanOut} healthy subscribers`);
    const withoutDead = await runBacklog(ctx, scope, {
      organizationId: 'org_bench_healthy',
      events,
      fanOut,
      timeoutS,
      waitForWorkflows: true,
    });
    ctx.log(`  without a dead endpoint: ${withoutDead.deliveries.steadyPerS} deliveries/s`);

    // Last on purpose: the dead endpoint's workflows keep retrying until the scope closes.
    ctx.log(`isolation: ${events} events × (${fanOut} healthy + 1 hanging) subscribers`);
    const withDead = await runBacklog(ctx, scope, {
      organizationId: 'org_bench_one_dead',
      events,
      fanOut,
      timeoutS,
      waitForWorkflows: false,
    });
    ctx.log(
      `  with a dead endpoint: ${withDead.deliveries.steadyPerS} healthy deliveries/s, ${withDead.hangingAttempts} attempts at the dead one`,
    );
    return {
      fanOut,
      events,
      withoutDead,
      withDead,
      throughputRatio: ratio(withDead.deliveries.steadyPerS, withoutDead.deliveries.steadyPerS),
      p99Ratio: ratio(withDead.latencyMs.p99, withoutDead.latencyMs.p99),
    };
  } finally {
    await scope.close();
  }
}
