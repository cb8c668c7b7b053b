// Provides a MongoDB server for tests and `hookrelay dev` (README, Real MongoDB versus the stand-in):
// MONGODB_URL, else a `mongod` on PATH (one-node replica set), else the
// mongo-java-server stand-in built from tools/mongo-standin with the machine's JDK and Maven.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { MongoClient } from 'mongodb';
import { repoRoot, toolsDir } from './repo-root';

export interface MongoServerHandle {
  url: string;
  kind: 'external' | 'mongod' | 'standin';
  stop(): Promise<void>;
}

export interface StartMongoOptions {
  backend: 'memory' | 'h2';
  /** Directory for persistent data: mongod's --dbpath, or the folder holding the H2 file. */
  dataDir?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Stand-in only: oplog entries kept (a replica set caps its oplog by size). Default 5,000. */
  oplogMaxEntries?: number;
}

/** Bump when the pom's library version changes; the stamp also hashes the sources. */
export const MONGO_STANDIN_VERSION = 'mongo-java-server-1.47.0';
/** File name of the H2 store inside dataDir. */
export const STANDIN_H2_FILE = 'standin.mv.db';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const STDERR_TAIL = 20;

export async function startMongoServer(opts: StartMongoOptions): Promise<MongoServerHandle> {
  const env = opts.env ?? process.env;
  if (env.MONGODB_URL) {
    return { url: env.MONGODB_URL, kind: 'external', stop: async () => {} };
  }
  if (opts.backend === 'h2' && !opts.dataDir) {
    throw new Error('mongo server: backend "h2" needs dataDir (where its data survives restarts)');
  }
  const mongod = findOnPath('mongod', env);
  if (mongod) return startMongod(mongod, opts, env);
  return startMongoStandin(opts);
}

// ---------------------------------------------------------------- stand-in

const provisioning = new Map<string, Promise<string>>();

export function provisionMongoStandin(tools: string = toolsDir()): Promise<string> {
  const root = repoRoot();
  const dir = path.resolve(tools, 'mongo-standin');
  // One build per directory per process; other processes are handled by the atomic rename.
  let p = provisioning.get(dir);
  if (!p) {
    p = buildStandin(path.join(root, 'tools', 'mongo-standin'), dir, process.env);
    provisioning.set(dir, p);
    p.catch(() => provisioning.delete(dir));
  }
  return p;
}

async function buildStandin(srcDir: string, dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const pom = path.join(srcDir, 'pom.xml');
  const sources = fs.readdirSync(srcDir).filter((f) => f.endsWith('.java')).sort().map((f) => path.join(srcDir, f));
  const hash = createHash('sha256').update(fs.readFileSync(pom));
  for (const source of sources) hash.update(path.basename(source)).update(fs.readFileSync(source));
  const stamp = `${MONGO_STANDIN_VERSION} ${hash.digest('hex').slice(0, 16)}\n`;
  const stampFile = (d: string) => path.join(d, 'stamp');
  if (readIfExists(stampFile(dir)) === stamp) return dir;

  // Build beside the target, then rename: concurrent builders never see a half-built dir.
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await runStep('Maven (mvn) fetching the mongo-java-server jars', 'mvn',
      ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(tmp, 'lib')}`], env);
    await runStep('javac compiling the stand-in launcher', javaTool('javac', env),
      ['-d', path.join(tmp, 'classes'), '-cp', path.join(tmp, 'lib', '*'), ...sources], env);
    fs.writeFileSync(stampFile(tmp), stamp);
    if (readIfExists(stampFile(dir)) !== stamp) {
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        fs.renameSync(tmp, dir);
      } catch (err) {
        // Another process won the race; fine if it built the same thing.
        if (readIfExists(stampFile(dir)) !== stamp) throw err;
      }
    }
    return dir;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Starts the stand-in directly, skipping MONGODB_URL and mongod (tests of the stand-in itself). */
export async function startMongoStandin(opts: StartMongoOptions): Promise<MongoServerHandle> {
  const env = opts.env ?? process.env;
  if (opts.backend === 'h2' && !opts.dataDir) throw new Error('mongo stand-in: backend "h2" needs dataDir');
  const dir = await provisionMongoStandin();
  const cp = [path.join(dir, 'lib', '*'), path.join(dir, 'classes')].join(path.delimiter);
  const args = [
    '-XX:+UseSerialGC', // small footprint on 2 cores
    '-cp', cp, 'MongoStandin',
    '--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--backend', opts.backend,
  ];
  if (opts.oplogMaxEntries !== undefined) args.push('--oplog-max-entries', String(opts.oplogMaxEntries));
  if (opts.backend === 'h2') {
    try {
      fs.mkdirSync(opts.dataDir!, { recursive: true });
    } catch (err) {
      throw new Error(`mongo stand-in: cannot create dataDir: ${(err as Error).message}`);
    }
    args.push('--file', path.join(opts.dataDir!, STANDIN_H2_FILE));
  }
  // stdin stays an open pipe: the stand-in exits when it closes, i.e. when we die.
  const child = spawn(javaTool('java', env), args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const tail = collectStderr(child, opts.log);

  const port = await new Promise<number>((resolve, reject) => {
    let settled = false;
    const fail = (msg: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`mongo stand-in: ${msg}${tail.text()}`));
    };
    const timer = setTimeout(() => fail(`did not print READY within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    // Kept after startup too: an 'error' event without a listener would crash the parent.
    child.on('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'ENOENT' ? 'no Java runtime found (install a JDK 17+ or set JAVA_HOME)' : `java failed: ${err.message}`));
    child.once('exit', (code, signal) => fail(`java exited before READY (code ${code}, signal ${signal})`));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^READY (\d+)$/.exec(line);
      if (settled || !m) return opts.log?.(line);
      settled = true;
      clearTimeout(timer);
      resolve(Number(m[1]));
    });
  });

  // Don't let a forgotten handle keep the parent alive; the stand-in follows it out via stdin EOF.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as net.Socket | null)?.unref?.();

  return {
    url: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    kind: 'standin',
    stop: once(() => {
      child.stdin?.end();
      return stopChild(child);
    }),
  };
}

