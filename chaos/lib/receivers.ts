import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySignature } from '../../src/security/signing';
import type { Rng } from './rng';

export const RECEIVER_FAULTS = ['500', 'reset', 'hang', '429'] as const;
export type ReceiverFault = (typeof RECEIVER_FAULTS)[number];

/** What one receiver saw of one delivery (one webhook-id). */
export interface DeliveryReceipt {
  eventId: string;
  attempts: number;
  /** Attempts answered 2xx: more than one is a duplicate delivery. */
  ok: number;
  /** First 2xx answer, ms since the epoch. */
  firstOkAt?: number;
}

export interface ChaosReceiver {
  /** Subscriber index. */
  index: number;
  url: string;
  /** By webhook-id. */
  readonly deliveries: ReadonlyMap<string, DeliveryReceipt>;
  readonly attempts: number;
  readonly faults: Readonly<Record<ReceiverFault, number>>;
  /** Requests whose signature did not verify, or without webhook-id / event_id. */
  readonly badRequests: number;
  /** Switches faults off (the run's settle phase) or on. */
  setFaulty(faulty: boolean): void;
  close(): Promise<void>;
}

/**
 * A loopback webhook receiver that answers a seeded share of attempts with a fault:
 * HTTP 500, a TCP reset, a hang past the sender's timeout, or 429 with Retry-After: 1.
 * Everything else gets 200 at once. Every request's signature is checked against the
 * subscriber's secret; 2xx answers are counted per webhook-id to find duplicates.
 */
export async function startChaosReceiver(options: {
  index: number;
  rng: Rng;
  faultRate: number;
  /** How long a hanging request is held before its socket is dropped (past the sender's timeout). */
  hangMs: number;
  signingSecret: () => string;
}): Promise<ChaosReceiver> {
  const deliveries = new Map<string, DeliveryReceipt>();
  const faults: Record<ReceiverFault, number> = { '500': 0, reset: 0, hang: 0, '429': 0 };
  let attempts = 0;
  let badRequests = 0;
  let faulty = true;
  const sockets = new Set<Socket>();
  const hangTimers = new Set<NodeJS.Timeout>();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      attempts++;
      const body = Buffer.concat(chunks).toString('utf8');
      const webhookId = String(req.headers['webhook-id'] ?? '');
      const timestamp = Number(req.headers['webhook-timestamp']);
      const signature = String(req.headers['webhook-signature'] ?? '');
      let eventId = '';
      try {
        eventId = String((JSON.parse(body) as { event_id?: unknown }).event_id ?? '');
      } catch {
        // counted below
      }
      // Generous tolerance: a retried attempt keeps its first timestamp only if re-signed; both are fine here.
      const signed = verifySignature({ id: webhookId, timestamp, body }, signature, [options.signingSecret()], {
        toleranceSeconds: 3_600,
      });
      if (!webhookId || !eventId || !signed) {
        badRequests++;
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request');
        return;
      }
      let receipt = deliveries.get(webhookId);
      if (!receipt) {
        receipt = { eventId, attempts: 0, ok: 0 };
        deliveries.set(webhookId, receipt);
      }
      receipt.attempts++;
      // Draw for every attempt, so the answer sequence depends on the seed alone.
      const draw = options.rng.next();
      const fault = options.rng.pick(RECEIVER_FAULTS);
      if (faulty && draw < options.faultRate) {
        faults[fault]++;
        switch (fault) {
          case '500':
            res.writeHead(500, { 'content-type': 'text/plain' }).end('chaos: internal error');
            return;
          case 'reset':
            req.socket.resetAndDestroy();
            return;
          case 'hang': {
            const timer = setTimeout(() => {
              hangTimers.delete(timer);
              req.socket.destroy();
            }, options.hangMs);
            hangTimers.add(timer);
            return;
          }
          case '429':
            res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '1' }).end('chaos: slow down');
            return;
        }
      }
      receipt.ok++;
      receipt.firstOkAt ??= Date.now();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  };

  const server: Server = createServer({ keepAliveTimeout: 30_000 }, onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    index: options.index,
    url: `http://127.0.0.1:${port}/hooks/${options.index}`,
    deliveries,
    get attempts() {
      return attempts;
    },
    faults,
    get badRequests() {
      return badRequests;
    },
    setFaulty(value) {
      faulty = value;
    },
    async close() {
      for (const timer of hangTimers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
