import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import type { ReceiverFault } from './receivers';
import type { RoleName } from './profiles';
import type { FaultKind } from './schedule';
import type { UnexpectedExit } from './roles';

/** One fault the controller carried out. */
export interface FaultRecord {
  kind: FaultKind;
  /** Planned and actual time, seconds from the start of the insert phase. */
  plannedAtS: number;
  atS: number;
  /** From the kill (or the stop) until the role or server served again. */
  downS: number;
}

export interface LatencySummary {
  count: number;
  p50S: number;
  p95S: number;
  p99S: number;
  maxS: number;
}

/** What a chaos run measured; chaos/results/<date>-full.json is this, pretty-printed. */
export interface ChaosResult {
  profile: 'ci' | 'full';
  seed: number;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    os: string;
    node: string;
    /** 1-minute load average when the run started and ended (the machine may be shared). */
    loadAverage?: { start: number; end: number };
  };
  /** `notes`: only in results of earlier runs, which the scorecard can still render. */
  servers: { temporal: string; mongo: string; notes?: string[] };
  config: {
    events: number;
    ratePerS: number;
    subscribers: number;
    receiverFaultRate: number;
    attemptTimeoutS: number;
    retryPolicy: Record<string, unknown>;
  };
  events: {
    planned: number;
    inserted: number;
    insertRetries: number;
    insertPhaseS: number;
    byStatus: Record<string, number>;
  };
  faults: {
    /** Injected faults by kind: controller faults and receiver answers. */
    injected: Record<string, number>;
    timeline: FaultRecord[];
    receiver: Record<ReceiverFault, number>;
    /** When the controller's last fault was over, seconds from the start of the insert phase. */
    controllerEndedAtS: number;
    /** When the receivers stopped failing (every delivery had had its first attempt, or the bound passed). */
    receiverFaultsEndedAtS: number;
    /** Deliveries that had had a first attempt by then. */
    attemptedWhenFaultsEnded?: number;
  };
  deliveries: {
    /** Events × subscribers. */
    expected: number;
    records: number;
    byStatus: Record<string, number>;
    /** Attempts the product recorded (sum of attempt_count). */
    attemptsRecorded: number;
    /** Requests the receivers saw. */
    attemptsReceived: number;
    /** Requests whose signature or envelope was wrong. */
    badRequests: number;
    /** Deliveries answered 2xx when the last event was inserted (absent in older results). */
    answeredWhenInsertsEnded?: number;
  };
  /** (event, subscriber) pairs that never got a 2xx answer. Must be 0. */
  lost: number;
  lostSample: string[];
  duplicates: {
    /** Deliveries (webhook-ids) answered 2xx more than once. */
    deliveries: number;
    /** 2xx answers beyond the first, in all. */
    extraAnswers: number;
    rate: number;
  };
  stuck: {
    /** Events left pending or dispatched plus deliveries not settled. Must be 0. */
    total: number;
    events: number;
    deliveries: number;
    /** Workflows still running on the run's task queue (-1: could not be counted). */
    openWorkflows: number;
    sample: string[];
  };
  settleS: number;
  latency: LatencySummary;
  /**
   * Insert → marked `dispatched` (its workflow started), from the inserter's clock and
   * the event's `dispatched_at`: where latency comes from the dispatcher rather than
   * delivery. Absent in results written before it was measured.
   */
  dispatchLatency?: LatencySummary;
  api: {
    requests: number;
    ok: number;
    /** 5xx while the API, MongoDB or Temporal was down or recovering. */
    serverErrorsInFaultWindows: number;
    /** 5xx anywhere else. Must be 0. */
    serverErrorsOutsideFaultWindows: number;
    /** Status codes of the 5xx answers, with counts. */
    serverErrorStatuses: Record<string, number>;
    /** No answer at all (refused, reset, timed out), mostly while the API was killed. */
    unanswered: number;
    unansweredOutsideFaultWindows: number;
  };
  roles: Record<RoleName, { starts: number; kills: number; startupP50S: number; startupMaxS: number }>;
  unexpectedExits: UnexpectedExit[];
  passed: boolean;
  failures: string[];
  /** Where the run's logs were kept (a failed run keeps them). */
  logs?: string;
}

export function machineInfo(loadAtStart?: number): ChaosResult['machine'] {
  const list = cpus();
  const end = Math.round(loadavg()[0]! * 10) / 10;
  return {
    ...(loadAtStart === undefined ? {} : { loadAverage: { start: Math.round(loadAtStart * 10) / 10, end } }),
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function summarizeLatency(valuesMs: number[]): LatencySummary {
  const sorted = [...valuesMs].sort((a, b) => a - b);
  const s = (ms: number) => Math.round(ms) / 1000;
  return {
    count: sorted.length,
    p50S: s(quantile(sorted, 0.5)),
    p95S: s(quantile(sorted, 0.95)),
    p99S: s(quantile(sorted, 0.99)),
    maxS: s(sorted[sorted.length - 1] ?? 0),
  };
}
