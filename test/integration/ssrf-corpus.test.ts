import { mkdirSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import net, { type LookupFunction, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BlockedDestinationError,
  createHttpTransport,
  InvalidDestinationError,
  type HttpTransport,
} from '../../src/delivery/http-transport';
import { toolsDir } from '../../src/infra/repo-root';
import { parseCidrList } from '../../src/security/ssrf';
import {
  corpusAnswers,
  formUrl,
  LOOPBACK_LISTENERS,
  SSRF_CORPUS,
  type LoopbackListener,
  type SsrfForm,
} from '../support/ssrf-corpus';

/**
 * The shared SSRF corpus (test/support/ssrf-corpus.ts) through the real transport with
 * an EMPTY allow-list, as production runs it. Listeners on every loopback address a form
 * could land on (127.0.0.1, 127.0.0.2, 127.255.255.254, ::1, all on one port) count TCP
 * connections; every client socket's connection attempts are recorded too, so forms
 * pointing where nothing can listen (10/8, multicast…) are shown to fail before any
 * connect, in the guard (BlockedDestinationError is only ever raised by it).
 */

interface Listener {
  host: LoopbackListener;
  server: Server;
  connections: number;
  openSockets: number;
  requests: string[];
}

const listeners = new Map<LoopbackListener, Listener>();
let port = 0;

const transports: HttpTransport[] = [];
function transport(allowed: string, lookup: LookupFunction = corpusResolver()): HttpTransport {
  const created = createHttpTransport({ allowHttp: true, allowedCidrs: parseCidrList(allowed), userAgent: 'hookrelay/test', lookup });
  transports.push(created);
  return created;
}

/** Answers from the corpus table (all: true shape); ENOTFOUND for anything else. */
function corpusResolver(): LookupFunction & { asked: string[] } {
  const table = corpusAnswers();
  const asked: string[] = [];
  const lookup = ((hostname: string, _options: unknown, callback: (...args: unknown[]) => void) => {
    const key = hostname.replace(/\.$/, '').toLowerCase();
    asked.push(key);
    const answers = table[key];
    if (!answers) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo' });
      return process.nextTick(() => callback(error));
    }
    process.nextTick(() => callback(null, answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))));
  }) as unknown as LookupFunction & { asked: string[] };
  lookup.asked = asked;
  return lookup;
}

// Every client socket in this process goes through Socket.prototype.connect (net.connect
// and tls.connect alike); 'connectionAttempt' fires for each TCP connect it starts.
const sockets: Socket[] = [];
const attempts: Array<{ address: string; port: number }> = [];
const originalConnect = net.Socket.prototype.connect;

function watchConnections(): void {
  net.Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    sockets.push(this);
    this.on('connectionAttempt', (address: string, attemptPort: number) => attempts.push({ address, port: attemptPort }));
    return (originalConnect as (...a: unknown[]) => Socket).apply(this, args);
  } as typeof originalConnect;
}

function resetCounters(): void {
  sockets.length = 0;
  attempts.length = 0;
  for (const listener of listeners.values()) {
    listener.connections = 0;
    listener.requests.length = 0;
  }
}

async function listen(host: LoopbackListener, onPort: number): Promise<Listener> {
  const listener: Listener = { host, server: undefined as unknown as Server, connections: 0, openSockets: 0, requests: [] };
  const server = http.createServer((req, res) => {
    listener.requests.push(req.url ?? '');
    const redirect = SSRF_CORPUS.find((form) => form.kind === 'redirect' && req.url === new URL(formUrl(form.url, port)).pathname);
    if (redirect?.kind === 'redirect') {
      res.writeHead(302, { location: formUrl(redirect.location, port), connection: 'close' }).end();
      return;
    }
    // A fresh connection per request, so every send is a new connect (and a new resolution).
    res.writeHead(200, { connection: 'close' }).end('ok');
  });
  server.on('connection', (socket) => {
    listener.connections += 1;
    listener.openSockets += 1;
    socket.on('close', () => (listener.openSockets -= 1));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(onPort, host, () => resolve());
  });
  listener.server = server;
  return listener;
}

