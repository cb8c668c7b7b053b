import { join } from 'node:path';
import { freePort } from '../../src/infra/free-port';
import { startMongoServer, type MongoServerHandle } from '../../src/infra/mongo-server';
import { startTemporalDevServer, type TemporalServerHandle } from '../../src/infra/temporal-server';

/** A server the controller can stop gracefully and start again on the same port and files. */
export interface RestartableServer {
  readonly name: 'temporal' | 'mongo';
  /** What the roles connect to; stays the same across restarts. */
  readonly address: string;
  /** False for a MongoDB given by MONGODB_URL: not ours to restart. */
  readonly restartable: boolean;
  readonly kind: string;
  /** Graceful stop, then start again; resolves with how long it was down (ms). */
  restart(onStopped?: () => void): Promise<{ downMs: number }>;
  stop(): Promise<void>;
}

/** `temporal server start-dev` backed by a SQLite file, on a fixed port (its state survives a restart). */
export async function startChaosTemporal(dataDir: string, log: (line: string) => void): Promise<RestartableServer> {
  const port = await freePort();
  const options = { ui: false, dbFile: join(dataDir, 'temporal.db'), port, log };
  let handle: TemporalServerHandle = await startTemporalDevServer(options);
  return {
    name: 'temporal',
    address: handle.address,
    restartable: true,
    kind: 'temporal dev server (SQLite file)',
    async restart(onStopped) {
      const started = Date.now();
      await handle.stop(); // SIGTERM through its tie: a graceful stop
      onStopped?.();
      handle = await startTemporalDevServer(options);
      return { downMs: Date.now() - started };
    },
    stop: () => handle.stop(),
  };
}

/**
 * MONGODB_URL when given (a real replica set: not restarted), else a mongod on PATH or
 * the H2-backed stand-in, on a fixed port and data folder so a graceful restart keeps
 * everything (the stand-in loses its last second of writes on SIGKILL: never kill it).
 */
export async function startChaosMongo(dataDir: string, log: (line: string) => void): Promise<RestartableServer> {
  const port = process.env.MONGODB_URL ? undefined : await freePort();
  const options = { backend: 'h2' as const, dataDir: join(dataDir, 'mongo'), port, log };
  let handle: MongoServerHandle = await startMongoServer(options);
  const restartable = handle.kind !== 'external';
  return {
    name: 'mongo',
    address: handle.url,
    restartable,
    kind: handle.kind === 'standin' ? 'mongo-java-server stand-in (H2 file)' : handle.kind === 'mongod' ? 'mongod (one-node replica set)' : 'external (MONGODB_URL)',
    async restart(onStopped) {
      if (!restartable) throw new Error('an external MongoDB (MONGODB_URL) is not restarted by the harness');
      const started = Date.now();
      await handle.stop(); // SIGTERM: the stand-in flushes and closes its H2 store
      onStopped?.();
      handle = await startMongoServer(options);
      return { downMs: Date.now() - started };
    },
    stop: () => handle.stop(),
  };
}
