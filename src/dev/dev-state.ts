import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StartupError } from '../runtime/startup-error';
import { generateEncryptionKey, keyFingerprint } from '../security/secret-box';

/**
 * What `hookrelay dev` keeps between runs, in one git-ignored folder (default
 * `.hookrelay/` in the current directory, or HOOKRELAY_DEV_DIR):
 *
 *   temporal.db           the Temporal dev server's SQLite store (workflow history)
 *   mongodb/              the MongoDB server's data (stand-in H2 file or mongod dbpath)
 *   encryption.key        HOOKRELAY_ENCRYPTION_KEY for the secrets sealed in mongodb/
 *   dev-api-key           the development API key, so the printed key stays valid
 *   echo-receiver-port    the echo receiver's port, so webhooks pointing at it keep working
 *   dev.pid               the running dev process (one per folder)
 *
 * Files holding secrets are written with mode 0600.
 */
export interface DevPaths {
  dir: string;
  temporalDb: string;
  mongoDir: string;
  encryptionKey: string;
  apiKey: string;
  echoPort: string;
  pidFile: string;
}

export const DEV_DIR_NAME = '.hookrelay';

export function devPaths(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): DevPaths {
  const dir = resolve(cwd, env.HOOKRELAY_DEV_DIR?.trim() || DEV_DIR_NAME);
  return {
    dir,
    temporalDb: join(dir, 'temporal.db'),
    mongoDir: join(dir, 'mongodb'),
    encryptionKey: join(dir, 'encryption.key'),
    apiKey: join(dir, 'dev-api-key'),
    echoPort: join(dir, 'echo-receiver-port'),
    pidFile: join(dir, 'dev.pid'),
  };
}

export function ensureDevDir(paths: DevPaths): void {
  try {
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StartupError(`cannot create the development state folder ${paths.dir}: ${(error as Error).message}`);
  }
}

function readTrimmed(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StartupError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Writes a file readable only by its owner, replacing any previous content atomically. */
function writePrivate(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/**
 * The encryption key of the development data: generated on the first run and kept,
 * because every secret in the MongoDB data is sealed with it.
 */
export function loadOrCreateEncryptionKey(paths: DevPaths): { key: string; created: boolean } {
  const stored = readTrimmed(paths.encryptionKey);
  if (stored !== undefined) {
    try {
      keyFingerprint(stored);
    } catch {
      throw new StartupError(
        `${paths.encryptionKey} does not hold a 32-byte base64 key; restore it, or delete the whole ${paths.dir} folder to start from scratch`,
      );
    }
    return { key: stored, created: false };
  }
  const key = generateEncryptionKey();
  try {
    // 'wx': if another process created it meanwhile, keep theirs.
    writeFileSync(paths.encryptionKey, `${key}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(paths.encryptionKey, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateEncryptionKey(paths);
    throw new StartupError(`cannot write ${paths.encryptionKey}: ${(error as Error).message}`);
  }
  return { key, created: true };
}

export function readDevApiKey(paths: DevPaths): string | undefined {
  return readTrimmed(paths.apiKey) || undefined;
}

export function saveDevApiKey(paths: DevPaths, key: string): void {
  writePrivate(paths.apiKey, `${key}\n`);
}

export function readEchoPort(paths: DevPaths): number | undefined {
  const text = readTrimmed(paths.echoPort);
  const port = text === undefined ? NaN : Number(text);
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

export function saveEchoPort(paths: DevPaths, port: number): void {
  writeFileSync(paths.echoPort, `${port}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One dev process per folder: two would share the data files. A pid file left by a
 * process that no longer runs (e.g. killed with SIGKILL) is taken over.
 */
export function claimDevDir(paths: DevPaths): () => void {
  const previous = Number(readTrimmed(paths.pidFile));
  if (Number.isInteger(previous) && previous > 0 && previous !== process.pid && isAlive(previous)) {
    throw new StartupError(
      `another hookrelay dev (pid ${previous}) is using ${paths.dir}; stop it first, or set HOOKRELAY_DEV_DIR to use another folder`,
    );
  }
  writeFileSync(paths.pidFile, `${process.pid}\n`);
  return () => {
    if (existsSync(paths.pidFile) && readTrimmed(paths.pidFile) === String(process.pid)) rmSync(paths.pidFile, { force: true });
  };
}
