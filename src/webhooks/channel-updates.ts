import { MASKED_VALUE, sealChannelKeepingMasked, type Sealer } from '../store/channel-secrets';
import type { StoredChannel } from '../store/webhook-store';

/** A masked placeholder was sent for a secret there is no stored value to keep for. */
export class MaskedSecretError extends Error {
  override readonly name = 'MaskedSecretError';
  constructor(readonly channelIndex: number) {
    super(
      `channels[${channelIndex}]: "${MASKED_VALUE}" stands for a stored secret, but this channel has none to keep; send the real value`,
    );
  }
}

function guarded(box: Sealer, channelIndex: number): Sealer {
  return {
    open: (sealed) => box.open(sealed),
    seal(plaintext) {
      if (plaintext === MASKED_VALUE) throw new MaskedSecretError(channelIndex);
      return box.seal(plaintext);
    },
  };
}

/**
 * The stored channel whose secrets a masked value in `next` refers to: the same kind
 * and URL (so reordering channels keeps each one's headers), else the one at the same
 * position if it is of the same kind.
 */
function previousFor(next: StoredChannel, index: number, previous: readonly StoredChannel[]): StoredChannel | undefined {
  const url = next.configs.url;
  if (next.channel === 'webhook' && typeof url === 'string') {
    const sameUrl = previous.find((p) => p.channel === 'webhook' && p.configs.url === url);
    if (sameUrl) return sameUrl;
  }
  const atIndex = previous[index];
  return atIndex?.channel === next.channel ? atIndex : undefined;
}

/**
 * Seals channels for storage. Sending back a masked value (what GET shows) keeps the
 * stored secret; a masked value with nothing behind it is refused (MaskedSecretError).
 */
export function sealChannels(next: readonly StoredChannel[], previous: readonly StoredChannel[], box: Sealer): StoredChannel[] {
  return next.map((channel, index) => sealChannelKeepingMasked(channel, previousFor(channel, index, previous), guarded(box, index)));
}

const IDENTITY: Sealer = { seal: (value) => value, open: (value) => value };

/** On create there is nothing stored: a masked placeholder can only be a copy-paste slip. */
export function assertNoMaskedSecrets(channels: readonly StoredChannel[]): void {
  sealChannels(channels, [], IDENTITY);
}

/**
 * A Slack webhook URL is masked in responses but must still validate as a URL when a
 * client sends the masked value back. Before validation, such a value is replaced by
 * the stored URL of the matching channel (same position, same kind), so it is checked
 * and sealed again like any other. Other shapes are left for validation to judge.
 */
export function unmaskSlackUrls(body: unknown, previous: readonly StoredChannel[], box: Sealer): unknown {
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { channels?: unknown }).channels)) return body;
  const channels = (body as { channels: unknown[] }).channels.map((channel, index) => {
    const candidate = channel as { channel?: unknown; configs?: Record<string, unknown> } | null;
    const stored = previous[index];
    if (
      candidate?.channel !== 'slack' ||
      candidate.configs?.webhook_url !== MASKED_VALUE ||
      stored?.channel !== 'slack' ||
      typeof stored.configs.webhook_url !== 'string'
    ) {
      return channel;
    }
    return { ...candidate, configs: { ...candidate.configs, webhook_url: box.open(stored.configs.webhook_url) } };
  });
  return { ...(body as object), channels };
}
