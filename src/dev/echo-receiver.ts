import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The development echo receiver: a loopback HTTP server inside the `hookrelay dev`
 * process that answers 200 to every request and prints each delivery it receives, so
 * the whole flow (create a webhook → emit an event → see it arrive) works without
 * any other tool. It is not part of the API and never runs outside `hookrelay dev`.
 */
export interface EchoReceiver {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface EchoReceiverOptions {
  /** Preferred port (the one used last time); any free port when it is taken or absent. */
  port?: number;
  print: (line: string) => void;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_PRINTED_CHARS = 2_000;

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** One line describing a delivery, then its body (JSON on one line, cut at 2,000 characters). */
export function describeDelivery(request: IncomingMessage, body: string): string[] {
  let eventType: string | undefined;
  let eventId: string | undefined;
  let printed = body;
  try {
    const parsed = JSON.parse(body) as { event_type?: unknown; event_id?: unknown };
    if (typeof parsed.event_type === 'string') eventType = parsed.event_type;
    if (typeof parsed.event_id === 'string') eventId = parsed.event_id;
    printed = JSON.stringify(parsed);
  } catch {
    // Not JSON (a custom payload template may produce anything): print it as it came.
  }
  if (printed.length > MAX_PRINTED_CHARS) printed = `${printed.slice(0, MAX_PRINTED_CHARS)}… (${printed.length} characters)`;
  const facts = [
    eventType ?? `${request.method} ${request.url}`,
    eventId,
    header(request, 'webhook-id') && `webhook-id ${header(request, 'webhook-id')}`,
    header(request, 'webhook-signature') ? 'signed' : 'unsigned',
    `${Buffer.byteLength(body)} bytes`,
  ].filter(Boolean);
  return [`[echo receiver] received ${facts.join(' · ')}`, `[echo receiver]   ${printed}`];
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startEchoReceiver(options: EchoReceiverOptions): Promise<EchoReceiver> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      for (const line of describeDelivery(request, body)) options.print(line);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"received":true}');
    });
  });
  let port: number;
  try {
    port = await listen(server, options.port ?? 0);
  } catch (error) {
    if (!options.port || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    port = await listen(server, 0);
  }
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
