// Overload: a healthy endpoint receives a fixed open-loop stream while another endpoint,
// which holds every request 9 s, gets a burst of 1,000 events. Does the healthy one stay
// within 2 × its unloaded p99, and does the slow one get at most
// HOOKRELAY_ENDPOINT_CONCURRENCY requests at once? Baseline: the same stream with the
// healthy endpoint alone, in the same process, just before.
import { performance } from 'node:perf_hooks';
import type { Db } from 'mongodb';
import { eventsCollection } from '../../src/store/event-store';
import type { BenchContext } from '../lib/context';
import type { Profile } from '../lib/profiles';
import { pollUntil } from '../lib/load';
import type { WindowFootprint } from '../lib/measure';
import { measureOpenLoop, type OpenLoopFigures } from '../lib/open-loop-pipeline';
import { benchEvent, insertBenchWebhook, openHookrelayScope, seedSubscribers } from '../lib/pipeline';
import { startSlowReceiver, type SlowReceiverCounts } from '../lib/slow-receiver';
import { ratio, round, summarizeLatencies, type LatencySummary } from '../lib/stats';
import { CONNECTIONS_PER_ORIGIN } from '../lib/transport-floor';

/** The profile's settings (but the drain), then what was measured. */
export interface OverloadResult extends Omit<Profile['overload'], 'drainS'> {
  /** The transport's pool per origin: the other bound on one endpoint's requests in flight. */
  connectionsPerOrigin: number;
  /** Healthy endpoint alone: insert-to-receipt at healthyRatePerS. */
  unloaded: OpenLoopFigures & { footprint: WindowFootprint };
  /** Healthy endpoint from the slow burst on, same rate, for overloadS (plus its drain). */
  overloaded: OpenLoopFigures & { footprint: WindowFootprint };
  /**
   * Healthy arrivals inserted after every slow event had left `pending` (its workflow
   * started): the slow endpoint's cost without the burst's queue in the dispatcher.
   * Absent when the burst was still being dispatched at the end of the window.
   */
  afterDispatch?: { fromS: number; latencyMs: LatencySummary };
  /** The slow endpoint during the overload window; `dispatched` counts slow events out of `pending`. */
  slow: SlowReceiverCounts & { dispatched: number };
  /** overloaded ÷ unloaded healthy insert-to-receipt p99. */
  p99Ratio: number;
}

const HEALTHY_ORGANIZATION = 'org_bench_overload_healthy';
// Its own organization, so exactly `slowEvents` events reach the slow endpoint.
const SLOW_ORGANIZATION = 'org_bench_overload_slow';

