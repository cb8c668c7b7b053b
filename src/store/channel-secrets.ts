import type { StoredChannel } from './webhook-store';

/** What a secret looks like in every API response. */
export const MASKED_VALUE = '********';

export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/**
 * Channel fields that are credentials: custom header values (`X-Mixpeek-Secret`) and a
 * Slack incoming-webhook URL, which is itself a bearer credential. They are sealed at
 * rest, opened only inside delivery activities and masked in responses.
 */
function mapSecrets(channel: StoredChannel, map: (value: string, field: string) => string): StoredChannel {
  const configs = { ...channel.configs };
  if (channel.channel === 'webhook' && configs.headers && typeof configs.headers === 'object') {
    configs.headers = Object.fromEntries(
      Object.entries(configs.headers as Record<string, string>).map(([name, value]) => [
        name,
        map(value, `headers.${name}`),
      ]),
    );
  }
  if (channel.channel === 'slack' && typeof configs.webhook_url === 'string') {
    configs.webhook_url = map(configs.webhook_url, 'webhook_url');
  }
  return { channel: channel.channel, configs };
}

export function sealChannel(channel: StoredChannel, box: Sealer): StoredChannel {
  return mapSecrets(channel, (value) => box.seal(value));
}

export function openChannel(channel: StoredChannel, box: Sealer): StoredChannel {
  return mapSecrets(channel, (value) => box.open(value));
}

export function maskChannel(channel: StoredChannel): StoredChannel {
  return mapSecrets(channel, () => MASKED_VALUE);
}

/**
 * Seals an incoming channel for an update. A client that sends back what it read (the
 * masked value) means "keep the stored secret": that field keeps its sealed value.
 */
export function sealChannelKeepingMasked(
  next: StoredChannel,
  previous: StoredChannel | undefined,
  box: Sealer,
): StoredChannel {
  const stored = new Map<string, string>();
  if (previous && previous.channel === next.channel) {
    mapSecrets(previous, (sealed, field) => {
      stored.set(field, sealed);
      return sealed;
    });
  }
  return mapSecrets(next, (value, field) => {
    const kept = value === MASKED_VALUE ? stored.get(field) : undefined;
    return kept ?? box.seal(value);
  });
}
