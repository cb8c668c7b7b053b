import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolsDir } from './repo-root';

const run = promisify(execFile);

/**
 * Schemathesis (the API fuzzer the test suite runs against /openapi.json), installed from
 * PyPI into a project-local virtualenv (.tools/venv) and reused while the pin is unchanged.
 * 4.x reads OpenAPI 3.1, which the API serves.
 */
export const SCHEMATHESIS_VERSION = '4.32.5';

const STAMP = 'hookrelay-stamp';
const LOCK_STALE_MS = 10 * 60_000;

export function schemathesisVenv(): string {
  return join(toolsDir(), 'venv');
}

let provisioning: Promise<string> | undefined;

/** Path of the `st` executable, installing it first when needed. */
export function provisionSchemathesis(log: (line: string) => void = () => undefined): Promise<string> {
  provisioning ??= install(log).catch((error: unknown) => {
    provisioning = undefined;
    throw error;
  });
  return provisioning;
}

async function install(log: (line: string) => void): Promise<string> {
  const venv = schemathesisVenv();
  const st = join(venv, 'bin', 'st');
  const stamp = `schemathesis==${SCHEMATHESIS_VERSION}\n`;
  const ready = () => existsSync(st) && readIfExists(join(venv, STAMP)) === stamp;
  if (ready()) return st;

  // Virtualenvs cannot be moved once built, so concurrent provisioners take turns on a lock.
  const lock = `${venv}.lock`;
  mkdirSync(toolsDir(), { recursive: true });
  await acquire(lock);
  try {
    if (ready()) return st;
    const python = await findPython();
    log(`installing schemathesis ${SCHEMATHESIS_VERSION} from PyPI into ${venv}`);
    rmSync(venv, { recursive: true, force: true });
    await step('creating the virtualenv', python, ['-m', 'venv', venv]);
    await step('pip install schemathesis', join(venv, 'bin', 'python'), [
      '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`,
    ]);
    const { stdout } = await run(st, ['--version']);
    if (!stdout.includes(SCHEMATHESIS_VERSION)) throw new Error(`schemathesis reports "${stdout.trim()}", expected ${SCHEMATHESIS_VERSION}`);
    writeFileSync(join(venv, STAMP), stamp);
    return st;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function findPython(): Promise<string> {
  for (const candidate of ['python3', 'python']) {
    try {
      const { stdout, stderr } = await run(candidate, ['--version']);
      const match = /Python (\d+)\.(\d+)/.exec(`${stdout}${stderr}`);
      if (match && (Number(match[1]) > 3 || (Number(match[1]) === 3 && Number(match[2]) >= 9))) return candidate;
    } catch {
      // not this one
    }
  }
  throw new Error('schemathesis needs Python 3.9 or newer (python3 on PATH) to be installed into .tools/venv');
}

async function step(what: string, command: string, args: string[]): Promise<void> {
  try {
    await run(command, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message);
    throw new Error(`${what} failed: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  }
}

async function acquire(lock: string): Promise<void> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSafe(lock) ?? Date.now());
      if (age > LOCK_STALE_MS || Date.now() > deadline) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

function statSafe(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
