import type { Arrivals } from './load';

/**
 * How big each scenario is. `full` is `npm run bench` (about 20–25 minutes on 2 cores);
 * `smoke` runs every scenario and baseline in seconds, only to show the harness works.
 */
export interface Profile {
  name: 'full' | 'smoke';
  latency: {
    /** Open-loop arrival rates, events (or workflow starts) per second. */
    ratesPerS: number[];
    /** Arrivals during the warm-up are sent but not measured. */
    warmupS: number;
    /** Measured arrivals per rate. */
    durationS: number;
    /** The transport floor is cheap and steady: a shorter window suffices. */
    transportDurationS: number;
    /** Longest wait for the last receipts after the last arrival. */
    drainS: number;
  };
  throughput: {
    /** Subscribers per event, and how many events the backlog holds at that fan-out. */
    runs: Array<{ fanOut: number; events: number }>;
    /** Requests the transport floor sends per run. */
    transportRequests: number;
    /** Seconds `hookrelay start` is watched with nothing to do, before the first run. */
    standbyS: number;
    /** Longest a run may wait for its receipts before it is cut off (reported incomplete). */
    timeoutS: number;
  };
  isolation: { fanOut: number; events: number; timeoutS: number };
  footprint: { fanOut: number; events: number; timeoutS: number };
  overload: {
    /** The healthy endpoint's open-loop rate, events per second, alone and under overload. */
    healthyRatePerS: number;
    /** Unmeasured arrivals before the unloaded window, and before the burst in the burst run's fresh process. */
    warmupS: number;
    /** Measured arrivals with the healthy endpoint alone. */
    unloadedS: number;
    /** Measured arrivals from the first slow event on, in each run (the slow backlog is not drained). */
    overloadS: number;
    /** Events for the slow endpoint in each run: at slowRatePerS in the steady run, all at once in the burst run. */
    slowEvents: number;
    /** Open-loop arrival rate of the slow endpoint's events in the steady run, events per second. */
    slowRatePerS: number;
    /**
     * How the steady run's (and its control's) events are spaced. The healthy stream's
     * are fixed, one every 1/rate seconds; fixed spacing here too would put each healthy
     * arrival within a millisecond of another for the whole run (both streams start
     * together), where two independent sources' arrivals fall at random.
     */
    slowArrivals: Arrivals;
    /** How long the slow receiver holds each request before answering 200. */
    slowHoldS: number;
    /** HOOKRELAY_ENDPOINT_CONCURRENCY of the hookrelay process. */
    endpointConcurrency: number;
    /** Longest wait for the healthy endpoint's last receipts after each window. */
    drainS: number;
  };
}

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    latency: { ratesPerS: [10, 50], warmupS: 5, durationS: 60, transportDurationS: 10, drainS: 20 },
    throughput: {
      runs: [
        { fanOut: 1, events: 1500 },
        { fanOut: 10, events: 400 },
        { fanOut: 100, events: 40 },
      ],
      transportRequests: 20_000,
      standbyS: 5,
      timeoutS: 90,
    },
    isolation: { fanOut: 10, events: 400, timeoutS: 90 },
    footprint: { fanOut: 10, events: 400, timeoutS: 90 },
    // About 14 minutes (three processes, seven 100 s windows): the 1,000 × 9 s backlog
    // would need 450 s at 20 in flight; only the healthy endpoint's windows are waited for.
    // The slow events arrive as fast as the healthy ones, 1,000 over the 100 s window: at
    // 50 ev/s (as until 2026-11-27), the arrivals alone took most of 2 cores, and the
    // control measured as far over 2 × as the slow endpoint did. The baseline window is
    // as long as the others, so each p99 is of as many events.
    overload: {
      healthyRatePerS: 10,
      warmupS: 5,
      unloadedS: 100,
      overloadS: 100,
      slowEvents: 1000,
      slowRatePerS: 10,
      slowArrivals: { kind: 'poisson', seed: 20261130 },
      slowHoldS: 9,
      endpointConcurrency: 20,
      drainS: 10,
    },
  },
  smoke: {
    name: 'smoke',
    latency: { ratesPerS: [10, 50], warmupS: 0.5, durationS: 1.5, transportDurationS: 1, drainS: 15 },
    throughput: {
      runs: [
        { fanOut: 1, events: 20 },
        { fanOut: 10, events: 4 },
        { fanOut: 100, events: 3 },
      ],
      transportRequests: 200,
      standbyS: 1,
      timeoutS: 60,
    },
    isolation: { fanOut: 10, events: 4, timeoutS: 60 },
    footprint: { fanOut: 10, events: 4, timeoutS: 60 },
    // A limit below the slow events' count, so the bound is reached even in a few seconds.
    overload: {
      healthyRatePerS: 10,
      warmupS: 0.5,
      unloadedS: 2,
      overloadS: 4,
      slowEvents: 20,
      slowRatePerS: 10,
      slowArrivals: { kind: 'poisson', seed: 20261130 },
      slowHoldS: 2,
      endpointConcurrency: 5,
      drainS: 15,
    },
  },
};