async function closeListeners(): Promise<void> {
  await Promise.all(
    [...listeners.values()].map(
      ({ server }) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
  listeners.clear();
}

/** All loopback listeners on one port; retried with a new port if another process holds it. */
async function startListeners(): Promise<void> {
  for (let round = 0; round < 10; round += 1) {
    try {
      const first = await listen('127.0.0.1', 0);
      listeners.set('127.0.0.1', first);
      port = (first.server.address() as net.AddressInfo).port;
      for (const host of LOOPBACK_LISTENERS.slice(1)) {
        try {
          listeners.set(host, await listen(host, port));
        } catch (error) {
          // No IPv6 loopback on this machine: its forms are still checked, just without a listener.
          if (host === '::1' && (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') continue;
          throw error;
        }
      }
      return;
    } catch {
      await closeListeners();
    }
  }
  throw new Error('could not bind the loopback listeners on one port');
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the send to be refused');
}

const send = (t: HttpTransport, url: string) => t.send({ url, headers: {}, body: '{"probe":true}', timeoutMs: 3_000 });

/** Lets a connection that was (wrongly) started reach its listener before counting. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

function expectNoConnection(label: string): void {
  expect(attempts, `${label}: TCP connection attempts`).toEqual([]);
  for (const listener of listeners.values()) {
    expect(listener.connections, `${label}: connections to ${listener.host}`).toBe(0);
  }
}

const tally = { tried: 0, blocked: 0 };
const outcome = new Map<string, boolean>();

beforeAll(async () => {
  await startListeners();
  watchConnections();
});

beforeEach(resetCounters);

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  net.Socket.prototype.connect = originalConnect;
  await closeListeners();
  const reports = join(toolsDir(), 'reports');
  mkdirSync(reports, { recursive: true });
  writeFileSync(
    join(reports, 'ssrf-corpus.json'),
    `${JSON.stringify({ tried: tally.tried, blocked: tally.blocked, date: new Date().toISOString() }, null, 2)}\n`,
  );
});

/** Counts a form as tried now and as blocked once all of its assertions held. */
async function tryForm(form: SsrfForm, check: () => Promise<void>): Promise<void> {
  tally.tried += 1;
  outcome.set(form.name, false);
  await check();
  tally.blocked += 1;
  outcome.set(form.name, true);
}

const of = <K extends SsrfForm['kind']>(kind: K) =>
  SSRF_CORPUS.filter((form): form is Extract<SsrfForm, { kind: K }> => form.kind === kind).map((form) => [form.name, form] as const);

describe('with an empty allow-list, no corpus destination is ever contacted', () => {
  it('the listeners are up and counting (a control: an allowed send is seen)', async () => {
    const result = await send(transport('127.0.0.0/8'), `http://127.0.0.1:${port}/control`);
    expect(result.status).toBe(200);
    expect(listeners.get('127.0.0.1')!.connections).toBe(1);
    expect(attempts).toEqual([{ address: '127.0.0.1', port }]);
  });

  it.each(of('address'))('literal: %s', async (_name, form) => {
    await tryForm(form, async () => {
      const url = formUrl(form.url, port);
      const error = await rejection(send(transport(''), url));
      expect(error, `${url}: ${error.message}`).toBeInstanceOf(BlockedDestinationError);
      expect((error as BlockedDestinationError).range).toBe(form.range);
      await settle();
      // Refused before a socket even existed.
      expect(sockets, 'client sockets').toHaveLength(0);
      expectNoConnection(url);
    });
  });

  it.each(of('name'))('name: %s', async (_name, form) => {
    await tryForm(form, async () => {
      const url = formUrl(form.url, port);
      const lookup = corpusResolver();
      const error = await rejection(send(transport('', lookup), url));
      expect(error, `${url}: ${error.message}`).toBeInstanceOf(BlockedDestinationError);
      expect((error as BlockedDestinationError).range).toBe(form.range);
      await settle();
      // Either refused up front (localhost) or by the lookup, before the socket connected anywhere.
      expect(sockets.length).toBeLessThanOrEqual(1);
      expect(lookup.asked.length).toBeLessThanOrEqual(1);
      expectNoConnection(url);
    });
  });

  it.each(of('credentials'))('credentials: %s', async (_name, form) => {
    await tryForm(form, async () => {
      const url = formUrl(form.url, port);
      const lookup = corpusResolver();
      // Refused even with every address allowed: credentials never leave hookrelay.
      const error = await rejection(send(transport('0.0.0.0/0, ::/0', lookup), url));
      expect(error).toBeInstanceOf(InvalidDestinationError);
      await settle();
      expect(lookup.asked).toEqual([]);
      expect(sockets).toHaveLength(0);
      expectNoConnection(url);
    });
  });

  it.each(of('rebinding'))('rebinding: %s', async (_name, form) => {
    await tryForm(form, async () => {
      let asked = 0;
      const rebinding = ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) => {
        asked += 1;
        const address = asked === 1 ? form.checked : form.rebound;
        process.nextTick(() => callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]));
      }) as unknown as LookupFunction;
      const t = transport(form.allowWith, rebinding);
      const url = formUrl(form.url, port);
      const checked = listeners.get(form.checked)!;
      const rebound = listeners.get(form.rebound)!;

      const first = await send(t, url);
      expect(first.status).toBe(200);
      expect(first.remoteAddress).toBe(form.checked);
      expect(asked).toBe(1); // resolved once, and that answer was both checked and connected to
      await vi.waitFor(() => expect(checked.openSockets).toBe(0)); // connection: close → the next send reconnects

      for (let i = 0; i < 2; i += 1) {
        const error = await rejection(send(t, url));
        expect(error).toBeInstanceOf(BlockedDestinationError);
        expect((error as BlockedDestinationError).range).toBe(form.range);
      }
      expect(asked).toBe(3);
      await settle();
      expect(attempts).toEqual([{ address: form.checked, port }]);
      expect(checked.connections).toBe(1);
      expect(rebound.connections).toBe(0);
    });
  });

  it.each(of('redirect'))('redirect: %s', async (_name, form) => {
    await tryForm(form, async () => {
      const result = await send(transport(form.allowWith), formUrl(form.url, port));
      expect(result.status).toBe(302);
      expect(result.headers.location).toBe(formUrl(form.location, port));
      await settle();
      expect(attempts).toEqual([{ address: form.redirector, port }]);
      expect(listeners.get(form.redirector)!.connections).toBe(1);
      expect(listeners.get(form.target)!.connections).toBe(0);
    });
  });

  it('every form of the corpus was tried and blocked', () => {
    expect(tally.tried).toBe(SSRF_CORPUS.length);
    expect([...outcome].filter(([, ok]) => !ok).map(([name]) => name)).toEqual([]);
    expect(tally.blocked).toBe(SSRF_CORPUS.length);
  });
});

