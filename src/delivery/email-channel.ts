import { performance } from 'node:perf_hooks';
import { createTransport, type SendMailOptions, type SMTPPoolOptions, type Transporter } from 'nodemailer';
import { DeliveryFailureType } from '../domain/delivery-outcome';
import { NOTIFICATION_CONTENT_TYPES, type NotificationContentType } from '../domain/webhook-schemas';
import { DEFAULT_EMAIL_BODY_TEMPLATES, DEFAULT_EMAIL_SUBJECT_TEMPLATE } from '../templates/defaults';
import { templateContext, type TemplateContext, type TemplateEngine } from '../templates/engine';
import type { ChannelAttempt, ChannelAttemptResult, ChannelSender } from './channel-sender';
import { permanent } from './channel-outcomes';
import type { Marked } from 'marked' with { 'resolution-mode': 'import' };

export interface EmailChannelDeps {
  /** SMTP_URL; without it every email delivery is a permanent InvalidConfiguration failure. */
  smtpUrl: string | undefined;
  /** SMTP_FROM. */
  from: string;
  engine: TemplateEngine;
}

export interface EmailChannel extends ChannelSender {
  /** Closes the pooled SMTP connections. */
  close(): Promise<void>;
}

interface EmailConfigs {
  to_addresses?: unknown;
  cc_addresses?: unknown;
  bcc_addresses?: unknown;
  subject_template?: unknown;
  body_template?: unknown;
  content_type?: unknown;
}

export interface RenderedEmail {
  subject: string;
  /** text/plain body (plain_text, json; the source of a markdown body as its alternative). */
  text?: string;
  /** text/html body (html, markdown). */
  html?: string;
}

const MAX_SUBJECT_CHARS = 500;
const RESPONSE_EXCERPT_CHARS = 1024;

/**
 * Email over SMTP (nodemailer), one pooled transporter per SMTP_URL, reused by every
 * attempt. Recipients go in the envelope; Bcc recipients never appear in the headers.
 * The Message-ID is derived from the delivery id, so every retry of one delivery carries
 * the same Message-ID and mail systems can drop a duplicate.
 *
 * Outcomes by SMTP reply: 2xx → delivered (recipients the server refused while others
 * were accepted are listed in the attempt's response excerpt; retrying would send the
 * accepted ones a second copy); 5xx → permanent (503 "bad sequence" excepted: a session
 * problem, retried); 4xx, connection errors and the attempt timeout → retried.
 */
export function createEmailChannel(deps: EmailChannelDeps): EmailChannel {
  const transporters = new Map<string, Transporter>();
  const messageIdDomain = domainOf(deps.from);

  function transporterFor(url: string): Transporter {
    let transporter = transporters.get(url);
    if (!transporter) {
      const options: SMTPPoolOptions & { pool: true } = {
        url,
        pool: true,
        maxConnections: 5,
        // Settings in the URL (e.g. ?pool=false, ?connectionTimeout=…) take precedence.
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
        idleTimeout: 60_000,
        // A connection lost mid-message fails this attempt (retried and recorded like any
        // other) instead of being re-sent silently inside it.
        maxRequeues: 0,
      };
      transporter = createTransport(options);
      transporters.set(url, transporter);
    }
    return transporter;
  }

  return {
    async send(attempt: ChannelAttempt): Promise<ChannelAttemptResult> {
      if (!deps.smtpUrl) {
        return permanent(
          DeliveryFailureType.InvalidConfiguration,
          'smtp_not_configured',
          'email channel cannot send: SMTP_URL is not set on the worker',
        );
      }
      const configs = attempt.channel.configs as EmailConfigs;
      const to = addresses(configs.to_addresses);
      const cc = addresses(configs.cc_addresses);
      const bcc = addresses(configs.bcc_addresses);
      if (to.length === 0) {
        return permanent(DeliveryFailureType.InvalidConfiguration, 'invalid_configuration', 'email channel has no to_addresses');
      }
      let rendered: RenderedEmail;
      try {
        rendered = await renderEmail(deps.engine, configs, templateContext(attempt.event, attempt.webhook));
      } catch (error) {
        return permanent(DeliveryFailureType.TemplateRenderFailed, 'template_render_failed', (error as Error).message);
      }

      const message: SendMailOptions = {
        from: deps.from,
        to,
        ...(cc.length > 0 ? { cc } : {}),
        ...(bcc.length > 0 ? { bcc } : {}),
        subject: rendered.subject,
        ...(rendered.text !== undefined ? { text: rendered.text } : {}),
        ...(rendered.html !== undefined ? { html: rendered.html } : {}),
        messageId: `<${attempt.deliveryId}@${messageIdDomain}>`,
        headers: {
          'Auto-Submitted': 'auto-generated',
          'X-Hookrelay-Event-Id': attempt.event._id,
          'X-Hookrelay-Event-Type': attempt.event.event_type,
          'X-Hookrelay-Webhook-Id': attempt.webhook._id,
          'X-Hookrelay-Delivery-Id': attempt.deliveryId,
        },
      };

      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      let timer: NodeJS.Timeout | undefined;
      try {
        const sending = transporterFor(deps.smtpUrl).sendMail(message);
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AttemptTimeout()), attempt.attemptTimeoutMs);
        });
        sending.catch(() => undefined); // settled after a timeout: nobody is listening any more
        const info = (await Promise.race([sending, timedOut])) as { response?: string; accepted?: unknown[]; rejected?: unknown[] };
        const rejected = (info.rejected ?? []).map(String);
        const excerpt = [info.response ?? '', rejected.length > 0 ? `refused recipients: ${rejected.join(', ')}` : '']
          .filter(Boolean)
          .join('; ');
        return { kind: 'delivered', durationMs: elapsed(), responseExcerpt: excerpt.slice(0, RESPONSE_EXCERPT_CHARS) };
      } catch (error) {
        return smtpFailure(error, elapsed(), attempt.attemptTimeoutMs);
      } finally {
        clearTimeout(timer);
      }
    },

    async close() {
      for (const transporter of transporters.values()) transporter.close();
      transporters.clear();
    },
  };
}

