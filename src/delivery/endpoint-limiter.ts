import { LRUCache } from 'lru-cache';

/**
 * Frees a slot; releasing twice frees it once. `sent` is false when nothing was sent
 * (the webhook was gone, the circuit open): such a hold says nothing about how long the
 * endpoint takes, so it is left out of the average deferrals are sized from.
 */
export type ReleaseSlot = (sent?: boolean) => void;

/** A deferred attempt that can be told when a slot is kept for it. */
export interface SlotWaiter {
  /** The same key on its next attempt claims the slot kept for it. */
  key: string;
  /**
   * Tells the waiting workflow to try again now. Resolves false when it is gone for good
   * (completed, terminated); rejects when it could not be told this time (Temporal down).
   */
  wake(): Promise<boolean>;
}

/**
 * Bounds the attempts in flight to one endpoint within a worker process, so a slow
 * receiver cannot occupy every activity slot. An attempt that finds its endpoint full
 * is deferred (the workflow waits and tries again) instead of waiting in a slot.
 *
 * A deferred attempt that can be woken joins the endpoint's queue: each slot that frees
 * up is kept for the queue's first waiter, which is woken at once. Its workflow then
 * comes back once, when there is room, however long the queue. A slot not claimed within
 * KEPT_SLOT_MS goes to the next waiter, and the late one takes whichever slot is kept
 * when it comes. Each waiter also gets a fallback delay, about twice its expected turn,
 * for when the wake-up never comes (this process restarted, or the workflow's next task
 * ran in another worker process).
 *
 * An attempt that cannot be woken is told roughly when a slot should be free for it,
 * given the attempts already deferred, up to a minute ahead: it then comes back about
 * once, rather than polling a full endpoint.
 */
export interface EndpointLimiter {
  /**
   * A release function when a slot was free, or was kept for `waiterKey` (or for a waiter
   * woken after it, when its own went on without it); undefined when the endpoint is full.
   */
  tryAcquire(endpoint: string, waiterKey?: string): ReleaseSlot | undefined;
  /**
   * For an attempt that found the endpoint full: how long to wait before trying again.
   * `attemptTimeoutMs` bounds how long the attempts in flight can take, which is all
   * that is known until one of them finishes. With a `waiter`, the attempt is queued (or
   * keeps its place) and woken when a slot is kept for it.
   */
  deferralMs(endpoint: string, attemptTimeoutMs: number, waiter?: SlotWaiter): number;
  inFlight(endpoint: string): number;
  /** Deferred attempts queued for the endpoint. */
  waiting(endpoint: string): number;
}

/**
 * Shortest deferral, and the longest of an attempt that cannot be woken (which also
 * bounds how late it notices that its endpoint recovered).
 */
export const MIN_DEFERRAL_MS = 500;
export const MAX_DEFERRAL_MS = 60_000;
/** Longest fallback delay of a queued attempt: only a lost wake-up waits this long. */
export const MAX_QUEUED_FALLBACK_MS = 10 * 60_000;
/** How long a slot stays kept for a woken attempt; past it, the slot goes to the next in the queue. */
export const KEPT_SLOT_MS = 5_000;
/** After a wake-up failed (Temporal unreachable), when the queue's first is tried again. */
export const WAKE_RETRY_MS = 1_000;
/** Weight of the newest attempt in the running average of how long attempts hold a slot. */
const HOLD_AVERAGE_WEIGHT = 0.2;

interface EndpointState {
  /** Start times of the attempts in flight. */
  started: Set<{ at: number }>;
  /** When the last deferred attempt that cannot be woken was told to come back. */
  lastTurnAt: number;
  /** Deferred attempts waiting for a slot, first come first served. */
  queue: Map<string, SlotWaiter>;
  /** Slots kept for woken attempts, by waiter key, each until its timer gives it on. */
  kept: Map<string, ReturnType<typeof setTimeout>>;
  /** Set while a failed wake-up waits to be tried again. */
  retry?: ReturnType<typeof setTimeout>;
}

