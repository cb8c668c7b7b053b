import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { subscribe } from 'node:diagnostics_channel';
import type { LookupFunction, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import {
  BlockedDestinationError,
  checkLiteralDestination,
  checkResolvedAddress,
  type ParsedCidr,
} from '../security/ssrf';

/**
 * Sends one webhook attempt over HTTP(S) and reports what the receiver answered
 * (docs/architecture.md, Delivery rules: destinations, outcomes). Every connection goes
 * to an address that passed the SSRF guard: names are resolved by our own lookup, which
 * checks the answers and hands exactly those addresses to the socket.
 */

export { BlockedDestinationError };

export interface HttpTransportOptions {
  /** HOOKRELAY_ALLOW_HTTP: plain http:// accepted (development only). */
  allowHttp: boolean;
  /** HOOKRELAY_ALLOWED_CIDRS: ranges exempt from the SSRF guard. */
  allowedCidrs: ParsedCidr[];
  /** Default `user-agent`, e.g. 'hookrelay/0.1.0'; a `user-agent` in the request headers wins. */
  userAgent: string;
  /** Resolver for host names (tests inject one); default node:dns lookup. */
  lookup?: LookupFunction;
  /** A CA trusted in addition to the system roots. */
  ca?: string | Buffer;
  /** Bytes of the response body kept as the excerpt. Default 1024. */
  maxResponseExcerptBytes?: number;
  /** Keep-alive pool size per origin; null: no limit (the worker's, see worker-role.ts). Default 20. */
  connectionsPerOrigin?: number | null;
}

export interface HttpRequestSpec {
  url: string;
  method?: 'POST';
  headers: Record<string, string>;
  body: string | Buffer;
  /** Covers the whole attempt: connect, response headers and body. */
  timeoutMs: number;
}

export interface HttpResult {
  status: number;
  /** Names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  responseExcerpt: string;
  durationMs: number;
  /** The peer the request went to, when known. */
  remoteAddress?: string;
}

export interface HttpTransport {
  send(spec: HttpRequestSpec): Promise<HttpResult>;
  /** Closes pooled connections after in-flight requests finish. */
  close(): Promise<void>;
}

/** The destination (its URL, or the headers configured with it) can never be sent: permanent. */
export class InvalidDestinationError extends Error {
  override readonly name = 'InvalidDestinationError';
}

export type TransportErrorCode = 'timeout' | 'connection_refused' | 'connection_reset' | 'dns' | 'tls' | 'other';

/** The attempt failed on the way (network, TLS, timeout): retryable. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  /**
   * Whether the request may have reached the receiver: its headers went out on a socket.
   * False only when it certainly did not (e.g. it timed out waiting for a connection);
   * senders that must not repeat a request (SMS) rely on it.
   */
  readonly requestSent: boolean;
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly durationMs: number,
    options?: { cause?: unknown; requestSent?: boolean },
  ) {
    super(message, options);
    this.requestSent = options?.requestSent ?? true;
  }
}

