import { LRUCache } from 'lru-cache';

/**
 * Frees a slot; releasing twice frees it once. `sent` is false when nothing was sent
 * (the webhook was gone, the circuit open): such a hold says nothing about how long the
 * endpoint takes, so it is left out of the average deferrals are sized from.
 */
export type ReleaseSlot = (sent?: boolean) => void;

/** A deferred attempt that asks to be told when a slot is free for it. */
export interface TurnRequest {
  /** The same for every attempt of one delivery (its id): an attempt that comes back keeps its place. */
  ticket: string;
  /** Tells the waiting workflow to try again now; rejects when it cannot be told. */
  notify: () => Promise<void>;
}

/**
 * Bounds the attempts in flight to one endpoint within a worker process, so a slow
 * receiver cannot occupy every activity slot. An attempt that finds its endpoint full
 * is deferred (the workflow waits in a timer and tries again) instead of waiting in a
 * slot, and it is told how long to wait: roughly when a slot should be free for it,
 * given the queue of attempts already deferred.
 *
 * A deferred attempt that brings a TurnRequest joins the endpoint's queue: when a slot
 * frees up, it is kept for the attempt at the head and that attempt's workflow is told
 * at once. Each deferred attempt then comes back once, when it can go out, rather than
 * polling a full endpoint (work the server and the worker owe healthy endpoints), and
 * a backlog drains as fast as the endpoint answers. Its timer is only the fallback, for
 * when the notice is lost (this process stopped), so it is long.
 */
export interface EndpointLimiter {
  /**
   * A release function when a slot was free, or kept for this ticket; undefined when
   * the endpoint is full.
   */
  tryAcquire(endpoint: string, ticket?: string): ReleaseSlot | undefined;
  /**
   * For an attempt that found the endpoint full: how long to wait before trying again.
   * `attemptTimeoutMs` bounds how long the attempts in flight can take, which is all
   * that is known until one of them finishes. With a TurnRequest, the attempt is queued
   * to be told when its turn comes, and the wait returned is the fallback.
   */
  deferralMs(endpoint: string, attemptTimeoutMs: number, turn?: TurnRequest): number;
  inFlight(endpoint: string): number;
  /** Deferred attempts queued for a turn at the endpoint. */
  queued(endpoint: string): number;
}

export interface EndpointLimiterOptions {
  clock?: () => number;
  random?: () => number;
  /** Runs `fn` after `ms`; returns a cancel function (tests pass a manual scheduler). */
  schedule?: (fn: () => void, ms: number) => () => void;
}

/** Shortest and longest deferral without a turn; the longest also bounds how late a recovered endpoint is noticed. */
export const MIN_DEFERRAL_MS = 500;
export const MAX_DEFERRAL_MS = 60_000;
/** Longest fallback wait of a queued attempt: how late it comes back if its notice is lost. */
export const MAX_QUEUED_DEFERRAL_MS = 300_000;
/** A queued attempt's fallback is at least this much past its expected turn. */
export const QUEUED_DEFERRAL_MARGIN_MS = 10_000;
/** How long a slot is kept for a notified attempt before it passes to the next one. */
export const TURN_HOLD_MS = 30_000;
/** A queued attempt this long past its fallback came back elsewhere, or gave up: it is skipped. */
const STALE_AFTER_MS = 60_000;
/** Queued attempts per endpoint; past this, attempts are deferred without a turn. */
export const MAX_QUEUED_PER_ENDPOINT = 10_000;
/** Weight of the newest attempt in the running average of how long attempts hold a slot. */
const HOLD_AVERAGE_WEIGHT = 0.2;

interface Waiter {
  notify: () => Promise<void>;
  /** When its turn is expected. */
  turnAt: number;
  /** When its fallback timer brings it back anyway. */
  fallbackAt: number;
}

interface EndpointState {
  /** Start times of the attempts in flight. */
  started: Set<{ at: number }>;
  /** When the last deferred attempt was expected to get its turn. */
  lastTurnAt: number;
  /** Deferred attempts waiting for a turn, by ticket, oldest first. */
  queue: Map<string, Waiter>;
  /** Slots kept for notified attempts, by ticket: cancels the hold's expiry. */
  kept: Map<string, () => void>;
}