export interface EndpointLimiterOptions {
  clock?: () => number;
  random?: () => number;
  /** Runs `fn` after `ms`; the returned handle is given to `cancel`. */
  schedule?: (fn: () => void, ms: number) => ReturnType<typeof setTimeout>;
  cancel?: (handle: ReturnType<typeof setTimeout>) => void;
}

export function createEndpointLimiter(maxPerEndpoint: number, options: EndpointLimiterOptions = {}): EndpointLimiter {
  const {
    clock = Date.now,
    random = Math.random,
    schedule = (fn, ms) => setTimeout(fn, ms).unref(),
    cancel = clearTimeout,
  } = options;
  const endpoints = new Map<string, EndpointState>();
  // Running average of how long an attempt held its slot, kept while the endpoint is idle too.
  const averageHoldMs = new LRUCache<string, number>({ max: 10_000 });
  // Woken attempts whose kept slot went on without them (they came later than KEPT_SLOT_MS):
  // when they come, they take any slot kept for another, or rejoin the queue at its head.
  const lapsed = new LRUCache<string, true>({ max: 10_000 });

  const stateOf = (endpoint: string): EndpointState => {
    let state = endpoints.get(endpoint);
    if (!state) {
      state = { started: new Set(), lastTurnAt: 0, queue: new Map(), kept: new Map() };
      endpoints.set(endpoint, state);
    }
    return state;
  };
  const forgetIfIdle = (endpoint: string, state: EndpointState) => {
    const busy = state.started.size + state.kept.size + state.queue.size > 0 || state.retry !== undefined;
    if (!busy && state.lastTurnAt <= clock()) {
      endpoints.delete(endpoint);
    }
  };
  const occupied = (state: EndpointState) => state.started.size + state.kept.size;

  const takeSlot = (endpoint: string, state: EndpointState): ReleaseSlot => {
    const slot = { at: clock() };
    state.started.add(slot);
    return (sent = true) => {
      if (!state.started.delete(slot)) return; // released already
      if (sent) {
        const heldMs = clock() - slot.at;
        const average = averageHoldMs.get(endpoint);
        averageHoldMs.set(endpoint, average === undefined ? heldMs : average + HOLD_AVERAGE_WEIGHT * (heldMs - average));
      }
      handOn(endpoint, state);
    };
  };

  /** Keeps each free slot for the next queued attempt and wakes it. */
  const handOn = (endpoint: string, state: EndpointState) => {
    while (state.queue.size > 0 && occupied(state) < maxPerEndpoint) {
      const [key, waiter] = state.queue.entries().next().value as [string, SlotWaiter];
      state.queue.delete(key);
      const giveOn = () => {
        if (!state.kept.delete(key)) return; // claimed already
        handOn(endpoint, state);
      };
      state.kept.set(
        key,
        schedule(() => {
          if (state.kept.has(key)) lapsed.set(key, true);
          giveOn();
        }, KEPT_SLOT_MS),
      );
      const unkeep = () => {
        const timer = state.kept.get(key);
        if (timer !== undefined) cancel(timer);
        return timer !== undefined;
      };
      Promise.resolve()
        .then(() => waiter.wake())
        .then(
          (woken) => {
            // A workflow that is gone cannot take its slot: it goes on at once.
            if (!woken && unkeep()) giveOn();
          },
          () => {
            // Not told this time (Temporal unreachable): it keeps its place and the slot
            // is free for whoever comes first. Waking the rest of the queue now would only
            // repeat the failure: the next release, or a retry in a second, tries again.
            if (!unkeep()) return;
            state.kept.delete(key);
            requeueAtHead(state, key, waiter);
            if (state.retry === undefined) {
              state.retry = schedule(() => {
                state.retry = undefined;
                handOn(endpoint, state);
              }, WAKE_RETRY_MS);
            }
          },
        );
    }
    forgetIfIdle(endpoint, state);
  };

  const requeueAtHead = (state: EndpointState, key: string, waiter: SlotWaiter) => {
    const rest = [...state.queue].filter(([queuedKey]) => queuedKey !== key);
    state.queue.clear();
    state.queue.set(key, waiter);
    for (const [queuedKey, queued] of rest) state.queue.set(queuedKey, queued);
  };

  const holdEstimateMs = (endpoint: string, state: EndpointState, attemptTimeoutMs: number) => {
    const now = clock();
    let oldestAgeMs = 0;
    for (const slot of state.started) oldestAgeMs = Math.max(oldestAgeMs, now - slot.at);
    return Math.max(averageHoldMs.get(endpoint) ?? attemptTimeoutMs, oldestAgeMs);
  };

  const queue = (state: EndpointState, waiter: SlotWaiter): number => {
    if (!state.queue.has(waiter.key)) {
      if (lapsed.delete(waiter.key)) requeueAtHead(state, waiter.key, waiter);
      else state.queue.set(waiter.key, waiter);
    }
    let position = 0;
    for (const key of state.queue.keys()) {
      if (key === waiter.key) break;
      position += 1;
    }
    return position;
  };

  return {
    tryAcquire(endpoint, waiterKey) {
      const state = stateOf(endpoint);
      if (waiterKey === undefined) return occupied(state) < maxPerEndpoint ? takeSlot(endpoint, state) : undefined;
      const keptFor = state.kept.has(waiterKey)
        ? waiterKey
        : // Woken, but later than its slot was kept: it takes one kept for a waiter woken
          // after it, who is then the late one. However long wake-ups take, the woken
          // attempts that do come get the kept slots, and the endpoint keeps sending.
          lapsed.has(waiterKey)
          ? state.kept.keys().next().value
          : undefined;
      if (keptFor !== undefined) {
        cancel(state.kept.get(keptFor)!);
        state.kept.delete(keptFor);
        if (keptFor !== waiterKey) lapsed.set(keptFor, true);
      } else if (occupied(state) >= maxPerEndpoint) {
        return undefined;
      }
      // It may also be queued (back early on its timer) or marked late: it is neither now.
      state.queue.delete(waiterKey);
      lapsed.delete(waiterKey);
      return takeSlot(endpoint, state);
    },

    deferralMs(endpoint, attemptTimeoutMs, waiter) {
      const state = stateOf(endpoint);
      const holdMs = holdEstimateMs(endpoint, state, attemptTimeoutMs);
      if (waiter) {
        const position = queue(state, waiter);
        // A slot frees up about every holdMs / maxPerEndpoint.
        const turnMs = ((position + 1) * holdMs) / maxPerEndpoint;
        // Room already (the slot this attempt found taken was freed meanwhile): wake it now.
        handOn(endpoint, state);
        return Math.round(Math.min(MAX_QUEUED_FALLBACK_MS, Math.max(MIN_DEFERRAL_MS, 2 * turnMs)));
      }
      const now = clock();
      // Queue this attempt after the others deferred without a wake-up.
      const turnAt = Math.max(now, state.lastTurnAt) + holdMs / maxPerEndpoint;
      if (turnAt - now <= MAX_DEFERRAL_MS) {
        state.lastTurnAt = turnAt;
        return Math.round(Math.max(MIN_DEFERRAL_MS, turnAt - now));
      }
      // Past the horizon, spread the returns evenly rather than bringing them back together.
      state.lastTurnAt = now + MAX_DEFERRAL_MS;
      return Math.round(MAX_DEFERRAL_MS * (0.5 + 0.5 * random()));
    },

    inFlight: (endpoint) => endpoints.get(endpoint)?.started.size ?? 0,
    waiting: (endpoint) => endpoints.get(endpoint)?.queue.size ?? 0,
  };
}
