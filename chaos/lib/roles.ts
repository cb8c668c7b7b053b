import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { RoleName } from './profiles';

const REPO_ROOT = join(__dirname, '..', '..');
const BIN = join(REPO_ROOT, 'bin', 'hookrelay.js');
const TIE = join(__dirname, 'tie.cjs');

/** The log line each role writes once it serves (pino JSON on stdout). */
const READY_MESSAGE: Record<RoleName, string> = {
  worker: 'worker running',
  dispatcher: 'dispatcher running',
  api: 'api listening',
};

/** A role process that ended without being killed by the controller. */
export interface UnexpectedExit {
  role: RoleName;
  /** Seconds from the start of the run. */
  atS: number;
  code: number | null;
  signal: string | null;
  /** It never became ready (start-up failed) or it failed while serving. */
  phase: 'start-up' | 'running';
  lastLines: string;
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * Runs one role as `node bin/hookrelay.js <role>` and keeps it running like a process
 * supervisor would: the controller kill -9s it and restarts it after a pause; if it
 * ends by itself it is restarted after a second and the exit is recorded.
 */
export class SupervisedRole {
  private child: Child | undefined;
  private generation = 0;
  private ready = false;
  private readyWaiters: Array<() => void> = [];
  private wanted = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private tail: string[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Start-up times (spawn to ready), ms. */
  readonly startupMs: number[] = [];
  starts = 0;
  kills = 0;

  constructor(
    readonly role: RoleName,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly runStartedAt: number,
    private readonly log: (line: string) => void,
  ) {}

  get isReady(): boolean {
    return this.ready;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.wanted = true;
    clearTimeout(this.restartTimer);
    if (this.child) return;
    const generation = ++this.generation;
    this.starts++;
    const spawnedAt = Date.now();
    const child = spawn(process.execPath, ['--require', TIE, BIN, this.role], {
      cwd: REPO_ROOT,
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.on('error', () => undefined);
    this.child = child;
    this.ready = false;
    this.tail = [];
    const file: WriteStream = createWriteStream(join(this.logDir, `${this.role}-${generation}.log`));
    let partial = '';
    const onData = (chunk: Buffer) => {
      file.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        this.tail.push(line);
        if (this.tail.length > 20) this.tail.shift();
        if (!this.ready && this.child === child && line.includes(`"msg":"${READY_MESSAGE[this.role]}"`)) {
          this.ready = true;
          this.startupMs.push(Date.now() - spawnedAt);
          for (const resolve of this.readyWaiters.splice(0)) resolve();
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      file.end();
      const wasReady = this.ready && this.child === child;
      if (this.child === child) {
        this.child = undefined;
        this.ready = false;
      }
      if (!this.wanted) return; // the controller's doing (kill9 or stop)
      this.unexpectedExits.push({
        role: this.role,
        atS: (Date.now() - this.runStartedAt) / 1000,
        code,
        signal,
        phase: wasReady ? 'running' : 'start-up',
        lastLines: this.tail.slice(-8).join('\n'),
      });
      this.log(`${this.role} exited by itself (code ${code}, signal ${signal}); restarting in 1 s`);
      this.restartTimer = setTimeout(() => this.wanted && this.start(), 1_000);
    });
  }

  /** Resolves once the current process serves. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.role} not ready within ${timeoutMs} ms; last output:\n${this.tail.join('\n')}`)),
        timeoutMs,
      );
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** kill -9; the caller restarts it with start() after its pause. */
  async kill9(): Promise<void> {
    const child = this.child;
    this.wanted = false;
    clearTimeout(this.restartTimer);
    if (!child) return;
    this.kills++;
    this.ready = false;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (SIGKILL after the timeout): the end of the run. */
  async stop(timeoutMs = 20_000): Promise<void> {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Last resort on an interrupted run (synchronous, for process 'exit'). */
  killNow(): void {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    this.child?.kill('SIGKILL');
  }
}
