import { LRUCache } from 'lru-cache';

/**
 * Frees a slot; releasing twice frees it once. `sent` is false when nothing was sent
 * (the webhook was gone, the circuit open): such a hold says nothing about how long the
 * endpoint takes, so it is left out of the average deferrals are sized from.
 */
export type ReleaseSlot = (sent?: boolean) => void;

/** A deferred attempt that asks to be told when a slot frees up, should it have to wait long. */
export interface TurnRequest {
  /** The same for every attempt of one delivery in one run: an attempt that comes back keeps its place. */
  ticket: string;
  /**
   * Tells the waiting workflow to try again now. Resolves false when its run has closed
   * (nothing waits any more); rejects when it could not be told (Temporal unreachable).
   */
  notify: () => Promise<boolean>;
}

/** How an attempt that found its endpoint full should wait. */
export interface Deferral {
  /** How long to wait before trying again. */
  waitMs: number;
  /** Queued for a turn: the workflow will be told when a slot frees up, and waitMs is only the fallback. */
  queued: boolean;
}

/**
 * Bounds the attempts in flight to one endpoint within a worker process, so a slow
 * receiver cannot occupy every activity slot. An attempt that finds its endpoint full
 * is deferred (the workflow waits and tries again) instead of waiting in a slot, and it
 * is told how long to wait: roughly when a slot should be free for it, given the
 * attempts already deferred.
 *
 * Up to a minute ahead, that estimate is the wait. Past it (a slow endpoint with a
 * backlog), an attempt that brings a TurnRequest joins the endpoint's queue instead:
 * when a slot frees up, the first in the queue is told, and comes back at once. Each
 * queued attempt thus comes back about once, rather than polling a full endpoint every
 * minute (work that the server and the worker owe healthy endpoints), and the backlog
 * drains as fast as the endpoint answers. Its own timer is a long fallback, for a lost
 * notice (this process stopped). No slot is held for a notified attempt: on an endpoint
 * that answers quickly, a slot held for a workflow still waiting in the task queue
 * would stand idle.
 */
export interface EndpointLimiter {
  /** A release function when a slot was free; undefined when the endpoint is full. */
  tryAcquire(endpoint: string, ticket?: string): ReleaseSlot | undefined;
  /**
   * For an attempt that found the endpoint full. `attemptTimeoutMs` bounds how long the
   * attempts in flight can take, which is all that is known until one of them finishes.
   */
  defer(endpoint: string, attemptTimeoutMs: number, turn?: TurnRequest): Deferral;
  inFlight(endpoint: string): number;
  /** Deferred attempts queued for a turn at the endpoint. */
  queued(endpoint: string): number;
}

export interface EndpointLimiterOptions {
  clock?: () => number;
  random?: () => number;
  /** Runs `fn` after `ms`; returns a cancel function (tests pass a manual scheduler). */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** How far ahead an attempt may wait by estimate before it queues for a turn (MAX_DEFERRAL_MS). */
  horizonMs?: number;
}

/** Shortest and longest deferral by estimate; past the longest, attempts queue for a turn. */
export const MIN_DEFERRAL_MS = 500;
export const MAX_DEFERRAL_MS = 60_000;
/** Longest fallback wait of a queued attempt: how late it comes back if its notice is lost. */
export const MAX_QUEUED_DEFERRAL_MS = 300_000;
/** A queued attempt's fallback is at least this much past its expected turn. */
export const QUEUED_DEFERRAL_MARGIN_MS = 10_000;
/**
 * A notified attempt that has not come back within this long is dropped from the queue:
 * it ran on another worker process, or its delivery ended. Should it come back later and
 * find the endpoint full, it queues again.
 */
export const NOTICE_TIMEOUT_MS = 30_000;
/** A queued attempt this long past its fallback came back elsewhere, or gave up: it is dropped. */
export const STALE_AFTER_MS = 60_000;
/** How often a queue is swept of attempts that will not come back to this process. */
export const QUEUE_SWEEP_MS = 60_000;
/** Queued attempts per endpoint; past this, attempts wait by estimate only. */
export const MAX_QUEUED_PER_ENDPOINT = 10_000;
/** Weight of the newest attempt in the running average of how long attempts hold a slot. */
const HOLD_AVERAGE_WEIGHT = 0.2;

