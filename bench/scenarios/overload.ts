// Overload: a healthy endpoint receives a fixed open-loop stream while another endpoint,
// which holds every request 9 s, gets 1,000 events. Does the healthy one stay within
// 2 × its unloaded p99, and does the slow one get at most HOOKRELAY_ENDPOINT_CONCURRENCY
// requests at once? Two runs, each in its own process, because a run's slow backlog
// stays open until its process stops:
// - steady: the slow events arrive at a fixed rate (slowRatePerS), which isolates what
//   the slow endpoint costs the healthy one;
// - burst: all slow events at once, which adds the cost of queueing the burst (about
//   10 s of work on 2 cores) in front of the healthy events.
// Baseline: the healthy stream alone, measured once, in the steady run's process before it.
// Controls: each run's arrivals sent to an endpoint that answers at once, in the same
// process just before it. They tell what the extra events cost the healthy stream (CPU
// they share) from what the slow endpoint's slowness costs it.
// Shared, in a third process: the slow endpoint's 1,000 events, at slowRatePerS, go to the
// healthy endpoint as well (two subscribers of the same events). Its baseline is the
// same events to the healthy endpoint alone, in the same process just before: what the
// slow sibling of each delivery costs it, at the same load.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventsCollection } from '../../src/store/event-store';
import type { BenchContext } from '../lib/context';
import type { Arrivals } from '../lib/load';
import type { WindowFootprint } from '../lib/measure';
import { measureOpenLoop, type OpenLoopFigures } from '../lib/open-loop-pipeline';
import { insertBenchWebhook, openHookrelayScope, seedSubscribers, type HookrelayScope } from '../lib/pipeline';
import type { Profile } from '../lib/profiles';
import { startSlowReceiver, type SlowReceiver, type SlowReceiverCounts } from '../lib/slow-receiver';
import { insertSlowEvents, whenAllLeftPending, type SlowArrival } from '../lib/slow-load';
import { ratio, round, summarizeLatencies, type LatencySummary } from '../lib/stats';
import { slowestWaits, type WaitBreakdown } from '../lib/wait-breakdown';

/** The healthy endpoint's figures over one measured window. */
type HealthyFigures = OpenLoopFigures & { footprint: WindowFootprint };

/** One run: the healthy stream beside the slow endpoint's events, in a process of its own. */
export interface OverloadRun {
  /** Healthy endpoint from the first slow event on, same rate, for overloadS (plus its drain). */
  overloaded: HealthyFigures;
  /**
   * Healthy arrivals inserted after every slow event had left `pending` (its workflow
   * started): the slow endpoint's cost without the slow events' queue in the dispatcher.
   * Absent when the slow events were still being dispatched at the end of the window.
   */
  afterDispatch?: { fromS: number; latencyMs: LatencySummary };
  /** The slow endpoint during the window; `dispatched` counts slow events out of `pending`. */
  slow: SlowReceiverCounts & { dispatched: number };
  /** overloaded ÷ unloaded healthy insert-to-receipt p99. */
  p99Ratio: number;
  /** Where the 10 slowest healthy events of the window waited. */
  slowestWaits?: WaitBreakdown;
}

/** The profile's settings (but the drain), then what was measured. */
export interface OverloadResult extends Omit<Profile['overload'], 'drainS' | 'slowArrivals'> {
  /** Absent in reports written before it existed, whose steady runs spaced their events fixed. */
  slowArrivals?: Arrivals;
  /** Healthy endpoint alone: insert-to-receipt at healthyRatePerS, in the steady run's process. */
  unloaded: HealthyFigures;
  /** The steady run's arrivals to an endpoint that answers at once (in `slow`: that endpoint). */
  control: OverloadRun;
  /** Slow events arriving at slowRatePerS. */
  steady: OverloadRun;
  /** The burst to an endpoint that answers at once, in the burst's process before it (absent in older reports). */
  burstControl?: OverloadRun;
  /** All slow events in one burst, in a fresh process, right after its control. */
  burst: OverloadRun;
  /** The slow endpoint's events to both endpoints, in a third process (absent in reports written before it existed). */
  shared?: SharedRun;
}

/** The same events to the healthy endpoint alone, then to it and the slow endpoint. */
export interface SharedRun {
  /** slowEvents events at slowRatePerS, subscribed by the healthy endpoint only (after warmupS plus as long again). */
  alone: HealthyFigures;
  /** slowEvents other events at slowRatePerS, subscribed by both; p99Ratio is against `alone`. */
  withSlow: OverloadRun;
}

