import type { Db } from 'mongodb';
import type { Config } from '../config/env';
import { toDeliveryPayload } from '../domain/event-envelope';
import type { Sealer } from '../store/channel-secrets';
import { defaultTemplateEngine, templateContext, type TemplateEngine } from '../templates/engine';
import type { ChannelAttempt, ChannelSenders } from './channel-sender';
import { createEmailChannel } from './email-channel';
import type { HttpTransport } from './http-transport';
import { activeSigningSecrets } from './signing-secrets';
import { createSlackChannel } from './slack-channel';
import { createSmsChannel } from './sms-channel';
import { createWebhookChannel } from './webhook-channel';

export type { ChannelSenders };

export interface ChannelSenderDeps {
  config: Config;
  transport: HttpTransport;
  box: Sealer;
  userAgent: string;
  /** Where the SMS sender keeps per-number progress (on the webhook_deliveries records). */
  db: Db;
  /** Template engine; the shared one with default limits when absent. */
  engine?: TemplateEngine;
}

/**
 * One sender per channel kind, built from configuration. Every kind is always present:
 * a channel whose server settings are missing (SMTP_URL, SMS_*) fails its deliveries
 * permanently with a message naming the missing setting.
 */
export function createChannelSenders(deps: ChannelSenderDeps): ChannelSenders {
  const engine = deps.engine ?? defaultTemplateEngine();
  const email = createEmailChannel({ smtpUrl: deps.config.SMTP_URL, from: deps.config.SMTP_FROM, engine });
  const senders: ChannelSenders = {
    webhook: createWebhookChannel({
      transport: deps.transport,
      userAgent: deps.userAgent,
      signingSecrets: (attempt) => activeSigningSecrets(attempt.webhook, deps.box, attempt.now),
      renderBody: (attempt) => renderWebhookBody(engine, attempt),
    }),
    slack: createSlackChannel({ transport: deps.transport, engine }),
    email,
    sms: createSmsChannel({
      db: deps.db,
      transport: deps.transport,
      engine,
      settings: {
        apiUrl: deps.config.SMS_API_URL,
        accountSid: deps.config.SMS_ACCOUNT_SID,
        authToken: deps.config.SMS_AUTH_TOKEN,
        from: deps.config.SMS_FROM,
      },
    }),
  };
  closers.set(senders, () => email.close());
  return senders;
}

const closers = new WeakMap<ChannelSenders, () => Promise<void>>();

/** Releases what the senders hold open (pooled SMTP connections). The HTTP transport is the caller's. */
export async function closeChannelSenders(senders: ChannelSenders): Promise<void> {
  await closers.get(senders)?.();
}

/**
 * The webhook JSON body: the Mixpeek envelope, or the channel's `payload_template`
 * rendered with the envelope (every string value in it is a template).
 */
export function renderWebhookBody(engine: TemplateEngine, attempt: ChannelAttempt): string {
  const template = attempt.channel.configs.payload_template;
  if (template === undefined || template === null) return JSON.stringify(toDeliveryPayload(attempt.event));
  return JSON.stringify(engine.renderJson('payload_template', template, templateContext(attempt.event, attempt.webhook)));
}
