import type { Sealer } from '../store/channel-secrets';
import type { WebhookDocument } from '../store/webhook-store';

/**
 * The secrets that sign a delivery at `now`: the current one, plus rotated-out ones
 * whose grace period has not ended (one signature each, newest first).
 */
export function activeSigningSecrets(webhook: Pick<WebhookDocument, 'signing_secrets'>, box: Sealer, now: Date): string[] {
  return webhook.signing_secrets
    .filter((secret) => secret.expires_at === null || secret.expires_at.getTime() > now.getTime())
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())
    .map((secret) => box.open(secret.sealed));
}
