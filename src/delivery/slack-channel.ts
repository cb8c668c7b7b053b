import { DeliveryFailureType, MAX_RETRY_AFTER_MS, MIN_RETRY_AFTER_MS, parseRetryAfter } from '../domain/delivery-outcome';
import { DEFAULT_SLACK_TEXT_TEMPLATE } from '../templates/defaults';
import { parseJsonTemplateSource, templateContext, type TemplateContext, type TemplateEngine } from '../templates/engine';
import type { ChannelAttempt, ChannelAttemptResult, ChannelSender } from './channel-sender';
import { permanent, sendFailure } from './channel-outcomes';
import type { HttpTransport } from './http-transport';

export interface SlackChannelDeps {
  transport: HttpTransport;
  engine: TemplateEngine;
}

interface SlackConfigs {
  webhook_url?: unknown;
  channel?: unknown;
  username?: unknown;
  icon_emoji?: unknown;
  icon_url?: unknown;
  blocks_template?: unknown;
}

export interface SlackMessage {
  text: string;
  blocks?: unknown[];
  channel?: string;
  username?: string;
  icon_emoji?: string;
  icon_url?: string;
}

// Slack answers errors as a short lower_snake word (invalid_payload, no_service, …).
const SLACK_ERROR_WORD = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Slack incoming webhooks: one JSON POST to the channel's `webhook_url` (opened from its
 * sealed form before the attempt) through the SSRF-guarded transport.
 *
 * 2xx → delivered; 429 → retried after Retry-After; other 4xx (400 invalid_payload,
 * 403 action_prohibited, 404 no_service / channel_not_found, 410 channel_is_archived…)
 * → permanent, with Slack's error word as the attempt's error; 408, 5xx and network
 * errors → retried. A Slack 404/410 fails this delivery only: unlike a webhook receiver's
 * 410, it does not disable the whole webhook, whose other channels may be fine.
 */
export function createSlackChannel(deps: SlackChannelDeps): ChannelSender {
  return {
    async send(attempt: ChannelAttempt): Promise<ChannelAttemptResult> {
      const configs = attempt.channel.configs as SlackConfigs;
      if (typeof configs.webhook_url !== 'string' || configs.webhook_url === '') {
        return permanent(DeliveryFailureType.InvalidConfiguration, 'invalid_configuration', 'Slack channel has no webhook_url');
      }
      let message: SlackMessage;
      try {
        message = renderSlackMessage(deps.engine, configs, templateContext(attempt.event, attempt.webhook));
      } catch (error) {
        return permanent(DeliveryFailureType.TemplateRenderFailed, 'template_render_failed', (error as Error).message);
      }
      try {
        const result = await deps.transport.send({
          url: configs.webhook_url,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(message),
          timeoutMs: attempt.attemptTimeoutMs,
        });
        const facts = { statusCode: result.status, durationMs: result.durationMs, responseExcerpt: result.responseExcerpt };
        const status = result.status;
        if (status >= 200 && status <= 299) return { kind: 'delivered', ...facts };
        const word = result.responseExcerpt.trim();
        const slackError = SLACK_ERROR_WORD.test(word) ? word : undefined;
        const errorMessage = `Slack answered HTTP ${status}${slackError ? `: ${slackError}` : ''}`;
        if (status === 429 || status === 503) {
          const afterMs = parseRetryAfter(result.headers['retry-after'], attempt.now);
          return {
            kind: 'retry',
            ...(afterMs !== undefined ? { afterMs: Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, afterMs)) } : {}),
            error: `http_${status}`,
            errorMessage,
            ...facts,
          };
        }
        if (status >= 400 && status <= 499 && status !== 408) {
          return {
            kind: 'permanent',
            failureType: DeliveryFailureType.PermanentFailure,
            error: slackError ? `slack_${slackError}` : `http_${status}`,
            errorMessage,
            ...facts,
          };
        }
        return { kind: 'retry', error: `http_${status}`, errorMessage, ...facts };
      } catch (error) {
        return sendFailure(error);
      }
    },
  };
}

/**
 * The Slack message of one event. `text` comes from the default text template (it is
 * also the notification fallback when blocks are sent). `blocks_template` may be:
 * - a JSON array/object, or a string whose source is JSON: every string value in it is
 *   a template (event values are inserted as JSON strings, so they cannot break the
 *   structure); an array is the blocks, an object may carry `blocks` and `text`;
 * - any other string: rendered, then used as blocks when the output is a JSON array (or
 *   an object with `blocks`), and as the message text otherwise.
 * Values are Slack-escaped (&, <, >) unless a template writes `| raw`.
 */
export function renderSlackMessage(engine: TemplateEngine, configs: SlackConfigs, context: TemplateContext): SlackMessage {
  let text = engine.renderText('text', DEFAULT_SLACK_TEXT_TEMPLATE, context, 'slack');
  let blocks: unknown[] | undefined;
  const template = configs.blocks_template;
  if (template !== undefined && template !== null) {
    let rendered: unknown;
    const structured = typeof template === 'string' ? parseJsonTemplateSource(template) : template;
    if (structured !== undefined && typeof structured === 'object') {
      rendered = engine.renderJson('blocks_template', structured, context, 'slack');
    } else {
      const output = engine.renderText('blocks_template', String(template), context, 'slack');
      rendered = parseJsonOutput(output) ?? output;
    }
    if (typeof rendered === 'string') {
      if (rendered.trim() !== '') text = rendered;
    } else if (Array.isArray(rendered)) {
      blocks = rendered;
    } else if (rendered !== null && typeof rendered === 'object') {
      const shaped = rendered as { blocks?: unknown; text?: unknown };
      if (Array.isArray(shaped.blocks)) blocks = shaped.blocks;
      if (typeof shaped.text === 'string' && shaped.text.trim() !== '') text = shaped.text;
      if (!Array.isArray(shaped.blocks) && typeof shaped.text !== 'string') {
        throw new Error('blocks_template failed to render: the result must be a list of blocks or an object with "blocks"');
      }
    } else {
      throw new Error('blocks_template failed to render: the result must be a list of blocks, an object with "blocks", or text');
    }
  }
  const message: SlackMessage = { text };
  if (blocks && blocks.length > 0) message.blocks = blocks;
  for (const field of ['channel', 'username', 'icon_emoji', 'icon_url'] as const) {
    const value = configs[field];
    if (typeof value === 'string' && value !== '') message[field] = value;
  }
  return message;
}

function parseJsonOutput(output: string): unknown {
  const trimmed = output.trim();
  if (!(trimmed.startsWith('[') || trimmed.startsWith('{'))) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}
