import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { CLI_SEARCH_ATTRIBUTE_TYPES } from '../domain/search-attributes';
import { freePort } from './free-port';
import { toolsDir } from './repo-root';
import { headAndTailLines, spawnTied, stopTied } from './tied-process';

const run = promisify(execFile);

/** Newer CLI tags carry a `replace` directive in go.mod, which `go install` refuses. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/**
 * Dev-server settings that the product ships with (see docs/performance.md):
 * the single history shard's transfer-queue reader defaults to 20 reads/s, which adds
 * ~50 ms to every task hand-off; eager activity execution saves a round trip.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  'history.transferProcessorMaxPollRPS=1000',
  'system.enableActivityEagerExecution=true',
  // Task queue backlogs are served round-robin across fairness keys (the organization):
  // one organization's burst does not hold up the others'.
  'matching.enableFairness=true',
  // That order holds within a partition: new tasks all go to one (reads still cover the
  // default four, so tasks an earlier server spread over them are served).
  'matching.numTaskqueueWritePartitions=1',
];
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=off'];

/**
 * The dev server's Go garbage collector target (GOGC; Go's default is 100). The dev server
 * shares its machine with hookrelay; at 200 its collector runs half as often, which saved
 * the server about a sixth of its CPU per event in throughput-only benchmark runs, for
 * about a fifth more memory (see docs/performance.md). A GOGC set in the environment wins.
 */
export const DEV_SERVER_GOGC = '200';

/** The dev server's environment: the caller's, with DEV_SERVER_GOGC unless GOGC is set. */
export function devServerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.GOGC?.trim() ? env : { ...env, GOGC: DEV_SERVER_GOGC };
}

async function onPath(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${name}`]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds the Temporal CLI: TEMPORAL_CLI_PATH, then `temporal` on PATH, then the
 * project's own copy, built once from the official Go module into .tools/bin.
 */
export async function provisionTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = () => undefined,
): Promise<string> {
  if (env.TEMPORAL_CLI_PATH) {
    if (!existsSync(env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH points to ${env.TEMPORAL_CLI_PATH}, which does not exist`);
    }
    return env.TEMPORAL_CLI_PATH;
  }
  const fromPath = await onPath('temporal');
  if (fromPath) return fromPath;
  const binDir = join(toolsDir(), 'bin');
  const binary = join(binDir, 'temporal');
  if (existsSync(binary)) return binary;
  const go = await onPath('go');
  if (!go) {
    throw new Error(
      'Temporal CLI not found: set TEMPORAL_CLI_PATH, put `temporal` on PATH, or install Go so it can be built',
    );
  }
  mkdirSync(binDir, { recursive: true });
  log(`building the Temporal CLI (go install ${TEMPORAL_CLI_MODULE}); about 2-3 minutes the first time`);
  try {
    await run(go, ['install', TEMPORAL_CLI_MODULE], {
      env: { ...process.env, GOBIN: binDir, GOFLAGS: '-mod=mod' },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`building the Temporal CLI failed: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  }
  return binary;
}

export interface TemporalServerHandle {
  address: string;
  uiUrl?: string;
  namespace: string;
  stop(): Promise<void>;
}

export interface StartTemporalOptions {
  /** Serve the Web UI (development) or run headless (tests). */
  ui?: boolean;
  /** Keep state in this SQLite file; in memory when absent. */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  ip?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Extra `--dynamic-config-value` entries. */
  dynamicConfig?: string[];
}

/** Starts `temporal server start-dev` with hookrelay's search attributes and waits until it serves. */
export async function startTemporalDevServer(options: StartTemporalOptions = {}): Promise<TemporalServerHandle> {
  const log = options.log ?? (() => undefined);
  const cli = await provisionTemporalCli(options.env, log);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(cli, options);
    } catch (error) {
      // The dev server picks its internal services' ports itself: another process can take
      // one between its check and its listen. Another start picks others.
      if (!(error instanceof PortTaken) || attempt >= PORT_RACE_ATTEMPTS) throw error;
      log(`Temporal dev server: a port it chose was taken while it started; starting it again`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const PORT_RACE_ATTEMPTS = 3;

/** The dev server exited before serving because a port it chose was taken meanwhile. */
class PortTaken extends Error {}

async function startOnce(cli: string, options: StartTemporalOptions): Promise<TemporalServerHandle> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port || (await freePort(ip));
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'error'];
  let uiUrl: string | undefined;
  if (options.ui) {
    const uiPort = options.uiPort || (await freePort(ip));
    args.push('--ui-port', String(uiPort));
    uiUrl = `http://${ip}:${uiPort}`;
  } else {
    args.push('--headless');
  }
  if (options.dbFile) {
    args.push('--db-filename', options.dbFile);
    for (const pragma of SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  for (const [name, type] of Object.entries(CLI_SEARCH_ATTRIBUTE_TYPES)) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  for (const value of [...DEV_SERVER_DYNAMIC_CONFIG, ...(options.dynamicConfig ?? [])]) {
    args.push('--dynamic-config-value', value);
  }

  const child = spawnTied(cli, args, { env: devServerEnv({ ...process.env, ...options.env }) });
  const output = headAndTailLines(child.stderr);
  child.stdout.resume(); // read and dropped, so that a full pipe never blocks it
  const address = `${ip}:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => {
      const message = `Temporal dev server exited with code ${code} before serving: ${output()}`;
      reject(/address already in use/i.test(message) ? new PortTaken(message) : new Error(message));
    }),
  );
  exited.catch(() => undefined);
  const stopWaiting = new AbortController();
  try {
    await Promise.race([waitForFrontend(address, 60_000, stopWaiting.signal), exited]);
  } catch (error) {
    await stopTied(child);
    throw error;
  } finally {
    stopWaiting.abort();
  }
  return { address, uiUrl, namespace: 'default', stop: () => stopTied(child) };
}

/** The frontend's gRPC health check can pass early; a namespace lookup proves it serves. */
async function waitForFrontend(address: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline && !signal.aborted) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 1_000 });
      const ready = connection;
      await ready.withDeadline(Date.now() + 2_000, () => ready.workflowService.describeNamespace({ namespace: 'default' }));
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new Error(`Temporal dev server at ${address} did not become ready in ${timeoutMs} ms: ${String(lastError)}`);
}
