import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a slow receiver has seen since it started. */
export interface SlowReceiverCounts {
  /** Requests that arrived (each is one delivery attempt that reached the endpoint). */
  received: number;
  /** Requests answered 200 after the full hold. */
  answered: number;
  /** Requests the sender gave up on (its attempt timed out) before the answer. */
  abandoned: number;
  /** Requests still held when counted. */
  held: number;
  /** Most requests held open at the same time. */
  maxInFlight: number;
}

export interface SlowReceiver {
  /** The endpoint's URL: its own origin, so it shares no connection pool with another receiver. */
  url: string;
  counts(): SlowReceiverCounts;
  close(): Promise<void>;
}

/**
 * A loopback receiver that holds every request `holdMs` before answering 200, and
 * counts how many it holds at once: what the sender allows in flight to one endpoint.
 */
export async function startSlowReceiver(holdMs: number): Promise<SlowReceiver> {
  const counts: Omit<SlowReceiverCounts, 'held'> = { received: 0, answered: 0, abandoned: 0, maxInFlight: 0 };
  let inFlight = 0;
  const holds = new Set<NodeJS.Timeout>();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // Counted on arrival of the headers: the attempt occupies the endpoint from then on.
    counts.received++;
    inFlight++;
    counts.maxInFlight = Math.max(counts.maxInFlight, inFlight);
    req.resume();
    const hold = setTimeout(() => {
      holds.delete(hold);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    }, holdMs);
    holds.add(hold);
    res.once('close', () => {
      inFlight--;
      clearTimeout(hold);
      holds.delete(hold);
      if (res.writableFinished) counts.answered++;
      else counts.abandoned++;
    });
  };

  const server: Server = createServer({ keepAliveTimeout: 30_000 }, onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/slow`,
    counts: () => ({ ...counts, held: inFlight }),
    close() {
      // Both the scenario and the Ctrl-C cleanup may close it.
      closing ??= new Promise<void>((resolve) => {
        for (const hold of holds) clearTimeout(hold);
        holds.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