const defaultSchedule = (fn: () => void, ms: number) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export function createEndpointLimiter(maxPerEndpoint: number, options: EndpointLimiterOptions = {}): EndpointLimiter {
  const { clock = Date.now, random = Math.random, schedule = defaultSchedule } = options;
  const endpoints = new Map<string, EndpointState>();
  // Running average of how long an attempt held its slot, kept while the endpoint is idle too.
  const averageHoldMs = new LRUCache<string, number>({ max: 10_000 });
  const stateOf = (endpoint: string): EndpointState => {
    let state = endpoints.get(endpoint);
    if (!state) {
      state = { started: new Set(), lastTurnAt: 0, queue: new Map(), kept: new Map() };
      endpoints.set(endpoint, state);
    }
    return state;
  };
  const occupied = (state: EndpointState) => state.started.size + state.kept.size;
  const forgetIfIdle = (endpoint: string, state: EndpointState) => {
    if (occupied(state) === 0 && state.queue.size === 0 && state.lastTurnAt <= clock()) endpoints.delete(endpoint);
  };

  const acquire = (endpoint: string, state: EndpointState): ReleaseSlot => {
    const slot = { at: clock() };
    state.started.add(slot);
    return (sent = true) => {
      if (!state.started.delete(slot)) return; // released already
      if (sent) {
        const heldMs = clock() - slot.at;
        const average = averageHoldMs.get(endpoint);
        averageHoldMs.set(endpoint, average === undefined ? heldMs : average + HOLD_AVERAGE_WEIGHT * (heldMs - average));
      }
      passTurns(endpoint, state);
      forgetIfIdle(endpoint, state);
    };
  };

  /** Keeps each free slot for the oldest queued attempt still expected, and tells it. */
  const passTurns = (endpoint: string, state: EndpointState) => {
    const now = clock();
    for (const [ticket, waiter] of state.queue) {
      if (occupied(state) >= maxPerEndpoint) break;
      state.queue.delete(ticket);
      if (waiter.fallbackAt + STALE_AFTER_MS < now) continue;
      keep(endpoint, state, ticket, waiter);
    }
    if (state.queue.size === 0) state.lastTurnAt = Math.min(state.lastTurnAt, now);
  };

  const keep = (endpoint: string, state: EndpointState, ticket: string, waiter: Waiter) => {
    const drop = () => {
      if (state.kept.get(ticket) !== cancel) return; // claimed or dropped already
      cancel();
      state.kept.delete(ticket);
      passTurns(endpoint, state);
      forgetIfIdle(endpoint, state);
    };
    const cancel = schedule(drop, TURN_HOLD_MS);
    state.kept.set(ticket, cancel);
    // A workflow that cannot be told (it has closed) does not hold the slot.
    Promise.resolve()
      .then(waiter.notify)
      .catch(drop);
  };

  const holdEstimateMs = (endpoint: string, state: EndpointState, now: number, attemptTimeoutMs: number) => {
    let oldestAgeMs = 0;
    for (const slot of state.started) oldestAgeMs = Math.max(oldestAgeMs, now - slot.at);
    return Math.max(averageHoldMs.get(endpoint) ?? attemptTimeoutMs, oldestAgeMs);
  };

  return {
    tryAcquire(endpoint, ticket) {
      const state = stateOf(endpoint);
      const cancelHold = ticket === undefined ? undefined : state.kept.get(ticket);
      if (cancelHold) {
        cancelHold();
        state.kept.delete(ticket!);
        return acquire(endpoint, state);
      }
      if (occupied(state) >= maxPerEndpoint) return undefined;
      if (ticket !== undefined) state.queue.delete(ticket);
      return acquire(endpoint, state);
    },

    deferralMs(endpoint, attemptTimeoutMs, turn) {
      const state = stateOf(endpoint);
      const now = clock();
      // A slot frees up about every holdMs / maxPerEndpoint.
      const spacingMs = holdEstimateMs(endpoint, state, now, attemptTimeoutMs) / maxPerEndpoint;
      const queued = turn && (state.queue.get(turn.ticket) ?? (state.queue.size < MAX_QUEUED_PER_ENDPOINT ? undefined : null));
      if (turn && queued !== null) {
        let waiter = queued;
        if (!waiter) {
          waiter = { notify: turn.notify, turnAt: Math.max(now, state.lastTurnAt) + spacingMs, fallbackAt: 0 };
          state.lastTurnAt = waiter.turnAt;
          state.queue.set(turn.ticket, waiter);
        } else {
          waiter.notify = turn.notify; // the attempt that came back may belong to a later run
          waiter.turnAt = Math.max(waiter.turnAt, now + spacingMs);
        }
        // Past the expected turn, with room for the estimate to be off: the notice should come first.
        let waitMs = 2 * (waiter.turnAt - now) + QUEUED_DEFERRAL_MARGIN_MS;
        if (waitMs > MAX_QUEUED_DEFERRAL_MS) waitMs = MAX_QUEUED_DEFERRAL_MS * (0.5 + 0.5 * random());
        waiter.fallbackAt = now + waitMs;
        return Math.round(waitMs);
      }
      // Queue this attempt after the others.
      const turnAt = Math.max(now, state.lastTurnAt) + spacingMs;
      if (turnAt - now <= MAX_DEFERRAL_MS) {
        state.lastTurnAt = turnAt;
        return Math.round(Math.max(MIN_DEFERRAL_MS, turnAt - now));
      }
      // Past the horizon, spread the returns evenly rather than bringing them back together.
      state.lastTurnAt = now + MAX_DEFERRAL_MS;
      return Math.round(MAX_DEFERRAL_MS * (0.5 + 0.5 * random()));
    },

    inFlight: (endpoint) => endpoints.get(endpoint)?.started.size ?? 0,
    queued: (endpoint) => endpoints.get(endpoint)?.queue.size ?? 0,
  };
}
