/**
 * How big a chaos run is. `ci` runs inside `npm test` (a few hundred events, well under
 * five minutes with server starts); `full` is the published run (`npm run chaos`).
 */
export type RoleName = 'worker' | 'dispatcher' | 'api';

export interface ChaosProfile {
  name: 'ci' | 'full';
  /** Events inserted into webhook_events, at a steady rate. */
  events: number;
  ratePerS: number;
  /** Webhooks subscribed to every event, one loopback receiver each. */
  subscribers: number;
  /** Share of attempts each receiver answers with a fault (500, reset, hang, 429). */
  receiverFaultRate: number;
  /** The webhook channel's `timeout` in seconds; a hanging receiver holds the request past it. */
  attemptTimeoutS: number;
  /** kill -9 per role during the insert phase. */
  kills: Record<RoleName, number>;
  /** A killed role is restarted after a pause drawn from this range (ms). */
  restartPauseMs: [number, number];
  /** Longest wait, after faults stop, for every event and delivery to settle. */
  settleTimeoutS: number;
}

export const PROFILES: Record<ChaosProfile['name'], ChaosProfile> = {
  ci: {
    name: 'ci',
    events: 300,
    ratePerS: 5,
    subscribers: 3,
    receiverFaultRate: 0.3,
    attemptTimeoutS: 2,
    kills: { worker: 3, dispatcher: 3, api: 3 },
    restartPauseMs: [500, 2_000],
    settleTimeoutS: 150,
  },
  full: {
    name: 'full',
    events: 10_000,
    ratePerS: 25,
    subscribers: 3,
    receiverFaultRate: 0.3,
    attemptTimeoutS: 2,
    kills: { worker: 8, dispatcher: 8, api: 8 },
    restartPauseMs: [1_000, 3_000],
    settleTimeoutS: 900,
  },
};
