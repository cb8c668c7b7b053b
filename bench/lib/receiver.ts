import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One request answered 200, with the time its body had fully arrived. */
export interface Receipt {
  /** performance.now() in the bench process: the same clock as the inserter's. */
  at: number;
  /** The payload's event_id. */
  eventId: string;
  /** The subscriber path, e.g. "/ok/3". */
  path: string;
}

export interface BenchReceiver {
  /** Base URL; subscribers use `${url}/ok/<n>` (answers 200 at once) or `${url}/hang/<n>`. */
  url: string;
  okUrl(subscriber: number | string): string;
  hangUrl(subscriber: number | string): string;
  /** First receipts of each (event, subscriber) since the last reset, in arrival order. */
  readonly receipts: readonly Receipt[];
  /** Repeated deliveries of an (event, subscriber) already received since the last reset. */
  readonly duplicates: number;
  /** Requests to `/hang/…` since the last reset (each is one delivery attempt). */
  readonly hangingAttempts: number;
  /** Forgets what arrived so far (between runs). */
  reset(): void;
  /** Resolves true once `count` receipts arrived, false when the deadline passes first. */
  waitForReceipts(count: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The loopback receiver of every scenario: `/ok/…` answers 200 as soon as the body has
 * arrived and records the receipt time (the first one per event and subscriber; repeats
 * are counted as duplicates); `/hang/…` never answers (the sender's timeout
 * ends the attempt). One origin for all subscribers, like many endpoints of one customer.
 */
export async function startBenchReceiver(): Promise<BenchReceiver> {
  let receipts: Receipt[] = [];
  let seen = new Set<string>();
  let duplicates = 0;
  let hangingAttempts = 0;
  let waiter: { count: number; resolve: (reached: boolean) => void } | undefined;
  const sockets = new Set<Socket>();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      const path = req.url ?? '';
      if (path.startsWith('/hang/')) {
        hangingAttempts++;
        return; // no answer: the sender times out and closes the connection
      }
      const eventId = eventIdOf(chunks);
      const key = `${eventId} ${path}`;
      if (seen.has(key)) {
        duplicates++;
      } else {
        seen.add(key);
        receipts.push({ at, eventId, path });
        if (waiter && receipts.length >= waiter.count) {
          waiter.resolve(true);
          waiter = undefined;
        }
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  };

  const server: Server = createServer({ keepAliveTimeout: 30_000 }, onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    okUrl: (subscriber) => `${url}/ok/${subscriber}`,
    hangUrl: (subscriber) => `${url}/hang/${subscriber}`,
    get receipts() {
      return receipts;
    },
    get duplicates() {
      return duplicates;
    },
    get hangingAttempts() {
      return hangingAttempts;
    },
    reset() {
      receipts = [];
      seen = new Set();
      duplicates = 0;
      hangingAttempts = 0;
    },
    waitForReceipts(count, timeoutMs) {
      if (receipts.length >= count) return Promise.resolve(true);
      waiter?.resolve(false);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          resolve(false);
        }, timeoutMs);
        waiter = {
          count,
          resolve: (reached) => {
            clearTimeout(timer);
            resolve(reached);
          },
        };
      });
    },
    async close() {
      waiter?.resolve(false);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function eventIdOf(chunks: Buffer[]): string {
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event_id?: unknown };
    return typeof body.event_id === 'string' ? body.event_id : '';
  } catch {
    return '';
  }
}