// ---------------------------------------------------------------- mongod

async function startMongod(bin: string, opts: StartMongoOptions, env: NodeJS.ProcessEnv): Promise<MongoServerHandle> {
  const port = opts.port ?? (await freePort());
  const tempDir = opts.dataDir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'hookrelay-mongod-'));
  const dbpath = opts.dataDir ?? tempDir!;
  fs.mkdirSync(dbpath, { recursive: true });
  const child = spawn(bin, ['--replSet', 'rs0', '--bind_ip', '127.0.0.1', '--port', String(port), '--dbpath', dbpath],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = collectStderr(child, opts.log);
  readline.createInterface({ input: child.stdout! }).on('line', (l) => opts.log?.(l));
  const stop = once(async () => {
    await stopChild(child);
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  });

  let exited: string | undefined;
  child.on('error', (err) => (exited ??= `cannot start ${bin}: ${err.message}`));
  child.once('exit', (code, signal) => (exited ??= `mongod exited (code ${code}, signal ${signal})`));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const check = () => {
    if (exited) throw new Error(`mongod: ${exited}${tail.text()}`);
    if (Date.now() > deadline) throw new Error(`mongod: not PRIMARY within ${READY_TIMEOUT_MS / 1000} s${tail.text()}`);
  };
  let client: MongoClient | undefined;
  try {
    // A client whose first connect failed stays closed: make a new one per attempt.
    while (!client) {
      check();
      const attempt = new MongoClient(`mongodb://${host}/?directConnection=true`, { serverSelectionTimeoutMS: 1000 });
      client = await attempt.connect().catch(async () => {
        await attempt.close();
        await sleep(250);
        return undefined;
      });
    }
    const admin = client.db('admin');
    await ensureReplicaSet(admin, host).catch((err: Error) => {
      throw new Error(`mongod: replica set setup failed: ${err.message}${tail.text()}`);
    });
    for (;;) {
      check();
      const status = await admin.command({ replSetGetStatus: 1 }).catch(() => undefined);
      if (status?.myState === 1 /* PRIMARY */) break;
      await sleep(250);
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await client?.close();
  }
  return { url: `mongodb://${host}/?replicaSet=rs0&directConnection=true`, kind: 'mongod', stop };
}

/** Initiates rs0, or repoints a reused dbpath's config at this run's port. */
async function ensureReplicaSet(admin: ReturnType<MongoClient['db']>, host: string): Promise<void> {
  let config: { version: number; members: Array<{ host: string }> } | undefined;
  try {
    config = (await admin.command({ replSetGetConfig: 1 })).config;
  } catch (err) {
    if ((err as { code?: number }).code !== 94 /* NotYetInitialized */) throw err;
  }
  if (!config) {
    await admin.command({ replSetInitiate: { _id: 'rs0', members: [{ _id: 0, host }] } });
  } else if (config.members[0]?.host !== host) {
    const members = [{ ...config.members[0], host }];
    await admin.command({ replSetReconfig: { ...config, members, version: config.version + 1 }, force: true });
  }
}

// ---------------------------------------------------------------- helpers

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function javaTool(name: 'java' | 'javac', env: NodeJS.ProcessEnv): string {
  const home = env.JAVA_HOME;
  const candidate = home ? path.join(home, 'bin', name) : '';
  return candidate && fs.existsSync(candidate) ? candidate : name;
}

/** Runs a build step; the error names the step and carries its output. */
function runStep(step: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`mongo stand-in build: ${step} failed: ${err.code === 'ENOENT' ? `${cmd} not found on PATH` : err.message}`)));
    child.once('close', (code) => {
      if (code === 0) return resolve();
      const tailText = out.trim().split('\n').slice(-STDERR_TAIL).join('\n');
      reject(new Error(`mongo stand-in build: ${step} failed (exit ${code})\n${tailText}`));
    });
  });
}

/** Forwards stderr lines to log and keeps the last few for error messages. */
function collectStderr(child: ChildProcess, log?: (line: string) => void) {
  const lines: string[] = [];
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    log?.(line);
    lines.push(line);
    if (lines.length > STDERR_TAIL) lines.shift();
  });
  return { text: () => (lines.length ? `\nlast stderr lines:\n${lines.join('\n')}` : '') };
}

/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves once the process is gone. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