interface Waiter {
  notify: () => Promise<boolean>;
  /** When its turn is expected. */
  turnAt: number;
  /** When its fallback timer brings it back anyway. */
  fallbackAt: number;
  /** When it was last told a slot is free (0: not since it last found the endpoint full). */
  noticeAt: number;
}

interface EndpointState {
  /** Start times of the attempts in flight. */
  started: Set<{ at: number }>;
  /** When the last deferred attempt is expected to get its turn. */
  lastTurnAt: number;
  /** When the last attempt deferred by estimate is due: until then, freed slots are theirs. */
  estimatedTailAt: number;
  /** Attempts queued for a turn, by ticket, first in line first. */
  queue: Map<string, Waiter>;
  /** Cancels the pending call that tells the queue once the estimated attempts are due. */
  cancelTell?: () => void;
  /** Cancels the queue's next sweep. */
  cancelSweep?: () => void;
}

const defaultSchedule = (fn: () => void, ms: number) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export function createEndpointLimiter(maxPerEndpoint: number, options: EndpointLimiterOptions = {}): EndpointLimiter {
  const { clock = Date.now, random = Math.random, schedule = defaultSchedule, horizonMs = MAX_DEFERRAL_MS } = options;
  const endpoints = new Map<string, EndpointState>();
  // Running average of how long an attempt held its slot, kept while the endpoint is idle too.
  const averageHoldMs = new LRUCache<string, number>({ max: 10_000 });
  const stateOf = (endpoint: string): EndpointState => {
    let state = endpoints.get(endpoint);
    if (!state) {
      state = { started: new Set(), lastTurnAt: 0, estimatedTailAt: 0, queue: new Map() };
      endpoints.set(endpoint, state);
    }
    return state;
  };
  const forgetIfIdle = (endpoint: string, state: EndpointState) => {
    if (state.started.size === 0 && state.queue.size === 0 && state.lastTurnAt <= clock()) {
      state.cancelTell?.();
      state.cancelSweep?.();
      if (endpoints.get(endpoint) === state) endpoints.delete(endpoint);
    }
  };

  /** Whether a queued attempt will not come back to this process: its fallback is long past, or a notice went unanswered. */
  const goneElsewhere = (waiter: Waiter, now: number) =>
    waiter.fallbackAt + STALE_AFTER_MS < now || (waiter.noticeAt > 0 && now - waiter.noticeAt >= NOTICE_TIMEOUT_MS);

  /** Drops queued attempts that will not come back, so an endpoint no one releases does not keep them. */
  const sweep = (endpoint: string, state: EndpointState) => {
    state.cancelSweep = undefined;
    const now = clock();
    for (const [ticket, waiter] of state.queue) if (goneElsewhere(waiter, now)) state.queue.delete(ticket);
    if (state.queue.size === 0) queueDrained(state, now);
    else state.cancelSweep = schedule(() => sweep(endpoint, state), QUEUE_SWEEP_MS);
    forgetIfIdle(endpoint, state);
  };

  /** Tells as many queued attempts as there are free slots not yet offered to one. */
  const tellQueue = (endpoint: string, state: EndpointState) => {
    if (state.queue.size === 0) return;
    const now = clock();
    if (now < state.estimatedTailAt) {
      // Attempts deferred by estimate are due first; the queue's turn comes after them.
      state.cancelTell ??= schedule(() => {
        state.cancelTell = undefined;
        tellQueue(endpoint, state);
        forgetIfIdle(endpoint, state);
      }, state.estimatedTailAt - now);
      return;
    }
    let free = maxPerEndpoint - state.started.size;
    for (const [ticket, waiter] of state.queue) {
      if (free <= 0) break;
      if (goneElsewhere(waiter, now)) {
        state.queue.delete(ticket);
        continue;
      }
      free -= 1;
      if (waiter.noticeAt > 0) continue; // told already, on its way
      waiter.noticeAt = now;
      Promise.resolve()
        .then(waiter.notify)
        .then(
          (told) => {
            if (told || state.queue.get(ticket) !== waiter) return;
            // Its run has closed: the next in line gets the slot.
            state.queue.delete(ticket);
            tellQueue(endpoint, state);
            forgetIfIdle(endpoint, state);
          },
          () => {
            // Not told (Temporal unreachable): it stays first in line, to be told at the
            // next free slot, or brought back by its fallback; the rest of the queue is
            // not tried meanwhile.
            if (state.queue.get(ticket) === waiter) waiter.noticeAt = 0;
          },
        );
    }
    if (state.queue.size === 0) queueDrained(state, now);
  };

  /** With no one queued, the next deferral's turn comes after the estimated attempts only. */
  const queueDrained = (state: EndpointState, now: number) => {
    state.lastTurnAt = Math.min(state.lastTurnAt, Math.max(now, state.estimatedTailAt));
  };

  const holdEstimateMs = (endpoint: string, state: EndpointState, now: number, attemptTimeoutMs: number) => {
    let oldestAgeMs = 0;
    for (const slot of state.started) oldestAgeMs = Math.max(oldestAgeMs, now - slot.at);
    return Math.max(averageHoldMs.get(endpoint) ?? attemptTimeoutMs, oldestAgeMs);
  };

  /** Queues (or requeues, in its place) an attempt whose turn lies past the horizon. */
  const enqueue = (endpoint: string, state: EndpointState, turn: TurnRequest, turnAt: number, now: number): Deferral => {
    let waiter = state.queue.get(turn.ticket);
    if (waiter) {
      waiter.notify = turn.notify;
      waiter.turnAt = Math.max(waiter.turnAt, turnAt);
      waiter.noticeAt = 0; // it came back and found the endpoint full: tell it again next time
    } else {
      waiter = { notify: turn.notify, turnAt, fallbackAt: 0, noticeAt: 0 };
      state.queue.set(turn.ticket, waiter);
      state.lastTurnAt = Math.max(state.lastTurnAt, turnAt);
      state.cancelSweep ??= schedule(() => sweep(endpoint, state), QUEUE_SWEEP_MS);
    }
    // Past the expected turn, with room for the estimate to be off: the notice should come first.
    let waitMs = 2 * (waiter.turnAt - now) + QUEUED_DEFERRAL_MARGIN_MS;
    if (waitMs > MAX_QUEUED_DEFERRAL_MS) waitMs = MAX_QUEUED_DEFERRAL_MS * (0.5 + 0.5 * random());
    waiter.fallbackAt = now + waitMs;
    return { waitMs: Math.round(waitMs), queued: true };
  };

  return {
    tryAcquire(endpoint, ticket) {
      const state = stateOf(endpoint);
      if (state.started.size >= maxPerEndpoint) return undefined;
      if (ticket !== undefined && state.queue.delete(ticket) && state.queue.size === 0) queueDrained(state, clock());
      const slot = { at: clock() };
      state.started.add(slot);
      return (sent = true) => {
        if (!state.started.delete(slot)) return; // released already
        if (sent) {
          const heldMs = clock() - slot.at;
          const average = averageHoldMs.get(endpoint);
          averageHoldMs.set(endpoint, average === undefined ? heldMs : average + HOLD_AVERAGE_WEIGHT * (heldMs - average));
        }
        tellQueue(endpoint, state);
        forgetIfIdle(endpoint, state);
      };
    },

    defer(endpoint, attemptTimeoutMs, turn) {
      const state = stateOf(endpoint);
      const now = clock();
      // A slot frees up about every holdMs / maxPerEndpoint: this attempt's turn comes after the others'.
      const spacingMs = holdEstimateMs(endpoint, state, now, attemptTimeoutMs) / maxPerEndpoint;
      const turnAt = Math.max(now, state.lastTurnAt) + spacingMs;
      if (turn && (state.queue.has(turn.ticket) || (turnAt - now > horizonMs && state.queue.size < MAX_QUEUED_PER_ENDPOINT))) {
        return enqueue(endpoint, state, turn, turnAt, now);
      }
      if (turnAt - now <= MAX_DEFERRAL_MS) {
        state.lastTurnAt = turnAt;
        state.estimatedTailAt = Math.max(state.estimatedTailAt, turnAt);
        return { waitMs: Math.round(Math.max(MIN_DEFERRAL_MS, turnAt - now)), queued: false };
      }
      // Past the horizon without a turn: spread the returns evenly rather than bringing them
      // back together. They are not due at a turn, so the queue is not held back for them.
      state.lastTurnAt = Math.max(state.lastTurnAt, now + MAX_DEFERRAL_MS);
      return { waitMs: Math.round(MAX_DEFERRAL_MS * (0.5 + 0.5 * random())), queued: false };
    },

    inFlight: (endpoint) => endpoints.get(endpoint)?.started.size ?? 0,
    queued: (endpoint) => endpoints.get(endpoint)?.queue.size ?? 0,
  };
}
