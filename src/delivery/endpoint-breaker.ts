import { LRUCache } from 'lru-cache';

/**
 * A circuit breaker per endpoint (one webhook channel) within a worker process. After
 * `failureThreshold` failed attempts in a row the endpoint is left alone for a cooling
 * period: attempts are not sent, and wait for the period to end (the delivery activity
 * records each as a `circuit_open` attempt and retries after it), so a dead receiver
 * costs neither worker slots nor connections. When the period ends one probe goes out;
 * if it fails the next period is twice as long (up to a minute), if it gets an answer
 * the endpoint is closed again.
 */
export interface EndpointBreaker {
  /** Whether an attempt may be sent now (and whether it is the probe), or how long to wait. */
  admit(endpoint: string): { send: true; probe: boolean } | { send: false; waitMs: number };
  /** The endpoint answered: anything that is not a retryable failure. */
  succeeded(endpoint: string): void;
  /** A retryable failure (timeout, connection error, 5xx, 429) of an attempt admitted as `probe` or not. */
  failed(endpoint: string, probe: boolean): void;
  /** Failed attempts in a row that open the endpoint. */
  readonly failureThreshold: number;
}

export const FIRST_COOLDOWN_MS = 5_000;
export const MAX_COOLDOWN_MS = 60_000;

interface BreakerState {
  consecutiveFailures: number;
  /** Set while open or probing: no attempt but the probe before this time. */
  openUntil?: number;
  cooldownMs: number;
  probeInFlight: boolean;
}

export function createEndpointBreaker(
  failureThreshold: number,
  clock: () => number = Date.now,
  random: () => number = Math.random,
): EndpointBreaker {
  // Endpoints with failures in a row; an LRU so that many endpoints with a few each stay bounded.
  const endpoints = new LRUCache<string, BreakerState>({ max: 10_000 });
  // Waiting attempts come back spread over a cooling period, not all at its end.
  const spread = (untilMs: number, cooldownMs: number) => Math.round(Math.max(0, untilMs - clock()) + random() * cooldownMs);
  const open = (state: BreakerState) => {
    state.openUntil = clock() + state.cooldownMs;
  };

  return {
    failureThreshold,

    admit(endpoint) {
      const state = endpoints.get(endpoint);
      if (!state || state.openUntil === undefined) return { send: true, probe: false };
      if (state.openUntil > clock()) return { send: false, waitMs: spread(state.openUntil, state.cooldownMs) };
      if (state.probeInFlight) return { send: false, waitMs: spread(clock(), state.cooldownMs) };
      state.probeInFlight = true;
      return { send: true, probe: true };
    },

    succeeded(endpoint) {
      endpoints.delete(endpoint);
    },

    failed(endpoint, probe) {
      if (failureThreshold <= 0) return;
      let state = endpoints.get(endpoint);
      if (!state) {
        state = { consecutiveFailures: 0, cooldownMs: FIRST_COOLDOWN_MS, probeInFlight: false };
        endpoints.set(endpoint, state);
      }
      state.consecutiveFailures++;
      if (probe && state.probeInFlight) {
        state.probeInFlight = false;
        state.cooldownMs = Math.min(MAX_COOLDOWN_MS, state.cooldownMs * 2);
        open(state);
      } else if (state.openUntil === undefined && state.consecutiveFailures >= failureThreshold) {
        open(state);
      }
      // Attempts sent before the endpoint opened may still fail afterwards: they change nothing.
    },
  };
}
