import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/infra/free-port';
import { startReceiver, type Receiver } from '../support/receiver';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin', 'hookrelay.js');
const READY_TIMEOUT_MS = 240_000;

/** Variables of the developer's shell that would change what `hookrelay dev` does. */
const CONFIG_VARIABLES = [
  'MONGODB_URL',
  'MONGODB_DB',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_UI_URL',
  'HOST',
  'PORT',
  'HOOKRELAY_ENCRYPTION_KEY',
  'HOOKRELAY_ALLOW_HTTP',
  'HOOKRELAY_ALLOWED_CIDRS',
  'LOG_LEVEL',
];

interface DevProcess {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDev(env: NodeJS.ProcessEnv): DevProcess {
  // Its own process group, like a command started in a terminal: Ctrl-C there signals the whole group.
  const child = spawn(process.execPath, [BIN, 'dev'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => out,
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = out.match(pattern);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`hookrelay dev exited (${child.exitCode}):\n${out}\n${err}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} in the output of hookrelay dev:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** Every process below `pid`, from /proc (the dev process's servers and their wrappers). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, …
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of parents) if (ppid === parent) (found.push(child), visit(child));
  };
  visit(pid);
  return found;
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** Running (not exited, not a zombie waiting to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The processes of `pids` still running after up to `ms` (a child may need a moment after its parent). */
async function survivors(pids: number[], ms = 5_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive).map((pid) => `${pid} ${commandLine(pid)}`);
}

/** Live processes whose command line mentions `text` (the servers name the state folder in their arguments). */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid && alive(Number(entry)))
    .map((entry) => commandLine(Number(entry)))
    .filter((line): line is string => line !== undefined && line.includes(text));
}

/** The pieces of the printed `curl -X POST URL -H '…' -H '…' -d '…'`, read as a shell would. */
function parseCurl(text: string): { url: string; headers: Record<string, string>; body: string } {
  const words: string[] = [];
  const pattern = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const match of text.replace(/\\\n/g, ' ').matchAll(pattern)) words.push(match[1] !== undefined ? match[1].replace(/'\\''/g, "'") : match[2]!);
  const headers: Record<string, string> = {};
  let url = '';
  let body = '';
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word === '-H') {
      const [name, ...value] = words[++i]!.split(':');
      headers[name!.trim().toLowerCase()] = value.join(':').trim();
    } else if (word === '-d') body = words[++i]!;
    else if (word === '-X') i++;
    else if (!word.startsWith('-')) url = word;
  }
  return { url, headers, body };
}

describe('hookrelay dev', () => {
  let stateDir: string;
  let receiver: Receiver;
  let env: NodeJS.ProcessEnv;
  let temporalAddress: string;
  let uiUrl: string;
  let apiUrl: string;
  let apiKey: string;
  let webhookId: string;
  let eventId: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'hookrelay-dev-'));
    receiver = await startReceiver();
    const [temporalPort, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    temporalAddress = `127.0.0.1:${temporalPort}`;
    env = { ...process.env };
    for (const name of CONFIG_VARIABLES) delete env[name];
    Object.assign(env, {
      HOOKRELAY_DEV_DIR: stateDir,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`,
      PORT: String(apiPort),
    });
  });

  afterAll(async () => {
    if (dev && dev.child.exitCode === null) {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
    await receiver?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it(
    'brings everything up, delivers an emitted event, finds its workflow by HookrelayEventType, and stops cleanly',
    async () => {
      dev = startDev(env);
      await dev.waitFor(/Press Ctrl-C to stop everything/, READY_TIMEOUT_MS);
      const printed = dev.output();
      apiUrl = printed.match(/^ {2}API +(http:\/\/\S+)$/m)![1]!;
      uiUrl = printed.match(/^ {2}Temporal UI +(http:\/\/\S+)$/m)![1]!;
      apiKey = printed.match(/^ {2}API key +(hr_[A-Za-z0-9_-]+) /m)![1]!;
      expect(apiUrl).toBe(`http://127.0.0.1:${env.PORT}`);
      expect(uiUrl).toBe(env.TEMPORAL_UI_URL);
      expect(printed).toContain(`${apiUrl}/docs`);
      expect(printed).toContain('HOOKRELAY_ALLOW_HTTP=true');
      expect(printed).toContain('Never use these settings in production');
      expect(readFileSync(join(stateDir, 'dev-api-key'), 'utf8').trim()).toBe(apiKey);

      // The docs page and the Temporal Web UI answer at the printed URLs.
      expect((await fetch(`${apiUrl}/docs`)).status).toBe(200);
      expect((await fetch(uiUrl)).status).toBe(200);

      // The printed curl, run as printed: a webhook that delivers to the dev echo receiver.
      const curl = parseCurl(printed.match(/^curl [\s\S]*?^ {2}-d .*$/m)![0]);
      expect(curl.url).toBe(`${apiUrl}/v1/organizations/webhooks`);
      expect(curl.headers.authorization).toBe(`Bearer ${apiKey}`);
      const echoCreated = await fetch(curl.url, { method: 'POST', headers: curl.headers, body: curl.body });
      expect(echoCreated.status, await echoCreated.clone().text()).toBe(201);
      // The same request pointed at this test's own receiver.
      const body = JSON.parse(curl.body) as { channels: Array<{ configs: { url: string } }> };
      body.channels[0]!.configs.url = receiver.url;
      const created = await fetch(curl.url, { method: 'POST', headers: curl.headers, body: JSON.stringify({ ...body, webhook_name: 'test-receiver' }) });
      expect(created.status).toBe(201);
      webhookId = ((await created.json()) as { webhook_id: string }).webhook_id;

      // The printed emit line, pasted into a shell.
      const emitLine = printed.match(/^MONGODB_URL=.* emit .*$/m)![0];
      const emitted = await run('sh', ['-c', emitLine], { cwd: ROOT, env, timeout: 60_000 });
      eventId = emitted.stdout.trim();
      expect(eventId).toMatch(/^evt_/);

      const [delivery] = await receiver.waitFor(1, 30_000);
      expect(JSON.parse(delivery!.body)).toMatchObject({ event_id: eventId, event_type: 'object.created' });
      expect(delivery!.headers['webhook-signature']).toMatch(/^v1,/);
      await dev.waitFor(new RegExp(`\\[echo receiver\\] received object\\.created · ${eventId}`), 30_000);

      // Temporal finds the event's workflow by its search attribute, directly and through the printed UI.
      const connection = await Connection.connect({ address: temporalAddress });
      try {
        const client = new Client({ connection });
        const query = `HookrelayEventType = 'object.created'`;
        let found: string[] = [];
        for (let attempt = 0; attempt < 50 && !found.includes(eventId); attempt++) {
          found = [];
          for await (const execution of client.workflow.list({ query })) found.push(execution.workflowId);
          if (!found.includes(eventId)) await new Promise((r) => setTimeout(r, 200));
        }
        expect(found).toContain(eventId);
      } finally {
        await connection.close();
      }
      const uiQuery = encodeURIComponent(`HookrelayEventType="object.created"`);
      const uiList = await fetch(`${uiUrl}/api/v1/namespaces/default/workflows?query=${uiQuery}`);
      expect(uiList.status).toBe(200);
      expect(await uiList.text()).toContain(eventId);
      expect(printed).toContain(`${uiUrl}/namespaces/default/workflows?query=${uiQuery}`);

      // Ctrl-C in a terminal (SIGINT to the whole process group): everything it started stops, nothing is left behind.
      const children = descendants(dev.child.pid!);
      expect(children.map(commandLine).join('\n')).toMatch(/temporal server start-dev/);
      expect(children.map(commandLine).join('\n')).toMatch(/MongoStandin|mongod/);
      process.kill(-dev.child.pid!, 'SIGINT');
      const { code } = await dev.exited;
      expect(code).toBe(0);
      expect(await survivors(children)).toEqual([]);
      expect(processesMentioning(stateDir)).toEqual([]);
      expect(existsSync(join(stateDir, 'dev.pid'))).toBe(false);
    },
    READY_TIMEOUT_MS + 120_000,
  );

  it(
    'starts again on the same folder with the same key, the webhooks and the workflow history',
    async () => {
      expect(eventId, 'the first test ran').toBeDefined();
      dev = startDev(env);
      await dev.waitFor(/Press Ctrl-C to stop everything/, READY_TIMEOUT_MS);
      expect(dev.output()).toMatch(new RegExp(`^ {2}API key +${apiKey} \\(development key; kept in`, 'm'));

      const response = await fetch(`${apiUrl}/v1/organizations/webhooks/${webhookId}`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ webhook_id: webhookId, webhook_name: 'test-receiver' });

      const connection = await Connection.connect({ address: temporalAddress });
      try {
        const description = await new Client({ connection }).workflow.getHandle(eventId).describe();
        expect(description.status.name).toBe('COMPLETED');
      } finally {
        await connection.close();
      }

      // And it still delivers.
      await run(process.execPath, [BIN, 'emit', '--type', 'object.updated', '--org', 'org_dev', '--metadata', '{"bucket_id":"b","object_id":"o"}'], {
        cwd: ROOT,
        env: { ...env, MONGODB_URL: dev.output().match(/^ {2}MongoDB +(mongodb:\/\/\S+)/m)![1] },
        timeout: 60_000,
      });
      await receiver.waitFor(2, 30_000);

      const children = descendants(dev.child.pid!);
      dev.child.kill('SIGTERM');
      expect((await dev.exited).code).toBe(0);
      expect(await survivors(children)).toEqual([]);
      expect(processesMentioning(stateDir)).toEqual([]);
    },
    READY_TIMEOUT_MS + 120_000,
  );

  it(
    'leaves no server behind even when killed with SIGKILL',
    async () => {
      dev = startDev(env);
      await dev.waitFor(/Press Ctrl-C to stop everything/, READY_TIMEOUT_MS);
      const children = descendants(dev.child.pid!);
      expect(children.length).toBeGreaterThan(0);
      dev.child.kill('SIGKILL');
      await dev.exited;
      // The servers are tied to the dev process through a pipe that closes when it dies.
      expect(await survivors(children, 15_000)).toEqual([]);
      expect(processesMentioning(stateDir)).toEqual([]);
    },
    READY_TIMEOUT_MS + 60_000,
  );

  it('refuses a busy port with a message naming it and the variable to change', async () => {
    const busy = await startReceiver();
    try {
      const port = new URL(busy.url).port;
      const { stderr } = await run(process.execPath, [BIN, 'dev'], {
        cwd: ROOT,
        env: { ...env, HOOKRELAY_DEV_DIR: join(stateDir, 'other'), PORT: port },
        timeout: 60_000,
      }).catch((error: { stderr: string; code: number }) => {
        expect(error.code).toBe(1);
        return error;
      });
      expect(stderr).toContain(`port ${port} on 127.0.0.1 (hookrelay API) is already in use`);
      expect(stderr).toContain('PORT=<port>');
    } finally {
      await busy.close();
    }
  });
});
