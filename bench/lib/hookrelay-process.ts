import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../src/infra/free-port';
import { captureOutput, exitAsError, stopChild } from './child';

export type HookrelayRole = 'start' | 'worker' | 'dispatcher';

export interface HookrelayEnv {
  mongoUrl: string;
  database: string;
  temporalAddress: string;
  taskQueue: string;
  encryptionKey: string;
  /** Further variables for this process only, e.g. HOOKRELAY_ENDPOINT_CONCURRENCY. */
  env?: Record<string, string>;
}

/** What bench/lib/probe.cjs reports from inside a hookrelay process. */
export interface ProbeSnapshot {
  /** MongoDB collection calls so far, keyed "collection.method". */
  mongoCalls: Record<string, number>;
  /** Cumulative event-loop active/idle time of the main thread, ms. */
  eventLoop: { activeMs: number; idleMs: number };
  memory: { heapUsed: number; heapTotal: number; external: number; rss: number };
}

export interface HookrelayProcess {
  role: HookrelayRole;
  pid: number;
  /** Asks the preloaded probe for its counters. */
  probe(): Promise<ProbeSnapshot>;
  /** Last lines of its output (warnings and errors; LOG_LEVEL=warn). */
  output(): string;
  /** Rejects if the process exits before stop() is called. */
  exited: Promise<never>;
  stop(): Promise<void>;
}

const REPO_ROOT = join(__dirname, '..', '..');

/**
 * Runs the compiled `hookrelay <role>` (dist/, see built-cli.cjs) as a child process,
 * configured only through its environment as an operator would, with the bench's probe
 * preloaded. Returns once the
 * process is spawned; the caller checks it serves (see waitUntilServing).
 */
export async function launchHookrelay(role: HookrelayRole, config: HookrelayEnv): Promise<HookrelayProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'probe.cjs'), join(__dirname, 'built-cli.cjs'), role],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        MONGODB_URL: config.mongoUrl,
        MONGODB_DB: config.database,
        TEMPORAL_ADDRESS: config.temporalAddress,
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_TASK_QUEUE: config.taskQueue,
        HOOKRELAY_ENCRYPTION_KEY: config.encryptionKey,
        HOOKRELAY_ALLOW_HTTP: 'true',
        HOOKRELAY_ALLOWED_CIDRS: '127.0.0.0/8',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        ...config.env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  const output = captureOutput(child);
  let stopping = false;
  const exited = exitAsError(child, `hookrelay ${role}`, output);
  exited.catch(() => undefined);
  const pending = new Map<number, (snapshot: ProbeSnapshot) => void>();
  let nextId = 1;
  child.on('message', (message: { type?: string; id?: number } & ProbeSnapshot) => {
    if (message.type !== 'bench:probe' || message.id === undefined) return;
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  return {
    role,
    pid: child.pid!,
    output,
    exited,
    probe() {
      const id = nextId++;
      const answer = new Promise<ProbeSnapshot>((resolve) => pending.set(id, resolve));
      child.send({ type: 'bench:probe', id });
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`hookrelay ${role}: probe did not answer`)), 10_000).unref(),
      );
      return Promise.race([answer, exited, timeout]);
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      await stopChild(child);
    },
  };
}

/** Differences between two probe snapshots: MongoDB calls and event-loop utilization. */
export function probeDelta(before: ProbeSnapshot, after: ProbeSnapshot) {
  const mongoCalls: Record<string, number> = {};
  for (const [key, count] of Object.entries(after.mongoCalls)) {
    const delta = count - (before.mongoCalls[key] ?? 0);
    if (delta > 0) mongoCalls[key] = delta;
  }
  const active = after.eventLoop.activeMs - before.eventLoop.activeMs;
  const idle = after.eventLoop.idleMs - before.eventLoop.idleMs;
  return {
    mongoCalls,
    eventLoopUtilization: active + idle > 0 ? active / (active + idle) : Number.NaN,
    heapUsedMB: after.memory.heapUsed / 2 ** 20,
  };
}
