import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** Real servers on loopback standing in for an SMTP relay and a Twilio-like SMS API. */

export interface MimePart {
  headers: Record<string, string>;
  contentType: string;
  body: string;
  parts: MimePart[];
}

export interface ReceivedMail extends MimePart {
  mailFrom: string;
  rcptTo: string[];
  raw: string;
}

/** How the SMTP server answers one message's DATA: accept, or an error reply. */
export type SmtpAnswer = 'accept' | { code: number; message?: string };

export interface SmtpTestServer {
  url: string;
  /** Picks the reply for the index-th DATA (0-based) the server got; replaceable between tests. */
  answer: (mail: ReceivedMail, index: number) => SmtpAnswer;
  /** Every DATA received, accepted or not. */
  received: ReceivedMail[];
  /** Only the accepted messages. */
  accepted: ReceivedMail[];
  waitForAccepted(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<SmtpTestServer> {
  const received: ReceivedMail[] = [];
  const accepted: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const mail: ReceivedMail = {
          ...parseMime(raw),
          raw,
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
        };
        const index = received.length;
        received.push(mail);
        const reply = handle.answer(mail, index);
        if (reply === 'accept') {
          accepted.push(mail);
          callback(null, 'queued as test');
          return;
        }
        const error = Object.assign(new Error(reply.message ?? `rejected with ${reply.code}`), { responseCode: reply.code });
        callback(error);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const handle: SmtpTestServer = {
    url: `smtp://127.0.0.1:${port}`,
    answer: () => 'accept',
    received,
    accepted,
    async waitForAccepted(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (accepted.length < count) {
        if (Date.now() > deadline) throw new Error(`SMTP server accepted ${accepted.length} of ${count} messages in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return accepted;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return handle;
}

/** A small MIME reader: unfolded headers (lower-case names), decoded bodies, multipart parts. */
export function parseMime(raw: string): MimePart {
  const split = raw.indexOf('\r\n\r\n');
  const head = split === -1 ? raw : raw.slice(0, split);
  const rawBody = split === -1 ? '' : raw.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const contentType = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (contentType.toLowerCase().startsWith('multipart/') && boundary) {
    const parts = rawBody
      .split(`--${boundary}`)
      .slice(1)
      .filter((chunk) => !chunk.startsWith('--'))
      .map((chunk) => parseMime(chunk.replace(/^\r\n/, '').replace(/\r\n$/, '')));
    return { headers, contentType, body: '', parts };
  }
  return { headers, contentType, body: decodeBody(rawBody, headers['content-transfer-encoding']), parts: [] };
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'quoted-printable': {
      const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

export interface SmsRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: Record<string, string>;
  at: number;
}

/** How the SMS API answers: a status with an optional JSON body and headers, or 'hang'. */
export type SmsAnswer = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';

export interface SmsTestServer {
  url: string;
  /** Decides the reply to the n-th request (0-based) for the request's `To`; undefined → 201. Replaceable. */
  answer: (request: SmsRequest, n: number) => SmsAnswer | undefined;
  requests: SmsRequest[];
  /** Requests for one number, in order. */
  to(number: string): SmsRequest[];
  close(): Promise<void>;
}

/** A Twilio-like Messages endpoint; a 2xx answer carries a message resource with a fresh sid. */
export async function startSmsServer(): Promise<SmsTestServer> {
  const requests: SmsRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let sequence = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const request: SmsRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, form, at: Date.now() };
      const n = requests.filter((r) => r.form.To === form.To).length;
      requests.push(request);
      const reply = handle.answer(request, n) ?? { status: 201 };
      if (reply === 'hang') {
        hanging.add(res);
        return;
      }
      const sid = `SM${String(++sequence).padStart(32, '0')}`;
      const body =
        reply.body ??
        (reply.status >= 200 && reply.status < 300
          ? { sid, status: 'queued', to: form.To, from: form.From, body: form.Body }
          : { code: 20500, message: 'Internal error', status: reply.status });
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: SmsTestServer = {
    url: `http://127.0.0.1:${port}`,
    answer: () => undefined,
    requests,
    to: (number) => requests.filter((r) => r.form.To === number),
    async close() {
      for (const res of hanging) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return handle;
}