const HEALTHY_ORGANIZATION = 'org_bench_overload_healthy';
// Its own organization, so exactly `slowEvents` events reach the slow endpoint.
const SLOW_ORGANIZATION = 'org_bench_overload_slow';
// The control's endpoint, which answers at once, in an organization of its own as well.
const FAST_ORGANIZATION = 'org_bench_overload_fast';
// The shared run's events: subscribed by the healthy endpoint alone, and by it and the slow one.
const SHARED_ALONE_ORGANIZATION = 'org_bench_overload_shared_alone';
const SHARED_ORGANIZATION = 'org_bench_overload_shared';

export async function runOverloadScenario(ctx: BenchContext): Promise<OverloadResult> {
  const settings = ctx.profile.overload;
  const { unloaded, control, steady } = await withSlowEndpoint(ctx, 'overload-steady', async (scope, slowReceiver) => {
    ctx.log(`overload: healthy endpoint alone at ${settings.healthyRatePerS} events/s for ${settings.warmupS + settings.unloadedS} s`);
    const alone = await measureOpenLoop(ctx, scope, {
      organizationId: HEALTHY_ORGANIZATION,
      ratePerS: settings.healthyRatePerS,
      warmupS: settings.warmupS,
      durationS: settings.unloadedS,
      drainS: settings.drainS,
    });
    ctx.log(`  healthy insert-to-receipt p99 ${alone.figures.latencyMs.p99} ms`);
    // Delivered as they come, the control's events leave nothing open for the steady run.
    const control = await withReceiver(ctx, scope, FAST_ORGANIZATION, 0, (fastReceiver) =>
      measureOverloaded(ctx, scope, fastReceiver, {
        name: 'control',
        organizationId: FAST_ORGANIZATION,
        holdS: 0,
        arrival: { kind: 'steady', ratePerS: settings.slowRatePerS, arrivals: settings.slowArrivals },
        leadInS: 0,
        unloadedP99: alone.figures.latencyMs.p99,
      }),
    );
    // The process is warm from the windows before: the slow events start with the stream.
    const run = await measureOverloaded(ctx, scope, slowReceiver, {
      name: 'steady',
      organizationId: SLOW_ORGANIZATION,
      holdS: settings.slowHoldS,
      arrival: { kind: 'steady', ratePerS: settings.slowRatePerS, arrivals: settings.slowArrivals },
      leadInS: 0,
      unloadedP99: alone.figures.latencyMs.p99,
    });
    return { unloaded: alone.figures, control, steady: run };
  });
  if (ctx.signal.aborted) throw new Error('interrupted');
  // A fresh process: the steady run's slow backlog would still hold the slow endpoint.
  const { burstControl, burst } = await withSlowEndpoint(ctx, 'overload-burst', async (scope, slowReceiver) => {
    // The new process warms up on the healthy stream before the control's burst, as the
    // first did. In the full profile the control's events are all delivered within its
    // window; in the smoke profile's short one, the last few may come in the next.
    const burstControl = await withReceiver(ctx, scope, FAST_ORGANIZATION, 0, (fastReceiver) =>
      measureOverloaded(ctx, scope, fastReceiver, {
        name: 'burst control',
        organizationId: FAST_ORGANIZATION,
        holdS: 0,
        arrival: { kind: 'burst' },
        leadInS: settings.warmupS,
        unloadedP99: unloaded.latencyMs.p99,
      }),
    );
    const run = await measureOverloaded(ctx, scope, slowReceiver, {
      name: 'burst',
      organizationId: SLOW_ORGANIZATION,
      holdS: settings.slowHoldS,
      arrival: { kind: 'burst' },
      leadInS: 0,
      unloadedP99: unloaded.latencyMs.p99,
    });
    return { burstControl, burst: run };
  });
  if (ctx.signal.aborted) throw new Error('interrupted');
  const shared = await measureShared(ctx);
  return {
    healthyRatePerS: settings.healthyRatePerS,
    warmupS: settings.warmupS,
    unloadedS: settings.unloadedS,
    overloadS: settings.overloadS,
    slowEvents: settings.slowEvents,
    slowRatePerS: settings.slowRatePerS,
    slowArrivals: settings.slowArrivals,
    slowHoldS: settings.slowHoldS,
    endpointConcurrency: settings.endpointConcurrency,
    unloaded,
    control,
    steady,
    burstControl,
    burst,
    shared,
  };
}

