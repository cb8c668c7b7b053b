import { describe, expect, it } from 'vitest';
import { createSecretBox, generateEncryptionKey } from '../../src/security/secret-box';
import type { StoredSigningSecret } from '../../src/store/webhook-store';
import { currentSigningSecret, MAX_SIGNING_SECRETS, rotateSecretRequestSchema, rotateSigningSecrets } from '../../src/webhooks/rotate-secret';

const box = createSecretBox(generateEncryptionKey());
const HOUR = 3_600_000;
const now = new Date('2025-06-01T12:00:00Z');
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
const secret = (plain: string, createdOffset: number, expiresOffset: number | null): StoredSigningSecret => ({
  sealed: box.seal(plain),
  created_at: at(createdOffset),
  expires_at: expiresOffset === null ? null : at(expiresOffset),
});

describe('rotateSigningSecrets', () => {
  it('puts a new current secret first and lets the previous one sign until now + grace', () => {
    const rotation = rotateSigningSecrets([secret('whsec_old', -HOUR, null)], box, now, 24 * HOUR);
    expect(rotation.signingSecret).toMatch(/^whsec_/);
    expect(rotation.secrets).toHaveLength(2);
    expect(box.open(rotation.secrets[0]!.sealed)).toBe(rotation.signingSecret);
    expect(rotation.secrets[0]!.expires_at).toBeNull();
    expect(box.open(rotation.secrets[1]!.sealed)).toBe('whsec_old');
    expect(rotation.secrets[1]!.expires_at).toEqual(at(24 * HOUR));
    expect(rotation.previousExpireAt).toEqual(at(24 * HOUR));
    expect(currentSigningSecret(rotation.secrets, box)).toBe(rotation.signingSecret);
  });

  it('keeps an earlier expiry, prunes expired secrets, and retires everything at once with a zero grace', () => {
    const current = [secret('whsec_now', -HOUR, null), secret('whsec_soon', -2 * HOUR, HOUR), secret('whsec_gone', -3 * HOUR, -1)];
    const rotation = rotateSigningSecrets(current, box, now, 24 * HOUR);
    expect(rotation.secrets.map((s) => box.open(s.sealed)).slice(1)).toEqual(['whsec_now', 'whsec_soon']);
    expect(rotation.secrets[2]!.expires_at).toEqual(at(HOUR));

    const immediate = rotateSigningSecrets(current, box, now, 0);
    expect(immediate.secrets).toHaveLength(1);
    expect(immediate.previousExpireAt).toBeNull();
  });

  it(`keeps at most ${MAX_SIGNING_SECRETS} secrets`, () => {
    const many = Array.from({ length: 8 }, (_, i) => secret(`whsec_${i}`, -i * 1000, i === 0 ? null : HOUR));
    const rotation = rotateSigningSecrets(many, box, now, HOUR);
    expect(rotation.secrets).toHaveLength(MAX_SIGNING_SECRETS);
    expect(rotation.secrets.slice(1).map((s) => box.open(s.sealed))).toEqual(['whsec_0', 'whsec_1', 'whsec_2', 'whsec_3']);
  });
});

describe('rotate request', () => {
  it('accepts no body, null, or a bounded grace period', () => {
    expect(rotateSecretRequestSchema.safeParse(undefined).success).toBe(true);
    expect(rotateSecretRequestSchema.safeParse({}).success).toBe(true);
    expect(rotateSecretRequestSchema.safeParse({ grace_period: '7d' }).success).toBe(true);
    expect(rotateSecretRequestSchema.safeParse({ grace_period: '0s' }).success).toBe(true);
    expect(rotateSecretRequestSchema.safeParse({ grace_period: '7d1s' }).success).toBe(false);
    expect(rotateSecretRequestSchema.safeParse({ grace_period: 'tomorrow' }).success).toBe(false);
    expect(rotateSecretRequestSchema.safeParse({ grace_period: 3600 }).success).toBe(false);
  });
});
