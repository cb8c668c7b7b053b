/**
 * A circuit breaker per endpoint (one webhook channel) within a worker process. After
 * `failureThreshold` failed attempts in a row the endpoint is left alone for a cooling
 * period: attempts are deferred (the workflow waits in a timer) instead of being sent,
 * so a dead receiver costs timers rather than attempts that tie up worker slots and
 * server round trips. When the period ends one probe goes out; if it fails the next
 * period is twice as long (up to a minute), if it succeeds the endpoint is closed again.
 * Deferred attempts do not count against the retry policy; its expiration still bounds
 * how long a delivery is tried.
 */
export interface EndpointBreaker {
  /** Whether an attempt may be sent now, or how long to wait before asking again. */
  admit(endpoint: string): { send: true } | { send: false; waitMs: number };
  /** The endpoint answered: anything that is not a retryable failure. */
  succeeded(endpoint: string): void;
  /** A retryable failure: timeout, connection error, 5xx, 429. */
  failed(endpoint: string): void;
}

export const FIRST_COOLDOWN_MS = 5_000;
export const MAX_COOLDOWN_MS = 60_000;

interface BreakerState {
  consecutiveFailures: number;
  /** Set while open: no attempt before this time. */
  openUntil?: number;
  cooldownMs: number;
  probeInFlight: boolean;
}

export function createEndpointBreaker(
  failureThreshold: number,
  clock: () => number = Date.now,
  random: () => number = Math.random,
): EndpointBreaker {
  const endpoints = new Map<string, BreakerState>();
  // Deferred attempts come back spread over a cooling period, not all at its end.
  const spread = (untilMs: number, cooldownMs: number) => Math.round(Math.max(0, untilMs - clock()) + random() * cooldownMs);

  return {
    admit(endpoint) {
      const state = endpoints.get(endpoint);
      if (!state || state.openUntil === undefined) return { send: true };
      if (state.openUntil > clock()) return { send: false, waitMs: spread(state.openUntil, state.cooldownMs) };
      if (state.probeInFlight) return { send: false, waitMs: spread(clock(), state.cooldownMs) };
      state.probeInFlight = true;
      return { send: true };
    },

    succeeded(endpoint) {
      endpoints.delete(endpoint);
    },

    failed(endpoint) {
      if (failureThreshold <= 0) return;
      let state = endpoints.get(endpoint);
      if (!state) {
        state = { consecutiveFailures: 0, cooldownMs: FIRST_COOLDOWN_MS, probeInFlight: false };
        endpoints.set(endpoint, state);
      }
      state.consecutiveFailures++;
      if (state.probeInFlight) {
        state.probeInFlight = false;
        state.cooldownMs = Math.min(MAX_COOLDOWN_MS, state.cooldownMs * 2);
        state.openUntil = clock() + state.cooldownMs;
      } else if (state.openUntil === undefined && state.consecutiveFailures >= failureThreshold) {
        state.openUntil = clock() + state.cooldownMs;
      }
    },
  };
}
