import type { Db } from 'mongodb';
import type { ChannelAttemptResult, ChannelSenders } from '../src/delivery/channel-sender';
import type { EndpointLimiter } from '../src/delivery/endpoint-limiter';
import type { Sealer } from '../src/store/channel-secrets';
import { createDeliverActivity } from './deliver';
import { createFinalizeEventActivity } from './finalize-event';
import { createMuxLifecycleActivities } from './mux-lifecycle';
import { createResolveTargetsActivity } from './resolve-targets';

export interface ActivityDependencies {
  db: Db;
  /** Opens sealed channel secrets inside the activity, never in workflow code. */
  box: Sealer;
  senders: ChannelSenders;
  /** Bounds attempts in flight per endpoint (HOOKRELAY_ENDPOINT_CONCURRENCY). */
  limiter?: EndpointLimiter;
  now?: () => Date;
  onAttempt?: (channel: string, outcome: ChannelAttemptResult['kind'], durationMs: number) => void;
}

/** Builds every activity from injected dependencies, so tests pass real servers in. */
export function createActivities(deps: ActivityDependencies) {
  const now = deps.now ?? (() => new Date());
  return {
    resolveTargets: createResolveTargetsActivity({ db: deps.db }),
    deliver: createDeliverActivity({ db: deps.db, box: deps.box, senders: deps.senders, now, limiter: deps.limiter, onAttempt: deps.onAttempt }),
    finalizeEvent: createFinalizeEventActivity({ db: deps.db, now }),
    ...createMuxLifecycleActivities({ db: deps.db, now }),
  };
}

export type HookrelayActivities = ReturnType<typeof createActivities>;
