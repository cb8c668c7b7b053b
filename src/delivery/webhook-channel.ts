import { classifyHttpStatus, DeliveryFailureType } from '../domain/delivery-outcome';
import { toDeliveryPayload } from '../domain/event-envelope';
import { signPayload } from '../security/signing';
import type { ChannelAttempt, ChannelAttemptResult, ChannelSender } from './channel-sender';
import { permanent, sendFailure } from './channel-outcomes';
import type { HttpTransport } from './http-transport';

export interface WebhookChannelDeps {
  transport: HttpTransport;
  userAgent: string;
  /** Opens sealed signing secrets; returns those still valid at `now`, newest first. */
  signingSecrets(attempt: ChannelAttempt): string[];
  /** Renders `payload_template` when the channel has one; the default body otherwise. */
  renderBody?(attempt: ChannelAttempt): string;
}

/** Plain HTTPS webhooks: Standard Webhooks signature, custom headers, Mixpeek envelope. */
export function createWebhookChannel(deps: WebhookChannelDeps): ChannelSender {
  return {
    async send(attempt: ChannelAttempt): Promise<ChannelAttemptResult> {
      const configs = attempt.channel.configs as { url?: unknown; headers?: Record<string, string> };
      if (typeof configs.url !== 'string') {
        return permanent(DeliveryFailureType.InvalidConfiguration, 'invalid_configuration', 'channel has no url');
      }
      let body: string;
      try {
        body = deps.renderBody ? deps.renderBody(attempt) : JSON.stringify(toDeliveryPayload(attempt.event));
      } catch (error) {
        return permanent(DeliveryFailureType.TemplateRenderFailed, 'template_render_failed', (error as Error).message);
      }
      const timestamp = Math.floor(attempt.now.getTime() / 1000);
      const headers: Record<string, string> = {
        ...(configs.headers ?? {}),
        'content-type': 'application/json',
        'user-agent': deps.userAgent,
        'webhook-id': attempt.deliveryId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signPayload({ id: attempt.deliveryId, timestamp, body }, deps.signingSecrets(attempt)),
      };
      try {
        const result = await deps.transport.send({
          url: configs.url,
          headers,
          body,
          timeoutMs: attempt.attemptTimeoutMs,
        });
        const facts = {
          statusCode: result.status,
          durationMs: result.durationMs,
          responseExcerpt: result.responseExcerpt,
        };
        const outcome = classifyHttpStatus(result.status, result.headers['retry-after'], attempt.now);
        const error = `http_${result.status}`;
        const errorMessage = `HTTP ${result.status}`;
        switch (outcome.kind) {
          case 'delivered':
            return { kind: 'delivered', ...facts };
          case 'gone':
            return { kind: 'gone', error, errorMessage: 'HTTP 410 Gone: the receiver asked to stop', ...facts };
          case 'retry':
            return { kind: 'retry', afterMs: outcome.afterMs, error, errorMessage, ...facts };
        }
      } catch (error) {
        return sendFailure(error);
      }
    },
  };
}
