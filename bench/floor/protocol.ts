/** Messages between the bench and the floor process (Node IPC). */

export interface FloorLatencyRequest {
  cmd: 'latency';
  runId: string;
  ratePerS: number;
  /** Workflows started during the first warmupMs are not measured. */
  warmupMs: number;
  durationMs: number;
  /** How long to wait after the last start for the last activities. */
  drainMs: number;
}

export interface FloorLatencyResult {
  /** Start-to-activity, ms: activity entry minus the moment before client.workflow.start. */
  latenciesMs: number[];
  sent: number;
  measured: number;
  received: number;
  startErrors: number;
  maxLagMs: number;
}

export interface FloorThroughputRequest {
  cmd: 'throughput';
  runId: string;
  fanOut: number;
  workflows: number;
  /** Workflow starts in flight at once (the dispatcher's default is 32). */
  concurrency: number;
  timeoutMs: number;
}

export interface FloorThroughputResult {
  /** When each activity ran, ms after the first start. */
  activityTimesMs: number[];
  expected: number;
  startsDoneMs: number;
  startErrors: number;
}

export type FloorRequest = FloorLatencyRequest | FloorThroughputRequest | { cmd: 'stop' };

export type FloorMessage =
  | { type: 'ready'; workerSettings: Record<string, unknown> }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };
