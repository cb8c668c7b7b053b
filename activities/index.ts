import type { Db } from 'mongodb';
import { AttemptSlots, DEFAULT_ATTEMPT_SLOTS } from '../src/delivery/attempt-slots';
import { AttemptsInFlight } from '../src/delivery/attempts-in-flight';
import type { ChannelAttemptResult, ChannelSenders } from '../src/delivery/channel-sender';
import type { EndpointBreaker } from '../src/delivery/endpoint-breaker';
import type { EndpointLimiter } from '../src/delivery/endpoint-limiter';
import type { Sealer } from '../src/store/channel-secrets';
import { RecentEvents } from '../src/store/recent-events';
import { ResolvedWebhooks } from '../src/store/resolved-webhooks';
import type { NotifyTurn } from '../src/temporal/delivery-turns';
import type { ReceiverWaits } from '../src/temporal/workflow-task-slots';
import { createDeliverActivity, createDeliveryAttempt, type DeliverDeps } from './deliver';
import { createFinalizeEventActivity } from './finalize-event';
import { createFirstRoundActivity } from './first-round';
import { createMuxLifecycleActivities } from './mux-lifecycle';
import { createResolveTargetsActivity } from './resolve-targets';

export interface ActivityDependencies {
  db: Db;
  /** Opens sealed channel secrets inside the activity, never in workflow code. */
  box: Sealer;
  senders: ChannelSenders;
  /** Bounds attempts in flight per endpoint (HOOKRELAY_ENDPOINT_CONCURRENCY). */
  limiter?: EndpointLimiter;
  /** Tells a workflow its deferred attempt may go out now (a Temporal signal; see src/temporal/delivery-turns.ts). */
  notifyTurn?: NotifyTurn;
  /** Leaves failing endpoints alone for a while (HOOKRELAY_BREAKER_FAILURES). */
  breaker?: EndpointBreaker;
  /** The worker's record of local attempts waiting on receivers (see src/temporal/workflow-task-slots.ts). */
  receiverWaits?: ReceiverWaits;
  /**
   * Bounds the first rounds' attempts in flight in this process; by default as many as the
   * worker's local-activity slots (src/temporal/worker.ts), which bounded them before.
   */
  attemptSlots?: AttemptSlots;
  /** How long a first round's attempt waits for one of those slots (FIRST_ROUND_SLOT_WAIT_MS). */
  firstRoundSlotWaitMs?: number;
  /** Shared with the dispatcher when both run in one process: it fills it as it starts events. */
  events?: RecentEvents;
  now?: () => Date;
  onAttempt?: (channel: string, outcome: ChannelAttemptResult['kind'], durationMs: number) => void;
}

/** Builds every activity from injected dependencies, so tests pass real servers in. */
export function createActivities(deps: ActivityDependencies) {
  const now = deps.now ?? (() => new Date());
  const events = deps.events ?? new RecentEvents();
  const resolved = new ResolvedWebhooks();
  const deliverDeps: DeliverDeps = {
    db: deps.db,
    box: deps.box,
    senders: deps.senders,
    now,
    events,
    resolved,
    inFlight: new AttemptsInFlight(),
    limiter: deps.limiter,
    notifyTurn: deps.notifyTurn,
    breaker: deps.breaker,
    receiverWaits: deps.receiverWaits,
    onAttempt: deps.onAttempt,
  };
  const resolveTargets = createResolveTargetsActivity({ db: deps.db, events, resolved });
  const finalizeEvent = createFinalizeEventActivity({ db: deps.db, now, events, resolved });
  return {
    deliverFirstRound: createFirstRoundActivity({
      resolveTargets,
      attempt: createDeliveryAttempt(deliverDeps),
      finalizeEvent,
      slots: deps.attemptSlots ?? new AttemptSlots(DEFAULT_ATTEMPT_SLOTS),
      ...(deps.firstRoundSlotWaitMs === undefined ? {} : { slotWaitMs: deps.firstRoundSlotWaitMs }),
    }),
    resolveTargets,
    deliver: createDeliverActivity(deliverDeps),
    finalizeEvent,
    ...createMuxLifecycleActivities({ db: deps.db, now }),
  };
}

export type HookrelayActivities = ReturnType<typeof createActivities>;
