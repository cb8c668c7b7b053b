import type { Config } from '../config/env';
import type { Sealer } from '../store/channel-secrets';
import type { ChannelSenders } from './channel-sender';
import type { HttpTransport } from './http-transport';
import { activeSigningSecrets } from './signing-secrets';
import { createWebhookChannel } from './webhook-channel';

export interface ChannelSenderDeps {
  config: Config;
  transport: HttpTransport;
  box: Sealer;
  userAgent: string;
}

/** One sender per channel kind, built from configuration. */
export function createChannelSenders(deps: ChannelSenderDeps): ChannelSenders {
  return {
    webhook: createWebhookChannel({
      transport: deps.transport,
      userAgent: deps.userAgent,
      signingSecrets: (attempt) => activeSigningSecrets(attempt.webhook, deps.box, attempt.now),
    }),
  };
}