/**
 * The shared run, in a process of its own: slowEvents events at slowRatePerS to the
 * healthy endpoint alone (after a warm-up), then as many to it and the slow endpoint.
 */
async function measureShared(ctx: BenchContext): Promise<SharedRun> {
  const settings = ctx.profile.overload;
  const scope = await openHookrelayScope(ctx, 'overload-shared', ['start'], {
    HOOKRELAY_ENDPOINT_CONCURRENCY: String(settings.endpointConcurrency),
  });
  try {
    await seedSubscribers(ctx, scope.db, { organizationId: SHARED_ALONE_ORGANIZATION, healthy: 1 });
    await seedSubscribers(ctx, scope.db, { organizationId: SHARED_ORGANIZATION, healthy: 1 });
    const stream = { ratePerS: settings.slowRatePerS, durationS: settings.slowEvents / settings.slowRatePerS, drainS: settings.drainS };
    ctx.log(`overload, shared run: ${settings.slowEvents} events at ${settings.slowRatePerS} events/s to the healthy endpoint alone`);
    // Warmed up for a whole run at this rate on top of the usual warm-up, as the loaded run
    // is by this one: with the usual 5 s alone, the baseline came out slower than the
    // loaded run on every percentile.
    const alone = await measureOpenLoop(ctx, scope, {
      organizationId: SHARED_ALONE_ORGANIZATION,
      warmupS: settings.warmupS + stream.durationS,
      ...stream,
    });
    ctx.log(`  healthy insert-to-receipt p99 ${alone.figures.latencyMs.p99} ms`);
    const withSlow = await withReceiver(ctx, scope, SHARED_ORGANIZATION, settings.slowHoldS * 1000, async (slowReceiver) => {
      ctx.log(
        `overload, shared run: ${settings.slowEvents} events at ${settings.slowRatePerS} events/s to the healthy endpoint ` +
          `and one that holds each request ${settings.slowHoldS} s`,
      );
      // Warm from the run before: every event is measured, and every one reaches the slow endpoint.
      const loaded = await measureOpenLoop(ctx, scope, { organizationId: SHARED_ORGANIZATION, warmupS: 0, ...stream });
      const slowCounts = slowReceiver.counts();
      const dispatched = await eventsCollection(scope.db).countDocuments({
        organization_id: SHARED_ORGANIZATION,
        status: { $ne: 'pending' },
      });
      const p99Ratio = ratio(loaded.figures.latencyMs.p99, alone.figures.latencyMs.p99);
      const waits = await slowestWaits(ctx.temporal, scope.db, loaded.samples);
      ctx.log(
        `  healthy insert-to-receipt p99 ${loaded.figures.latencyMs.p99} ms (× ${p99Ratio} the same events alone); ` +
          `slow endpoint: ${slowCounts.received} requests, at most ${slowCounts.maxInFlight} in flight`,
      );
      return {
        overloaded: loaded.figures,
        slow: { ...slowCounts, dispatched },
        p99Ratio,
        ...(waits ? { slowestWaits: waits } : {}),
      } satisfies OverloadRun;
    });
    return { alone: alone.figures, withSlow };
  } finally {
    await scope.close();
  }
}

/**
 * Opens a `hookrelay start` scope with the profile's endpoint limit, seeds the healthy
 * subscriber and the slow webhook with a fresh slow receiver, runs `run`, then closes both.
 */
async function withSlowEndpoint<T>(
  ctx: BenchContext,
  scopeName: string,
  run: (scope: HookrelayScope, slowReceiver: SlowReceiver) => Promise<T>,
): Promise<T> {
  const settings = ctx.profile.overload;
  const scope = await openHookrelayScope(ctx, scopeName, ['start'], {
    HOOKRELAY_ENDPOINT_CONCURRENCY: String(settings.endpointConcurrency),
  });
  try {
    await seedSubscribers(ctx, scope.db, { organizationId: HEALTHY_ORGANIZATION, healthy: 1 });
    return await withReceiver(ctx, scope, SLOW_ORGANIZATION, settings.slowHoldS * 1000, (slowReceiver) =>
      run(scope, slowReceiver),
    );
  } finally {
    await scope.close();
  }
}

/**
 * A receiver that holds each request `holdMs`, as a webhook of the organization (its only
 * one but in the shared run), for the time of `run`. The slow receiver closes before
 * hookrelay stops: its held requests fail at once, so hookrelay stops without waiting for
 * them. The slow backlog is left undelivered on purpose.
 */
