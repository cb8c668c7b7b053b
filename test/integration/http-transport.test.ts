import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BlockedDestinationError,
  createHttpTransport,
  InvalidDestinationError,
  TransportError,
  type HttpTransport,
  type HttpTransportOptions,
} from '../../src/delivery/http-transport';
import { parseCidrList } from '../../src/security/ssrf';

// Real servers on loopback, real sockets: nothing about HTTP is mocked. Only DNS is
// injected, so names can resolve to chosen addresses.

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Receiver {
  host: string;
  port: number;
  /** Origin with the host as a URL spells it, e.g. http://[::1]:4000. */
  origin: string;
  connections: number;
  openSockets: number;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

const receivers: Receiver[] = [];
const transports: HttpTransport[] = [];

async function startReceiver(
  options: { host?: string; port?: number; handler?: Handler; tls?: { key: Buffer; cert: Buffer } } = {},
): Promise<Receiver> {
  const host = options.host ?? '127.0.0.1';
  const handler: Handler = options.handler ?? ((_req, res) => res.end('ok'));
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      receiver.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  };
  const server = options.tls ? https.createServer(options.tls, listener) : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const scheme = options.tls ? 'https' : 'http';
  const receiver: Receiver = {
    host,
    port,
    origin: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    connections: 0,
    openSockets: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  // Counted at the TCP level (secureConnection would miss refused handshakes).
  server.on('connection', (socket) => {
    receiver.connections += 1;
    receiver.openSockets += 1;
    socket.on('close', () => (receiver.openSockets -= 1));
  });
  receivers.push(receiver);
  return receiver;
}

function transport(overrides: Partial<HttpTransportOptions> = {}): HttpTransport {
  const created = createHttpTransport({
    allowHttp: true,
    allowedCidrs: parseCidrList('127.0.0.0/8'),
    userAgent: 'hookrelay/test',
    ...overrides,
  });
  transports.push(created);
  return created;
}

/** A resolver answering from a fixed table (in the `all: true` shape), ENOTFOUND otherwise. */
function fixedLookup(table: Record<string, string | string[]>): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname: string, _options: unknown, callback: (...args: unknown[]) => void) => {
    calls.push(hostname);
    const answer = table[hostname];
    if (answer === undefined) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo' });
      return process.nextTick(() => callback(error));
    }
    const addresses = (Array.isArray(answer) ? answer : [answer]).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    process.nextTick(() => callback(null, addresses));
  }) as unknown as LookupFunction & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}