export async function runOverloadScenario(ctx: BenchContext): Promise<OverloadResult> {
  const settings = ctx.profile.overload;
  const scope = await openHookrelayScope(ctx, 'overload', ['start'], {
    HOOKRELAY_ENDPOINT_CONCURRENCY: String(settings.endpointConcurrency),
  });
  const slowReceiver = await startSlowReceiver(settings.slowHoldS * 1000).catch(async (error: unknown) => {
    await scope.close();
    throw error;
  });
  // Registered after the scope, so Ctrl-C closes it first (see the finally below).
  const undeferSlowReceiver = ctx.defer(() => slowReceiver.close());
  try {
    await seedSubscribers(ctx, scope.db, { organizationId: HEALTHY_ORGANIZATION, healthy: 1 });
    // The channel's default 10 s timeout: a 9 s answer is a success, not a retry.
    await insertBenchWebhook(ctx, scope.db, { organizationId: SLOW_ORGANIZATION, name: 'bench-slow', url: slowReceiver.url });
    const stream = { organizationId: HEALTHY_ORGANIZATION, ratePerS: settings.healthyRatePerS, drainS: settings.drainS };

    ctx.log(`overload: healthy endpoint alone at ${settings.healthyRatePerS} events/s for ${settings.warmupS + settings.unloadedS} s`);
    const unloaded = await measureOpenLoop(ctx, scope, { ...stream, warmupS: settings.warmupS, durationS: settings.unloadedS });
    ctx.log(`  healthy insert-to-receipt p99 ${unloaded.figures.latencyMs.p99} ms`);

    ctx.log(
      `overload: ${settings.slowEvents} events to an endpoint that holds each request ${settings.slowHoldS} s, ` +
        `healthy stream for ${settings.overloadS} s (HOOKRELAY_ENDPOINT_CONCURRENCY=${settings.endpointConcurrency})`,
    );
    const stopWatching = new AbortController();
    const overloadStart = performance.now();
    const allDispatched = whenAllLeftPending(scope.db, SLOW_ORGANIZATION, settings.slowEvents, stopWatching.signal).catch(
      () => undefined,
    );
    const [healthyRun, burst] = await Promise.allSettled([
      measureOpenLoop(ctx, scope, { ...stream, warmupS: 0, durationS: settings.overloadS }),
      insertBurst(scope.db, SLOW_ORGANIZATION, settings.slowEvents, ctx.signal),
    ]);
    const slowCounts = slowReceiver.counts();
    stopWatching.abort();
    if (healthyRun.status === 'rejected') throw healthyRun.reason;
    if (burst.status === 'rejected') throw burst.reason;
    const overloaded = healthyRun.value;
    const dispatchedAt = await allDispatched;
    const dispatched = await eventsCollection(scope.db).countDocuments({
      organization_id: SLOW_ORGANIZATION,
      status: { $ne: 'pending' },
    });

    const afterDispatchSamples =
      dispatchedAt === undefined ? [] : overloaded.samples.filter((sample) => sample.insertedAt >= dispatchedAt);
    const p99Ratio = ratio(overloaded.figures.latencyMs.p99, unloaded.figures.latencyMs.p99);
    ctx.log(
      `  healthy insert-to-receipt p99 ${overloaded.figures.latencyMs.p99} ms (× ${p99Ratio} unloaded); ` +
        `slow endpoint: ${slowCounts.received} requests, at most ${slowCounts.maxInFlight} in flight, ` +
        `${dispatched} of ${settings.slowEvents} events dispatched`,
    );
    return {
      healthyRatePerS: settings.healthyRatePerS,
      warmupS: settings.warmupS,
      unloadedS: settings.unloadedS,
      overloadS: settings.overloadS,
      slowEvents: settings.slowEvents,
      slowHoldS: settings.slowHoldS,
      endpointConcurrency: settings.endpointConcurrency,
      connectionsPerOrigin: CONNECTIONS_PER_ORIGIN,
      unloaded: unloaded.figures,
      overloaded: overloaded.figures,
      ...(dispatchedAt !== undefined && afterDispatchSamples.length > 0
        ? {
            afterDispatch: {
              fromS: round((dispatchedAt - overloadStart) / 1000, 1),
              latencyMs: summarizeLatencies(afterDispatchSamples.map((sample) => sample.latencyMs)),
            },
          }
        : {}),
      slow: { ...slowCounts, dispatched },
      p99Ratio,
    };
  } finally {
    // The slow receiver first: its held requests fail at once, so hookrelay stops
    // without waiting for them. The slow backlog is left undelivered on purpose.
    await slowReceiver.close();
    undeferSlowReceiver();
    await scope.close();
  }
}

/** Inserts `count` events of the organization as fast as MongoDB takes them, 100 at a time. */
async function insertBurst(db: Db, organizationId: string, count: number, signal: AbortSignal): Promise<void> {
  const events = eventsCollection(db);
  for (let i = 0; i < count && !signal.aborted; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, () => benchEvent(organizationId));
    await events.insertMany(batch, { ordered: false });
  }
}

/**
 * When (performance.now()) `count` events of the organization had all left `pending`,
 * i.e. the dispatcher had started their workflows; undefined if `signal` stops the
 * watch first. Polls twice a second: each poll is a count the MongoDB server must answer.
 */
async function whenAllLeftPending(db: Db, organizationId: string, count: number, signal: AbortSignal): Promise<number | undefined> {
  const events = eventsCollection(db);
  let seenAt: number | undefined;
  await pollUntil(
    async () => {
      const left = await events.countDocuments({ organization_id: organizationId, status: { $ne: 'pending' } });
      if (left >= count) seenAt = performance.now();
      return seenAt !== undefined;
    },
    Number.POSITIVE_INFINITY,
    500,
    signal,
  );
  return seenAt;
}