describe('the allow-list is the only way through', () => {
  const reachable = SSRF_CORPUS.filter(
    (form): form is Extract<SsrfForm, { kind: 'address' | 'name' }> =>
      (form.kind === 'address' || form.kind === 'name') && form.lands !== undefined && form.allowWith !== undefined,
  );

  it('with 127.0.0.0/8 and ::1/128 allowed, every loopback form reaches its listener', async () => {
    const loopbackForms = reachable.filter((form) => ['127.0.0.0/8', '::1/128'].includes(form.allowWith!));
    expect(loopbackForms.length).toBeGreaterThanOrEqual(15);
    const t = transport('127.0.0.0/8, ::1/128');
    for (const form of loopbackForms) {
      const listener = listeners.get(form.lands!);
      if (!listener) continue; // no IPv6 loopback here
      const before = listener.connections;
      const result = await send(t, formUrl(form.url, port));
      expect(result.status, form.name).toBe(200);
      expect(listener.connections, form.name).toBe(before + 1);
    }
  });

  it.each(reachable.map((form) => [form.name, form] as const))('%s passes with its own exemption only', async (_name, form) => {
    const listener = listeners.get(form.lands!);
    if (!listener) return;
    const url = formUrl(form.url, port);
    // 0.0.0.0 and :: land on loopback, and the connected peer is checked as well: both must be exempt.
    const exemption = `${form.allowWith}, ${form.lands}`;
    const result = await send(transport(exemption), url);
    expect(result.status).toBe(200);
    expect(listener.connections).toBe(1);
    // An exemption for some other range does not open it.
    const error = await rejection(send(transport('8.8.8.0/24, 2606:4700::/32'), url));
    expect(error).toBeInstanceOf(BlockedDestinationError);
    await settle();
    expect(listener.connections).toBe(1);
  });
});