function post(t: HttpTransport, url: string, extra: { headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {}) {
  return t.send({ url, headers: extra.headers ?? {}, body: extra.body ?? '{"hello":"world"}', timeoutMs: extra.timeoutMs ?? 5_000 });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

/** Lets any connection that was (wrongly) started reach the receiver before counting. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

describe('plain HTTP receiver', () => {
  it('returns status, lower-cased headers, the body excerpt, duration and peer address', async () => {
    const receiver = await startReceiver({
      handler: (_req, res) => {
        res.setHeader('X-Receiver-Note', 'thanks');
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.end('accepted');
      },
    });
    const result = await post(transport(), `${receiver.origin}/hooks`);
    expect(result.status).toBe(200);
    expect(result.responseExcerpt).toBe('accepted');
    expect(result.headers['x-receiver-note']).toBe('thanks');
    expect(result.headers['set-cookie']).toBe('a=1, b=2');
    expect(Object.keys(result.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.remoteAddress).toBe('127.0.0.1');
  });

  it.each([
    [500, {}],
    [410, {}],
    [429, { 'Retry-After': '7' }],
    [503, { 'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT' }],
  ])('passes status %i through with its headers', async (status, headers) => {
    const receiver = await startReceiver({ handler: (_req, res) => res.writeHead(status, headers).end('nope') });
    const result = await post(transport(), receiver.origin);
    expect(result.status).toBe(status);
    expect(result.responseExcerpt).toBe('nope');
    if ('Retry-After' in headers) expect(result.headers['retry-after']).toBe(headers['Retry-After']);
  });

  it('delivers method, path, custom headers and body exactly, with the user agent', async () => {
    const receiver = await startReceiver();
    const body = JSON.stringify({ event_id: 'evt_1', text: 'déjà vu ✓ 🚀' });
    await post(transport(), `${receiver.origin}/hooks/in?x=1&y=two#not-sent`, {
      headers: { 'Content-Type': 'application/json', 'X-Mixpeek-Secret': 's3cr3t value', 'webhook-id': 'msg_abc' },
      body,
    });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/hooks/in?x=1&y=two');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-mixpeek-secret']).toBe('s3cr3t value');
    expect(request?.headers['webhook-id']).toBe('msg_abc');
    expect(request?.headers['user-agent']).toBe('hookrelay/test');
    expect(request?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(request?.body.equals(Buffer.from(body))).toBe(true);
  });

  it('sends a Buffer body byte for byte (a slice of a larger buffer)', async () => {
    const receiver = await startReceiver();
    const backing = Buffer.from([9, 9, 0x00, 0xff, 0x80, 0x0d, 0x0a, 0x41, 9, 9]);
    const body = backing.subarray(2, 8);
    await post(transport(), receiver.origin, { body });
    expect(receiver.requests[0]?.body.equals(Buffer.from([0x00, 0xff, 0x80, 0x0d, 0x0a, 0x41]))).toBe(true);
  });

  it('keeps framing and Host to itself: such caller headers are dropped, not fatal', async () => {
    const receiver = await startReceiver();
    const result = await post(transport(), receiver.origin, {
      headers: { Host: 'internal.example', Connection: 'upgrade', 'Content-Length': '1', 'Transfer-Encoding': 'chunked' },
      body: 'abc',
    });
    expect(result.status).toBe(200);
    expect(receiver.requests[0]?.headers.host).toBe(`127.0.0.1:${receiver.port}`);
    expect(receiver.requests[0]?.body.toString()).toBe('abc');
  });

  it('does not follow redirects: a 302 is the result and its target sees nothing', async () => {
    const target = await startReceiver();
    const redirector = await startReceiver({
      handler: (_req, res) => res.writeHead(302, { Location: `${target.origin}/elsewhere` }).end(),
    });
    const result = await post(transport(), redirector.origin);
    expect(result.status).toBe(302);
    expect(result.headers.location).toBe(`${target.origin}/elsewhere`);
    await settle();
    expect(target.connections).toBe(0);
  });

  it('reuses keep-alive connections across sends and closes them on close()', async () => {
    const receiver = await startReceiver();
    const t = transport();
    for (let i = 0; i < 3; i += 1) {
      await post(t, receiver.origin);
      // undici hands the socket back to its pool just after the body ends; a send in the
      // very same tick would open a second connection.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(receiver.requests).toHaveLength(3);
    expect(receiver.connections).toBe(1);
    await t.close();
    await vi.waitFor(() => expect(receiver.openSockets).toBe(0));
  });

  it('bounds concurrent connections per origin', async () => {
    let inFlight = 0;
    let peak = 0;
    const receiver = await startReceiver({
      handler: (_req, res) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        setTimeout(() => {
          inFlight -= 1;
          res.end('ok');
        }, 100);
      },
    });
    const t = transport({ connectionsPerOrigin: 2 });
    await Promise.all(Array.from({ length: 6 }, () => post(t, receiver.origin)));
    expect(peak).toBe(2);
    expect(receiver.connections).toBe(2);
  });
});

describe('response body', () => {
  it('keeps at most 1024 bytes of a 50 MB body and returns promptly, abandoning the rest', async () => {
    const total = 50 * 1024 * 1024;
    let written = 0;
    let receiverSawClose = false;
    const receiver = await startReceiver({
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        res.on('close', () => (receiverSawClose = true));
        const pump = () => {
          while (written < total && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
    });
    const started = Date.now();
    const result = await post(transport(), receiver.origin, { timeoutMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.status).toBe(200);
    expect(Buffer.byteLength(result.responseExcerpt)).toBe(1024);
    expect(result.responseExcerpt).toBe('a'.repeat(1024));
    await vi.waitFor(() => expect(receiverSawClose).toBe(true));
    expect(written).toBeLessThan(total);
  });

  it('decodes UTF-8, never splits a character at the limit, and replaces invalid bytes', async () => {
    const receiver = await startReceiver({
      handler: (req, res) => res.end(req.url === '/invalid' ? Buffer.from([0x6f, 0xff, 0x6b]) : 'éééééé'),
    });
    const seven = await post(transport({ maxResponseExcerptBytes: 7 }), receiver.origin);
    expect(seven.responseExcerpt).toBe('ééé');
    const eight = await post(transport({ maxResponseExcerptBytes: 8 }), receiver.origin);
    expect(eight.responseExcerpt).toBe('éééé');
    const invalid = await post(transport(), `${receiver.origin}/invalid`);
    expect(invalid.responseExcerpt).toBe('o\uFFFDk');
  });
});

describe('failures', () => {
  it('times out a receiver that never answers, and the receiver sees the socket closed', async () => {
    const receiver = await startReceiver({ handler: () => {} });
    const error = await rejection(post(transport(), receiver.origin, { timeoutMs: 500 }));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('timeout');
    expect((error as TransportError).durationMs).toBeGreaterThanOrEqual(490);
    expect((error as TransportError).durationMs).toBeLessThan(1_500);
    expect(receiver.connections).toBe(1);
    await vi.waitFor(() => expect(receiver.openSockets).toBe(0));
  });

  it('times out a body that trickles forever (the timeout covers the body)', async () => {
    const receiver = await startReceiver({
      handler: (_req, res) => {
        res.writeHead(200);
        const drip = setInterval(() => res.write('.'), 50);
        res.on('close', () => clearInterval(drip));
      },
    });
    const started = Date.now();
    const error = await rejection(post(transport(), receiver.origin, { timeoutMs: 600 }));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1_500);
    await vi.waitFor(() => expect(receiver.openSockets).toBe(0));
  });

  it('times out while the connection is still being set up (slow DNS)', async () => {
    const slow = ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) => {
      setTimeout(() => callback(null, [{ address: '127.0.0.1', family: 4 }]), 1_200);
    }) as unknown as LookupFunction;
    const started = Date.now();
    const error = await rejection(post(transport({ lookup: slow }), 'http://slow-dns.test/', { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('reports a closed port as connection_refused', async () => {
    const port = await freePort();
    const error = await rejection(post(transport(), `http://127.0.0.1:${port}/`));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('connection_refused');
  });

  it('reports a receiver that destroys the socket as connection_reset', async () => {
    const receiver = await startReceiver({ handler: (req) => req.socket.destroy() });
    const error = await rejection(post(transport(), receiver.origin));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('connection_reset');
  });

  it('refuses a header value that cannot be sent (CR/LF) as an invalid destination', async () => {
    const receiver = await startReceiver();
    const error = await rejection(post(transport(), receiver.origin, { headers: { 'x-token': 'a\r\nx-injected: 1' } }));
    expect(error).toBeInstanceOf(InvalidDestinationError);
    await settle();
    expect(receiver.connections).toBe(0);
  });

  it('reports a name that does not resolve as dns', async () => {
    const error = await rejection(post(transport({ lookup: fixedLookup({}) }), 'http://nowhere.test/'));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('dns');
  });
});

// The certificates are made with the openssl CLI; without it this suite fails, never skips.
describe('HTTPS receiver (self-signed certificate for localhost)', () => {
  let dir = '';
  let key = Buffer.alloc(0);
  let cert = Buffer.alloc(0);

  beforeAll(() => {
    if (spawnSync('openssl', ['version']).status !== 0) throw new Error('the openssl CLI is needed to make test certificates');
    dir = mkdtempSync(join(tmpdir(), 'hookrelay-tls-'));
    const generated = spawnSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
      ],
      { encoding: 'utf8' },
    );
    if (generated.status !== 0) throw new Error(`openssl failed: ${generated.stderr}`);
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(join(dir, 'cert.pem'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // "localhost" is pinned to 127.0.0.1 (allow-listed) so the name used for SNI and the
  // certificate check differs from the address connected to, as it does in production.
  const localhost = () => fixedLookup({ localhost: '127.0.0.1', 'other-name.test': '127.0.0.1' });

  it('delivers when the certificate is trusted through `ca`', async () => {
    const receiver = await startReceiver({ tls: { key, cert }, handler: (req, res) => res.end(`sni=${(req.socket as import('node:tls').TLSSocket).servername}`) });
    const result = await post(transport({ ca: cert, lookup: localhost(), allowHttp: false }), `https://localhost:${receiver.port}/hooks`);
    expect(result.status).toBe(200);
    expect(result.responseExcerpt).toBe('sni=localhost');
    expect(result.remoteAddress).toBe('127.0.0.1');
  });

  it('fails with tls when the certificate is not trusted', async () => {
    const receiver = await startReceiver({ tls: { key, cert } });
    const error = await rejection(post(transport({ lookup: localhost() }), `https://localhost:${receiver.port}/`));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('tls');
    expect(receiver.requests).toHaveLength(0);
  });

  it('checks the certificate against the host name, not the address', async () => {
    const receiver = await startReceiver({ tls: { key, cert } });
    const error = await rejection(post(transport({ ca: cert, lookup: localhost() }), `https://other-name.test:${receiver.port}/`));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('tls');
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('destination rules', () => {
  it('refuses http:// unless allowHttp', async () => {
    const receiver = await startReceiver();
    const error = await rejection(post(transport({ allowHttp: false }), receiver.origin));
    expect(error).toBeInstanceOf(InvalidDestinationError);
    await settle();
    expect(receiver.connections).toBe(0);
  });

  it.each(['ftp://example.com/', 'not a url', '/relative/path', 'file:///etc/passwd'])('refuses %s', async (url) => {
    const error = await rejection(post(transport(), url));
    expect(error).toBeInstanceOf(InvalidDestinationError);
  });

  it('refuses URLs with credentials, without echoing them', async () => {
    const first = await rejection(post(transport(), 'https://a@127.0.0.1:443'));
    expect(first).toBeInstanceOf(InvalidDestinationError);
    const second = await rejection(post(transport(), 'https://user:hunter2@example.com/'));
    expect(second).toBeInstanceOf(InvalidDestinationError);
    expect(second.message).not.toContain('hunter2');
  });
});

describe('SSRF guard', () => {
  let v4: Receiver;
  let v4second: Receiver;
  let v6: Receiver | undefined;
  const all = () => [v4, v4second, ...(v6 ? [v6] : [])];

  // Fresh receivers per test (afterEach closes them), listening where blocked URLs point.
  async function startTargets(): Promise<void> {
    v4 = await startReceiver({ host: '127.0.0.1' });
    v4second = await startReceiver({ host: '127.0.0.2' });
    v6 = await startReceiver({ host: '::1' }).catch(() => undefined); // no IPv6 loopback here
  }

  const guarded = (overrides: Partial<HttpTransportOptions> = {}) => transport({ allowedCidrs: [], ...overrides });

  async function expectBlockedWithoutConnection(url: string, t = guarded()): Promise<BlockedDestinationError> {
    const error = await rejection(post(t, url));
    expect(error).toBeInstanceOf(BlockedDestinationError);
    await settle();
    for (const receiver of all()) expect(receiver.connections, `connections to ${receiver.origin}`).toBe(0);
    return error as BlockedDestinationError;
  }

  it.each([
    ['http://127.0.0.1:{v4}/', 'loopback'],
    ['http://127.1:{v4}/', 'loopback'],
    ['http://2130706433:{v4}/', 'loopback'],
    ['http://0x7f000001:{v4}/', 'loopback'],
    ['http://0177.0.0.1:{v4}/', 'loopback'],
    ['http://[::ffff:127.0.0.1]:{v4}/', 'ipv4-mapped'],
    ['http://127.0.0.2:{v4second}/', 'loopback'],
    ['http://localhost:{v4}/', 'loopback'],
    ['http://10.0.0.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data', 'link-local'],
    ['http://100.64.0.1/', 'cgnat'],
    ['http://[fd00::1]/', 'unique-local'],
  ])('refuses %s before connecting (%s)', async (template, range) => {
    await startTargets();
    const url = template.replace('{v4}', String(v4.port)).replace('{v4second}', String(v4second.port));
    const error = await expectBlockedWithoutConnection(url);
    expect(error.range).toBe(range);
  });

  it('refuses http://[::1] before connecting', async (context) => {
    await startTargets();
    if (!v6) return context.skip('no IPv6 loopback on this machine');
    const error = await expectBlockedWithoutConnection(`http://[::1]:${v6.port}/`);
    expect(error.range).toBe('loopback');
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'],
    ['8.8.8.8,127.0.0.1', 'loopback'], // one bad answer spoils the name
  ])('refuses a name resolving to %s, without connecting', async (answer, range) => {
    await startTargets();
    const lookup = fixedLookup({ 'internal.test': answer.split(',') });
    const error = await expectBlockedWithoutConnection(`http://internal.test:${v4.port}/`, guarded({ lookup }));
    expect(error.range).toBe(range);
    expect(error.message).toContain('internal.test');
  });

  it('accepts a resolver that answers in the single-address callback shape', async () => {
    await startTargets();
    const singleShape = ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) =>
      process.nextTick(() => callback(null, '127.0.0.1', 4))) as unknown as LookupFunction;
    await expectBlockedWithoutConnection(`http://single.test:${v4.port}/`, guarded({ lookup: singleShape }));
    const allowed = await post(transport({ lookup: singleShape }), `http://single.test:${v4.port}/`);
    expect(allowed.status).toBe(200);
  });

  it('also guards names when Node asks for a single address (autoSelectFamily off)', async () => {
    await startTargets();
    const previous = net.getDefaultAutoSelectFamily();
    net.setDefaultAutoSelectFamily(false);
    try {
      const lookup = fixedLookup({ 'internal.test': '127.0.0.1' });
      await expectBlockedWithoutConnection(`http://internal.test:${v4.port}/`, guarded({ lookup }));
      const allowed = await post(transport({ lookup }), `http://internal.test:${v4.port}/`);
      expect(allowed.status).toBe(200);
      expect(allowed.remoteAddress).toBe('127.0.0.1');
    } finally {
      net.setDefaultAutoSelectFamily(previous);
    }
  });

  it('DNS rebinding: the connection goes to the address that was checked, never to a later answer', async () => {
    await startTargets();
    // 127.0.0.2 is allow-listed so it passes the guard like a public address would, while
    // the test stays on this machine; later answers rebind the name to 127.0.0.1.
    const target = await startReceiver({ host: '127.0.0.2', handler: (_req, res) => res.writeHead(200, { connection: 'close' }).end('ok') });
    let asked = 0;
    const rebinding = ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) => {
      asked += 1;
      const address = asked === 1 ? '127.0.0.2' : '127.0.0.1';
      process.nextTick(() => callback(null, [{ address, family: 4 }]));
    }) as unknown as LookupFunction;
    const t = transport({ allowedCidrs: parseCidrList('127.0.0.2/32'), lookup: rebinding });
    // The same port on both addresses: only the address decides where a connection lands.
    const loopbackSamePort = await startReceiver({ host: '127.0.0.1', port: target.port, handler: (_req, res) => res.end('wrong') });

    const first = await post(t, `http://rebind.test:${target.port}/`);
    expect(first.status).toBe(200);
    expect(first.remoteAddress).toBe('127.0.0.2');
    expect(target.requests).toHaveLength(1);
    await vi.waitFor(() => expect(target.openSockets).toBe(0)); // connection: close → next send reconnects

    for (let i = 0; i < 2; i += 1) {
      const error = await rejection(post(t, `http://rebind.test:${target.port}/`));
      expect(error).toBeInstanceOf(BlockedDestinationError);
    }
    expect(asked).toBe(3); // one resolution per connection, none between check and connect
    await settle();
    for (const receiver of [...all(), loopbackSamePort]) {
      expect(receiver.connections, `connections to ${receiver.origin}`).toBe(0);
    }
    expect(target.connections).toBe(1);
  });

  it('with the allow-list 127.0.0.0/8 the loopback receiver is reached, literally and by name', async () => {
    await startTargets();
    const t = transport({ allowedCidrs: parseCidrList('127.0.0.0/8'), lookup: fixedLookup({ 'receiver.test': '127.0.0.1' }) });
    expect((await post(t, `http://127.0.0.1:${v4.port}/`)).status).toBe(200);
    expect((await post(t, `http://receiver.test:${v4.port}/`)).status).toBe(200);
    expect((await post(t, `http://127.0.0.2:${v4second.port}/`)).status).toBe(200);
    expect(v4.requests).toHaveLength(2);
    expect(v4second.requests).toHaveLength(1);
  });
});