const DEFAULT_EXCERPT_BYTES = 1024;
const DEFAULT_CONNECTIONS_PER_ORIGIN = 20;
// Small bodies are read to the end so the connection can go back to the pool; past this
// the body is abandoned (and the socket closed) so an endless body can't hold a worker.
const MAX_BODY_READ_BYTES = 64 * 1024;
// undici's own connect timeout; the per-attempt timer usually fires first.
const CONNECT_TIMEOUT_MS = 30_000;
// The transport owns message framing and the Host header; these are dropped from the
// caller's headers (undici would otherwise throw on several of them).
const TRANSPORT_OWNED_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'proxy-connection',
]);

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  const allowed = options.allowedCidrs;
  const excerptBytes = options.maxResponseExcerptBytes ?? DEFAULT_EXCERPT_BYTES;
  const connectChecked = buildConnector({
    lookup: guardedLookup(options.lookup ?? (dnsLookup as LookupFunction), allowed),
    // `ca` replaces Node's trust store, so the system roots are passed along with it.
    ...(options.ca !== undefined ? { ca: [...rootCertificates, options.ca] } : {}),
    timeout: CONNECT_TIMEOUT_MS,
  });
  const agent = new Agent({
    connections: options.connectionsPerOrigin === undefined ? DEFAULT_CONNECTIONS_PER_ORIGIN : options.connectionsPerOrigin,
    connect(connectOptions, callback) {
      connectChecked(connectOptions, (error, socket) => {
        if (error || !socket) return callback(error ?? new Error('connect failed'), null);
        // Defence in depth: the lookup pins names and literal hosts are checked before
        // the request starts, so this only fires if some path bypassed both.
        const blocked = peerCheck(socket, allowed);
        if (blocked) {
          socket.destroy();
          return callback(blocked, null);
        }
        callback(null, socket);
      });
    },
  });

  let closing: Promise<void> | undefined;

  return {
    async send(spec: HttpRequestSpec): Promise<HttpResult> {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const url = parseDestination(spec.url, options.allowHttp);
      // Node connects to literal IP hosts without calling `lookup`, so they are judged here.
      const literalBlocked = checkLiteralDestination(url.href, allowed);
      if (literalBlocked) throw literalBlocked;

      // A fresh Buffer object per attempt lets the send-headers channel tell us which
      // socket (hence which address) this very request went out on.
      const body =
        typeof spec.body === 'string'
          ? Buffer.from(spec.body)
          : Buffer.from(spec.body.buffer, spec.body.byteOffset, spec.body.byteLength); // a new view, no copy
      const attempt: SentHeaders = {};
      attemptsByBody.set(body, attempt);
      watchSentHeaders();

      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), spec.timeoutMs);
      try {
        const response = await abortable(
          agent.request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: spec.method ?? 'POST',
            headers: requestHeaders(spec.headers, options.userAgent),
            body,
            signal: timeout.signal,
          }),
          timeout.signal,
        );
        const responseExcerpt = await abortable(readExcerpt(response.body, excerptBytes), timeout.signal);
        return {
          status: response.statusCode,
          headers: flattenHeaders(response.headers),
          responseExcerpt,
          durationMs: elapsed(),
          ...(attempt.remoteAddress !== undefined ? { remoteAddress: attempt.remoteAddress } : {}),
        };
      } catch (error) {
        if (timeout.signal.aborted) {
          throw new TransportError('timeout', `timed out after ${spec.timeoutMs} ms (${url.host})`, elapsed(), {
            cause: error,
            requestSent: mayHaveBeenSent(attempt),
          });
        }
        throw toSendError(error, url, elapsed(), mayHaveBeenSent(attempt));
      } finally {
        clearTimeout(timer);
      }
    },
    close(): Promise<void> {
      // undici rejects a second close; callers (shutdown paths, tests) may well repeat it.
      closing ??= agent.close();
      return closing;
    },
  };
}

function parseDestination(raw: string, allowHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidDestinationError('destination is not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new InvalidDestinationError(
      allowHttp ? `destination scheme must be https or http, not ${url.protocol}` : `destination must use https, not ${url.protocol}`,
    );
  }
  // Deliberately vague: the message is stored and shown, the credentials must not be.
  if (url.username !== '' || url.password !== '') {
    throw new InvalidDestinationError('destination URL must not contain credentials');
  }
  return url;
}

/**
 * Wraps a resolver so that every answer is checked and exactly the checked answer is
 * returned to the socket. Node calls `lookup` with `all: true` (autoSelectFamily) or
 * without; both callback shapes are produced, whatever shape the resolver answers in.
 */
function guardedLookup(resolve: LookupFunction, allowed: readonly ParsedCidr[]): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    let answered = false;
    const done: typeof callback = (...args) => {
      if (answered) return;
      answered = true;
      callback(...args);
    };
    const fail = (error: NodeJS.ErrnoException) => done(error, '', 0);
    try {
      resolve(hostname, { ...lookupOptions, all: true }, (error, result, family) => {
        if (error) return fail(error);
        const answers: LookupAddress[] = Array.isArray(result)
          ? result
          : typeof result === 'string' && result !== ''
            ? [{ address: result, family: family ?? 0 }]
            : [];
        // Node drops answers whose family is not 4 or 6, so a sloppy resolver gets it filled in.
        const addresses = answers.map(({ address, family: f }) => ({ address, family: f === 4 || f === 6 ? f : address.includes(':') ? 6 : 4 }));
        const first = addresses[0];
        if (!first) return fail(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname }));
        try {
          // One blocked answer refuses the name: which one a connection uses is not ours to pick.
          for (const { address } of addresses) {
            const blocked = checkResolvedAddress(address, allowed);
            if (blocked) {
              return fail(new BlockedDestinationError(blocked.address, blocked.range, `${blocked.reason} (resolved from ${hostname})`));
            }
          }
        } catch (invalid) {
          return fail(invalid as Error);
        }
        if (lookupOptions.all) done(null, addresses);
        else done(null, first.address, first.family);
      });
    } catch (error) {
      fail(error as Error);
    }
  };
}

function peerCheck(socket: Socket, allowed: readonly ParsedCidr[]): Error | null {
  if (socket.remoteAddress === undefined) return new Error('connected socket has no peer address');
  return checkResolvedAddress(socket.remoteAddress, allowed);
}