class AttemptTimeout extends Error {}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

// Errors that no retry can fix until the operator changes the SMTP settings.
const CONFIGURATION_CODES = new Set(['ECONFIG', 'ENOAUTH', 'EOAUTH2']);

function smtpFailure(error: unknown, durationMs: number, timeoutMs: number): ChannelAttemptResult {
  if (error instanceof AttemptTimeout) {
    return { kind: 'retry', error: 'timeout', errorMessage: `SMTP send timed out after ${timeoutMs} ms`, durationMs };
  }
  const smtp = error as SmtpError;
  const reply = typeof smtp.response === 'string' ? smtp.response.slice(0, RESPONSE_EXCERPT_CHARS) : null;
  if (typeof smtp.responseCode === 'number') {
    const code = smtp.responseCode;
    const facts = { durationMs, responseExcerpt: reply };
    const errorMessage = `SMTP ${code}: ${oneLine(reply ?? smtp.message)}`;
    if (code >= 500 && code <= 599 && code !== 503) {
      return { kind: 'permanent', failureType: DeliveryFailureType.PermanentFailure, error: `smtp_${code}`, errorMessage, ...facts };
    }
    return { kind: 'retry', error: `smtp_${code}`, errorMessage, ...facts };
  }
  const code = typeof smtp.code === 'string' ? smtp.code : 'unknown';
  const errorMessage = `SMTP ${code}: ${oneLine(smtp.message ?? String(error))}`;
  if (CONFIGURATION_CODES.has(code) || (code === 'EENVELOPE' && smtp.responseCode === undefined)) {
    return permanent(DeliveryFailureType.InvalidConfiguration, `smtp_${code.toLowerCase()}`, errorMessage, durationMs);
  }
  return { kind: 'retry', error: `smtp_${code.toLowerCase()}`, errorMessage, durationMs };
}

/**
 * Subject and body of one event's email. Subject: plain text on one line. Body by
 * content_type: plain_text → text/plain; html → text/html with every template value
 * HTML-escaped (`| raw` opts out); markdown → rendered to HTML by marked, where raw HTML
 * (from event data or the template) is shown as text and only http(s)/mailto links and
 * http(s) images are kept, with the markdown source as the text/plain alternative;
 * json → text/plain holding the JSON (the delivery payload when there is no body_template).
 */
export async function renderEmail(engine: TemplateEngine, configs: EmailConfigs, context: TemplateContext): Promise<RenderedEmail> {
  const contentType = contentTypeOf(configs.content_type);
  const subjectSource = typeof configs.subject_template === 'string' ? configs.subject_template : DEFAULT_EMAIL_SUBJECT_TEMPLATE;
  const subject = oneLine(engine.renderText('subject_template', subjectSource, context)).slice(0, MAX_SUBJECT_CHARS);
  const bodySource = typeof configs.body_template === 'string' ? configs.body_template : undefined;
  switch (contentType) {
    case 'plain_text':
      return { subject, text: engine.renderText('body_template', bodySource ?? DEFAULT_EMAIL_BODY_TEMPLATES.plain_text, context) };
    case 'html':
      return { subject, html: engine.renderText('body_template', bodySource ?? DEFAULT_EMAIL_BODY_TEMPLATES.html, context, 'html') };
    case 'markdown': {
      const markdown = engine.renderText('body_template', bodySource ?? DEFAULT_EMAIL_BODY_TEMPLATES.markdown, context);
      return { subject, text: markdown, html: await markdownToSafeHtml(markdown) };
    }
    case 'json': {
      const text = bodySource === undefined ? `${JSON.stringify(context.event, null, 2)}\n` : engine.renderText('body_template', bodySource, context);
      return { subject, text };
    }
  }
}

function contentTypeOf(value: unknown): NotificationContentType {
  return (NOTIFICATION_CONTENT_TYPES as readonly unknown[]).includes(value) ? (value as NotificationContentType) : 'html';
}

let safeMarked: Promise<Marked> | undefined;

/** marked ships as an ES module only; it is loaded on first use. */
function loadSafeMarked(): Promise<Marked> {
  safeMarked ??= import('marked').then(
    ({ Marked }) =>
      new Marked({
        gfm: true,
        async: false,
        renderer: {
          html(token) {
            return escapeHtml(token.text);
          },
          link(token) {
            const text = this.parser.parseInline(token.tokens);
            if (!SAFE_LINK.test(token.href)) return text;
            const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
            return `<a href="${escapeHtml(token.href)}"${title}>${text}</a>`;
          },
          image(token) {
            if (!SAFE_IMAGE.test(token.href)) return escapeHtml(token.text);
            return `<img src="${escapeHtml(token.href)}" alt="${escapeHtml(token.text)}">`;
          },
        },
      }),
  );
  return safeMarked;
}

const SAFE_LINK = /^(https?:|mailto:)/i;
const SAFE_IMAGE = /^https?:/i;

export async function markdownToSafeHtml(markdown: string): Promise<string> {
  const marked = await loadSafeMarked();
  return marked.parse(markdown, { async: false }) as string;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function addresses(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item !== '') : [];
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/** The domain of SMTP_FROM ("hooks@example.com" or "Name <hooks@example.com>"), for Message-IDs. */
function domainOf(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return match?.[1] ?? 'hookrelay.localhost';
}
