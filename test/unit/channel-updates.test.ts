import { describe, expect, it } from 'vitest';
import { createSecretBox, generateEncryptionKey } from '../../src/security/secret-box';
import { MASKED_VALUE, openChannel, sealChannel } from '../../src/store/channel-secrets';
import type { StoredChannel } from '../../src/store/webhook-store';
import { assertNoMaskedSecrets, MaskedSecretError, sealChannels, unmaskSlackUrls } from '../../src/webhooks/channel-updates';

const box = createSecretBox(generateEncryptionKey());
const hook = (url: string, headers: Record<string, string>): StoredChannel => ({ channel: 'webhook', configs: { url, headers } });
const stored = [sealChannel(hook('https://a.example.com', { 'X-A': 'secret-a' }), box), sealChannel(hook('https://b.example.com', { 'X-B': 'secret-b' }), box)];

describe('sealChannels', () => {
  it('keeps the stored secret for a masked value, matching channels by URL when reordered', () => {
    const next = [hook('https://b.example.com', { 'X-B': MASKED_VALUE }), hook('https://a.example.com', { 'X-A': MASKED_VALUE, 'X-New': 'n' })];
    const sealed = sealChannels(next, stored, box);
    expect(sealed.map((c) => openChannel(c, box).configs.headers)).toEqual([{ 'X-B': 'secret-b' }, { 'X-A': 'secret-a', 'X-New': 'n' }]);
    expect(JSON.stringify(sealed)).not.toContain('secret-');
  });

  it('falls back to the channel at the same position when the URL changed', () => {
    const sealed = sealChannels([hook('https://moved.example.com', { 'X-A': MASKED_VALUE })], stored, box);
    expect(openChannel(sealed[0]!, box).configs.headers).toEqual({ 'X-A': 'secret-a' });
  });

  it('refuses a masked value with no stored secret behind it', () => {
    expect(() => sealChannels([stored[0]!, hook('https://c.example.com', { 'X-C': MASKED_VALUE })], [], box)).toThrow(MaskedSecretError);
    let error: unknown;
    try {
      sealChannels([hook('https://a.example.com', {}), hook('https://c.example.com', { 'X-C': MASKED_VALUE })], stored.slice(0, 1), box);
    } catch (e) {
      error = e;
    }
    expect((error as MaskedSecretError).channelIndex).toBe(1);
    expect(() => assertNoMaskedSecrets([hook('https://a.example.com', { 'X-A': MASKED_VALUE })])).toThrow(MaskedSecretError);
    expect(() => assertNoMaskedSecrets([hook('https://a.example.com', { 'X-A': 'real' })])).not.toThrow();
  });
});

describe('unmaskSlackUrls', () => {
  it('puts the stored Slack URL back before validation', () => {
    const slack = sealChannel({ channel: 'slack', configs: { webhook_url: 'https://hooks.slack.com/services/x' } }, box);
    const body = { webhook_name: 'n', channels: [{ channel: 'slack', configs: { webhook_url: MASKED_VALUE, channel: '#a' } }] };
    expect(unmaskSlackUrls(body, [slack], box)).toEqual({
      webhook_name: 'n',
      channels: [{ channel: 'slack', configs: { webhook_url: 'https://hooks.slack.com/services/x', channel: '#a' } }],
    });
    // Nothing stored there, or not a masked value: unchanged.
    expect(unmaskSlackUrls(body, [], box)).toEqual(body);
    expect(unmaskSlackUrls('junk', [slack], box)).toBe('junk');
  });
});
