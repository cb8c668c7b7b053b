import { newWebhookId } from '../domain/ids';
import { generateSigningSecret } from '../security/signing';
import { sealChannel, type Sealer } from '../store/channel-secrets';
import type { StoredChannel, StoredRetryPolicy, WebhookDocument } from '../store/webhook-store';

export interface NewWebhookInput {
  webhook_name: string;
  event_types: string[];
  channels: StoredChannel[];
  is_active?: boolean;
  retry_policy?: StoredRetryPolicy | null;
}

/**
 * A webhook ready to insert: a fresh id and signing secret, channel secrets sealed.
 * The plaintext signing secret is returned once, for the create response.
 */
export function buildWebhookDocument(
  input: NewWebhookInput,
  organizationId: string,
  box: Sealer,
  now = new Date(),
): { webhook: WebhookDocument; signingSecret: string } {
  const signingSecret = generateSigningSecret();
  return {
    signingSecret,
    webhook: {
      _id: newWebhookId(),
      organization_id: organizationId,
      webhook_name: input.webhook_name,
      event_types: [...input.event_types],
      channels: input.channels.map((channel) => sealChannel(channel, box)),
      is_active: input.is_active ?? true,
      signing_secrets: [{ sealed: box.seal(signingSecret), created_at: now, expires_at: null }],
      retry_policy: input.retry_policy ?? null,
      disabled_reason: null,
      created_at: now,
      updated_at: now,
    },
  };
}