function requestHeaders(headers: Record<string, string>, userAgent: string): Record<string, string> {
  const result: Record<string, string> = { 'user-agent': userAgent };
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!TRANSPORT_OWNED_HEADERS.has(lower)) result[lower] = value;
  }
  return result;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

/** Keeps the first `limit` bytes as text; stops reading after MAX_BODY_READ_BYTES. */
async function readExcerpt(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const readLimit = Math.max(limit, MAX_BODY_READ_BYTES);
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  for await (const chunk of body) {
    readBytes += chunk.length;
    if (keptBytes < limit) {
      const part = chunk.subarray(0, limit - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (readBytes > readLimit) break; // leaving the loop destroys the body (and its socket)
  }
  // When the body was cut, stream mode leaves out a character split at the limit
  // instead of turning its first bytes into U+FFFD.
  return new TextDecoder('utf-8').decode(Buffer.concat(kept), { stream: readBytes > limit });
}

/**
 * undici only acts on an abort once the request is on a socket, so an attempt still
 * waiting for a connection would outlive its timeout; racing the signal ends it on time.
 */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function toSendError(error: unknown, url: URL, durationMs: number, requestSent: boolean): Error {
  const chain = errorChain(error);
  const blocked = chain.find((e) => e instanceof BlockedDestinationError);
  if (blocked) return blocked;
  if (chain.some((e) => errorCode(e) === 'UND_ERR_INVALID_ARG')) {
    return new InvalidDestinationError(`request cannot be sent: ${(error as Error).message}`);
  }
  const code = transportCode(chain);
  const detail = (chain[chain.length - 1] ?? (error as Error)).message ?? String(error);
  return new TransportError(code, `${DESCRIPTIONS[code]} (${url.host}): ${detail}`, durationMs, { cause: error, requestSent });
}

const DESCRIPTIONS: Record<TransportErrorCode, string> = {
  timeout: 'timed out',
  connection_refused: 'connection refused',
  connection_reset: 'connection reset',
  dns: 'DNS lookup failed',
  tls: 'TLS handshake failed',
  other: 'request failed',
};

/** The error, its `cause`s and the members of AggregateErrors (happy eyeballs), outermost first. */
function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && chain.length < 20) {
    const next = queue.shift();
    if (!(next instanceof Error) || chain.includes(next)) continue;
    chain.push(next);
    queue.push(next.cause);
    if (next instanceof AggregateError) queue.push(...(next.errors as unknown[]));
  }
  return chain;
}

function errorCode(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : '';
}

function transportCode(chain: Error[]): TransportErrorCode {
  const codes = chain.map(errorCode);
  if (chain.some((e) => (e as NodeJS.ErrnoException).syscall === 'getaddrinfo') || codes.some((c) => DNS_CODES.has(c))) return 'dns';
  if (codes.some((c) => c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || c.includes('CERT'))) return 'tls';
  if (codes.includes('ECONNREFUSED')) return 'connection_refused';
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return 'timeout';
  if (codes.some((c) => RESET_CODES.has(c))) return 'connection_reset';
  return 'other';
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
// UND_ERR_SOCKET is undici's "other side closed" (the peer ended the connection mid-request).
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

// undici does not tell a request which socket carried it; its diagnostics channel does,
// and the body Buffer (kept by reference on undici's request) identifies the attempt.
interface SentHeaders {
  remoteAddress?: string;
  /** undici created the request with this body: the channels below can see it. */
  tracked?: boolean;
  /** The request's headers were written to a socket: it may have reached the receiver. */
  headersSent?: boolean;
}

/** Certainly not sent only when the request was seen and its headers never went out. */
function mayHaveBeenSent(attempt: SentHeaders): boolean {
  return !(attempt.tracked === true && attempt.headersSent !== true);
}

const attemptsByBody = new WeakMap<Buffer, SentHeaders>();
let watchingSentHeaders = false;

function watchSentHeaders(): void {
  if (watchingSentHeaders) return;
  watchingSentHeaders = true;
  subscribe('undici:request:create', (message) => {
    const { request } = message as { request?: { body?: unknown } };
    if (!Buffer.isBuffer(request?.body)) return;
    const attempt = attemptsByBody.get(request.body);
    if (attempt) attempt.tracked = true;
  });
  subscribe('undici:client:sendHeaders', (message) => {
    const { request, socket } = message as { request?: { body?: unknown }; socket?: Socket };
    if (!Buffer.isBuffer(request?.body)) return;
    const attempt = attemptsByBody.get(request.body);
    if (!attempt) return;
    attempt.headersSent = true;
    if (socket?.remoteAddress) attempt.remoteAddress = socket.remoteAddress;
  });
}
