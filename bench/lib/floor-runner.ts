import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type {
  FloorLatencyRequest,
  FloorLatencyResult,
  FloorMessage,
  FloorThroughputRequest,
  FloorThroughputResult,
} from '../floor/protocol';
import { captureOutput, exitAsError, stopChild } from './child';
import type { BenchContext } from './context';
import { CLOSE_WAIT_MS, pollUntil } from './load';
import { beginWindow, type WindowFootprint } from './measure';
import { memoryMB } from './process-sampler';
import { round, steadyRate, type RateSummary } from './stats';
import { completedWorkflows, historyShape, type HistoryShape } from './temporal-history';

/** Bundles bench/floor/workflows.ts with bundleWorkflowCode into `dir`; returns the file. */
export async function bundleFloorWorkflows(dir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(__dirname, '..', 'floor', 'workflows.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const path = join(dir, 'floor-workflows.js');
  writeFileSync(path, code);
  return path;
}

export interface FloorProcess {
  pid: number;
  /** The worker's compiled options (slots, pollers, cache): hookrelay's, via createHookrelayWorker. */
  workerSettings: Record<string, unknown>;
  latency(request: Omit<FloorLatencyRequest, 'cmd'>): Promise<FloorLatencyResult>;
  throughput(request: Omit<FloorThroughputRequest, 'cmd'>): Promise<FloorThroughputResult>;
  stop(): Promise<void>;
}

/**
 * Starts the floor's worker + client in a child process (bench/floor/floor-process.ts)
 * on `taskQueue`, with hookrelay's worker settings, and waits until it polls.
 */
export async function launchFloor(options: {
  temporalAddress: string;
  taskQueue: string;
  bundlePath: string;
}): Promise<FloorProcess> {
  const child = fork(join(__dirname, '..', 'floor', 'floor-process.ts'), [], {
    execArgv: ['--require', 'tsx/cjs'],
    env: {
      ...process.env,
      BENCH_TEMPORAL_ADDRESS: options.temporalAddress,
      BENCH_TASK_QUEUE: options.taskQueue,
      BENCH_FLOOR_BUNDLE: options.bundlePath,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = captureOutput(child);
  const exited = exitAsError(child, 'floor process', output);
  exited.catch(() => undefined);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const ready = new Promise<Record<string, unknown>>((resolve) => {
    child.on('message', (message: FloorMessage) => {
      if (message.type === 'ready') return resolve(message.workerSettings);
      const waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`floor process: ${message.error}`));
    });
  });
  const call = <T>(request: object): Promise<T> => {
    const id = nextId++;
    const answer = new Promise<T>((resolve, reject) =>
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject }),
    );
    child.send({ id, ...request });
    return Promise.race([answer, exited]);
  };
  let workerSettings: Record<string, unknown>;
  try {
    workerSettings = await Promise.race([ready, exited]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    pid: child.pid!,
    workerSettings,
    latency: (request) => call<FloorLatencyResult>({ cmd: 'latency', ...request }),
    throughput: (request) => call<FloorThroughputResult>({ cmd: 'throughput', ...request }),
    async stop() {
      if (child.connected) child.send({ id: 0, cmd: 'stop' });
      await stopChild(child);
    },
  };
}

/** Sampler name of the floor process. */
export const FLOOR_TRACK_NAME = 'floor';

export interface FloorScope {
  taskQueue: string;
  floor: FloorProcess;
  /** Backlog workflows started on the task queue so far (to know when all completed). */
  backlogWorkflows: number;
  close(): Promise<void>;
}

/** The floor process on a fresh task queue of its own, measured by the sampler. */
export async function openFloorScope(ctx: BenchContext, scenario: string): Promise<FloorScope> {
  const taskQueue = `bench-floor-${scenario}-${ctx.runTag}`;
  const started = Date.now();
  const floor = await launchFloor({ temporalAddress: ctx.temporalAddress, taskQueue, bundlePath: ctx.floorBundlePath });
  ctx.log(`  floor process polling after ${Date.now() - started} ms`);
  ctx.observed.workerSettings ??= floor.workerSettings;
  ctx.sampler.track(FLOOR_TRACK_NAME, floor.pid, { threads: true });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    ctx.sampler.untrack(FLOOR_TRACK_NAME);
    await floor.stop();
  };
  const undefer = ctx.defer(close);
  return {
    taskQueue,
    floor,
    backlogWorkflows: 0,
    close: async () => {
      await close();
      undefer();
    },
  };
}

export interface FloorBacklogRun {
  fanOut: number;
  workflows: number;
  expected: number;
  received: number;
  complete: boolean;
  /** Activities per second (steady state: 20 %..90 % of the expected activities). */
  activities: RateSummary;
  /** activities.steadyPerS / fanOut. */
  workflowsPerS: number;
  footprint: WindowFootprint;
  /** The floor process's RSS just before the run (idle), MB. */
  rssBeforeMB: number;
  history?: HistoryShape;
}

/**
 * The floor's saturation run: `workflows` workflows of `fanOut` no-op activities each,
 * started as fast as 32 concurrent starts allow (the dispatcher's concurrency), counted
 * until every activity ran and every workflow closed.
 */
export async function runFloorBacklog(
  ctx: BenchContext,
  scope: FloorScope,
  options: { fanOut: number; workflows: number; timeoutS: number; runId: string },
): Promise<FloorBacklogRun> {
  const rssBeforeMB = round(memoryMB(scope.floor.pid).rss, 1);
  const window = beginWindow(ctx.sampler, [FLOOR_TRACK_NAME]);
  const started = Date.now();
  const result = await scope.floor.throughput({
    runId: options.runId,
    fanOut: options.fanOut,
    workflows: options.workflows,
    concurrency: 32,
    timeoutMs: options.timeoutS * 1000,
  });
  scope.backlogWorkflows += options.workflows;
  let complete = result.activityTimesMs.length >= result.expected && result.startErrors === 0;
  if (complete) {
    complete = await pollUntil(
      async () => (await completedWorkflows(ctx.temporal, scope.taskQueue)) >= scope.backlogWorkflows,
      Math.min(CLOSE_WAIT_MS, Math.max(0, started + options.timeoutS * 1000 - Date.now())),
      250,
      ctx.signal,
    );
  }
  const footprint = window.end(result.activityTimesMs.length);
  // A run cut short is measured over what ran (and reported incomplete).
  const activities = steadyRate(result.activityTimesMs, Math.min(result.expected, result.activityTimesMs.length));
  return {
    fanOut: options.fanOut,
    workflows: options.workflows,
    expected: result.expected,
    received: result.activityTimesMs.length,
    complete,
    activities,
    workflowsPerS: round(activities.steadyPerS / options.fanOut, 1),
    footprint,
    rssBeforeMB,
    history: await historyShape(ctx.temporal, `${options.runId}-${options.workflows - 1}`),
  };
}
