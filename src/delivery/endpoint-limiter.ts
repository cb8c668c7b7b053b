import { LRUCache } from 'lru-cache';

/**
 * Frees a slot; releasing twice frees it once. `sent` is false when nothing was sent
 * (the webhook was gone, the circuit open): such a hold says nothing about how long the
 * endpoint takes, so it is left out of the average deferrals are sized from.
 */
export type ReleaseSlot = (sent?: boolean) => void;

/**
 * Bounds the attempts in flight to one endpoint within a worker process, so a slow
 * receiver cannot occupy every activity slot. An attempt that finds its endpoint full
 * is deferred (the workflow waits in a timer and tries again) instead of waiting in a
 * slot, and it is told how long to wait: roughly when a slot should be free for it,
 * given the queue of attempts already deferred. Each deferred attempt then comes back
 * about once, rather than polling a full endpoint, which would cost the server and the
 * worker work that healthy endpoints need.
 */
export interface EndpointLimiter {
  /** A release function when a slot was free; undefined when the endpoint is full. */
  tryAcquire(endpoint: string): ReleaseSlot | undefined;
  /**
   * For an attempt that found the endpoint full: how long to wait before trying again.
   * `attemptTimeoutMs` bounds how long the attempts in flight can take, which is all
   * that is known until one of them finishes.
   */
  deferralMs(endpoint: string, attemptTimeoutMs: number): number;
  inFlight(endpoint: string): number;
}

/** Shortest and longest deferral; the longest also bounds how late a recovered endpoint is noticed. */
export const MIN_DEFERRAL_MS = 500;
export const MAX_DEFERRAL_MS = 60_000;
/** Weight of the newest attempt in the running average of how long attempts hold a slot. */
const HOLD_AVERAGE_WEIGHT = 0.2;

interface EndpointState {
  /** Start times of the attempts in flight. */
  started: Set<{ at: number }>;
  /** When the last deferred attempt was told to come back. */
  lastTurnAt: number;
}

export function createEndpointLimiter(
  maxPerEndpoint: number,
  clock: () => number = Date.now,
  random: () => number = Math.random,
): EndpointLimiter {
  const endpoints = new Map<string, EndpointState>();
  // Running average of how long an attempt held its slot, kept while the endpoint is idle too.
  const averageHoldMs = new LRUCache<string, number>({ max: 10_000 });
  const stateOf = (endpoint: string): EndpointState => {
    let state = endpoints.get(endpoint);
    if (!state) {
      state = { started: new Set(), lastTurnAt: 0 };
      endpoints.set(endpoint, state);
    }
    return state;
  };
  const forgetIfIdle = (endpoint: string, state: EndpointState) => {
    if (state.started.size === 0 && state.lastTurnAt <= clock()) endpoints.delete(endpoint);
  };

  return {
    tryAcquire(endpoint) {
      const state = stateOf(endpoint);
      if (state.started.size >= maxPerEndpoint) return undefined;
      const slot = { at: clock() };
      state.started.add(slot);
      return (sent = true) => {
        if (!state.started.delete(slot)) return; // released already
        if (sent) {
          const heldMs = clock() - slot.at;
          const average = averageHoldMs.get(endpoint);
          averageHoldMs.set(endpoint, average === undefined ? heldMs : average + HOLD_AVERAGE_WEIGHT * (heldMs - average));
        }
        forgetIfIdle(endpoint, state);
      };
    },

    deferralMs(endpoint, attemptTimeoutMs) {
      const state = stateOf(endpoint);
      const now = clock();
      let oldestAgeMs = 0;
      for (const slot of state.started) oldestAgeMs = Math.max(oldestAgeMs, now - slot.at);
      const holdMs = Math.max(averageHoldMs.get(endpoint) ?? attemptTimeoutMs, oldestAgeMs);
      // A slot frees up about every holdMs / maxPerEndpoint: queue this attempt after the others.
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
  };
}