async function withReceiver<T>(
  ctx: BenchContext,
  scope: HookrelayScope,
  organizationId: string,
  holdMs: number,
  run: (receiver: SlowReceiver) => Promise<T>,
): Promise<T> {
  const receiver = await startSlowReceiver(holdMs);
  // Registered after the scope, so Ctrl-C closes it first (see the finally below).
  const undefer = ctx.defer(() => receiver.close());
  try {
    // The channel's default 10 s timeout: a 9 s answer is a success, not a retry.
    await insertBenchWebhook(ctx, scope.db, { organizationId, name: `bench-${organizationId}`, url: receiver.url });
    return await run(receiver);
  } finally {
    await receiver.close();
    undefer();
  }
}

/**
 * The healthy stream for `leadInS` unmeasured, then measured for overloadS while the slow
 * endpoint's events arrive as `arrival` says, from the start of the measured window.
 */
async function measureOverloaded(
  ctx: BenchContext,
  scope: HookrelayScope,
  slowReceiver: SlowReceiver,
  options: { name: string; organizationId: string; holdS: number; arrival: SlowArrival; leadInS: number; unloadedP99: number },
): Promise<OverloadRun> {
  const settings = ctx.profile.overload;
  const { name, organizationId } = options;
  const arriving = options.arrival.kind === 'steady' ? `at ${options.arrival.ratePerS} events/s` : 'in one burst';
  ctx.log(
    `overload, ${name} run: ${settings.slowEvents} events ${arriving} to an endpoint that holds each request ` +
      `${options.holdS} s, healthy stream for ${options.leadInS + settings.overloadS} s ` +
      `(HOOKRELAY_ENDPOINT_CONCURRENCY=${settings.endpointConcurrency})`,
  );
  const stopWatching = new AbortController();
  const inserted: string[] = [];
  const allDispatched = whenAllLeftPending(scope.db, inserted, settings.slowEvents, stopWatching.signal).catch(
    () => undefined,
  );
  const slowLoad = (async () => {
    if (options.leadInS > 0) await sleep(options.leadInS * 1000);
    const startedAt = performance.now();
    await insertSlowEvents(scope.db, organizationId, settings.slowEvents, options.arrival, ctx.signal, inserted);
    return startedAt;
  })();
  const [healthyRun, slowRun] = await Promise.allSettled([
    measureOpenLoop(ctx, scope, {
      organizationId: HEALTHY_ORGANIZATION,
      ratePerS: settings.healthyRatePerS,
      warmupS: options.leadInS,
      durationS: settings.overloadS,
      drainS: settings.drainS,
    }),
    slowLoad,
  ]);
  const slowCounts = slowReceiver.counts();
  stopWatching.abort();
  if (healthyRun.status === 'rejected') throw healthyRun.reason;
  if (slowRun.status === 'rejected') throw slowRun.reason;
  const overloaded = healthyRun.value;
  const slowStartedAt = slowRun.value;
  const dispatchedAt = await allDispatched;
  const dispatched = await eventsCollection(scope.db).countDocuments({
    organization_id: organizationId,
    status: { $ne: 'pending' },
  });

  const afterDispatchSamples =
    dispatchedAt === undefined ? [] : overloaded.samples.filter((sample) => sample.insertedAt >= dispatchedAt);
  const p99Ratio = ratio(overloaded.figures.latencyMs.p99, options.unloadedP99);
  const waits = await slowestWaits(ctx.temporal, scope.db, overloaded.samples);
  ctx.log(
    `  healthy insert-to-receipt p99 ${overloaded.figures.latencyMs.p99} ms (× ${p99Ratio} unloaded); ` +
      `other endpoint: ${slowCounts.received} requests, at most ${slowCounts.maxInFlight} in flight, ` +
      `${dispatched} of ${settings.slowEvents} events dispatched`,
  );
  return {
    overloaded: overloaded.figures,
    ...(dispatchedAt !== undefined && afterDispatchSamples.length > 0
      ? {
          afterDispatch: {
            fromS: round((dispatchedAt - slowStartedAt) / 1000, 1),
            latencyMs: summarizeLatencies(afterDispatchSamples.map((sample) => sample.latencyMs)),
          },
        }
      : {}),
    slow: { ...slowCounts, dispatched },
    p99Ratio,
    ...(waits ? { slowestWaits: waits } : {}),
  };
}
