import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * Runs a server binary that must not outlive us. The command runs under a tiny shell
 * wrapper that keeps our stdin pipe open and terminates the command when the pipe
 * closes, which happens when we close it deliberately or when this process dies for
 * any reason (even SIGKILL). Binaries we do not control (the Temporal CLI) get the
 * same guarantee as our own launcher.
 */
const WRAPPER = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'pid=$!',
  "trap 'kill -TERM $pid 2>/dev/null' TERM INT HUP",
  '( cat >/dev/null; kill -TERM $pid 2>/dev/null ) <&3 &',
  'exec 3<&-',
  'wait $pid; status=$?',
  'while kill -0 $pid 2>/dev/null; do wait $pid; status=$?; done',
  'exit $status',
].join('\n');

export type TiedProcess = ChildProcessByStdio<Writable, Readable, Readable>;

export function spawnTied(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): TiedProcess {
  const child = spawn('sh', ['-c', WRAPPER, 'hookrelay-tied', command, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.on('exit', () => child.stdin.destroy());
  // A closed pipe on our side must not crash us with EPIPE.
  child.stdin.on('error', () => undefined);
  return child;
}

/** Closes the tie (the wrapper then stops the command) and waits for the exit. */
export async function stopTied(child: TiedProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Keeps the first and the last lines a process wrote, for error messages that say why it
 * failed: a Go panic names its cause first and ends in a long stack trace.
 */
export function headAndTailLines(stream: Readable, head = 10, tail = 30): () => string {
  const first: string[] = [];
  const last: string[] = [];
  let partial = '';
  let dropped = 0;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (first.length < head) first.push(line);
      else last.push(line);
    }
    if (last.length > tail) dropped += last.splice(0, last.length - tail).length;
  });
  return () => [...first, ...(dropped > 0 ? [`… (${dropped} lines)`] : []), ...last, partial].filter(Boolean).join('\n');
}
