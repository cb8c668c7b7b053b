import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  generateSigningSecret,
  InvalidSigningSecretError,
  signPayload,
  verifySignature,
} from '../../src/security/signing';

const BODY = JSON.stringify({ event_id: 'evt_1', event_type: 'object.created', metadata: { bucket_id: 'b' } });

describe('generateSigningSecret', () => {
  it('is whsec_ + base64 of 32 random bytes by default', () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(generateSigningSecret()).not.toBe(secret);
  });

  it('honours the 24–64 byte range', () => {
    expect(Buffer.from(generateSigningSecret(24).slice(6), 'base64')).toHaveLength(24);
    expect(Buffer.from(generateSigningSecret(64).slice(6), 'base64')).toHaveLength(64);
    expect(() => generateSigningSecret(16)).toThrow(RangeError);
    expect(() => generateSigningSecret(65)).toThrow(RangeError);
  });
});

describe('signPayload', () => {
  it('signs id.timestamp.body with the decoded secret (known vector)', () => {
    const key = Buffer.alloc(32, 1);
    const secret = `whsec_${key.toString('base64')}`;
    const expected = createHmac('sha256', key).update(`msg_1.1700000000.${BODY}`).digest('base64');
    expect(signPayload({ id: 'msg_1', timestamp: 1_700_000_000, body: BODY }, [secret])).toBe(`v1,${expected}`);
  });

  it('matches the Standard Webhooks reference vector', () => {
    // From the standard-webhooks specification's test suite.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const header = signPayload({ id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330, body: '{"test": 2432232314}' }, [secret]);
    expect(header).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('emits one space-separated signature per secret, in order', () => {
    const [a, b] = [generateSigningSecret(), generateSigningSecret()];
    const content = { id: 'msg_2', timestamp: 1_700_000_000, body: BODY };
    const header = signPayload(content, [a, b]);
    expect(header.split(' ')).toEqual([signPayload(content, [a]), signPayload(content, [b])]);
  });

  it('refuses no secrets, bad secrets and bad timestamps', () => {
    const content = { id: 'msg_3', timestamp: 1_700_000_000, body: BODY };
    expect(() => signPayload(content, [])).toThrow(InvalidSigningSecretError);
    expect(() => signPayload(content, ['whsec_not base64!'])).toThrow(InvalidSigningSecretError);
    expect(() => signPayload(content, ['whsec_'])).toThrow(InvalidSigningSecretError);
    expect(() => signPayload({ ...content, timestamp: 1_700_000_000.5 }, [generateSigningSecret()])).toThrow(RangeError);
    expect(() => signPayload({ ...content, timestamp: 1_700_000_000_000 * 1e6 }, [generateSigningSecret()])).toThrow(RangeError);
  });

  it('verifies with the standardwebhooks package, unchanged, for each of two secrets', () => {
    const secrets = [generateSigningSecret(), generateSigningSecret()];
    const id = 'msg_4';
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signPayload({ id, timestamp, body: BODY }, secrets),
    };
    for (const secret of secrets) {
      expect(new Webhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    }
    expect(() => new Webhook(generateSigningSecret()).verify(BODY, headers)).toThrow();
    expect(() => new Webhook(secrets[0]!).verify(`${BODY} `, headers)).toThrow();
  });
});

describe('verifySignature', () => {
  const secret = generateSigningSecret();
  const now = 1_700_000_000;
  const content = { id: 'msg_5', timestamp: now, body: BODY };

  it('accepts our own signature, also among other entries', () => {
    const header = signPayload(content, [secret]);
    expect(verifySignature(content, header, [secret], { nowSeconds: now })).toBe(true);
    expect(verifySignature(content, `v2,abc ${header}`, [secret], { nowSeconds: now })).toBe(true);
    expect(verifySignature(content, header, [generateSigningSecret(), secret], { nowSeconds: now })).toBe(true);
  });

  it('rejects another secret, altered content and stale timestamps', () => {
    const header = signPayload(content, [secret]);
    expect(verifySignature(content, header, [generateSigningSecret()], { nowSeconds: now })).toBe(false);
    expect(verifySignature({ ...content, body: `${BODY} ` }, header, [secret], { nowSeconds: now })).toBe(false);
    expect(verifySignature({ ...content, id: 'msg_6' }, header, [secret], { nowSeconds: now })).toBe(false);
    expect(verifySignature(content, header, [secret], { nowSeconds: now + 301 })).toBe(false);
    expect(verifySignature(content, header, [secret], { nowSeconds: now - 301 })).toBe(false);
    expect(verifySignature(content, header, [secret], { nowSeconds: now + 301, toleranceSeconds: 600 })).toBe(true);
    expect(verifySignature(content, '', [secret], { nowSeconds: now })).toBe(false);
    expect(verifySignature(content, header.replace('v1,', 'v2,'), [secret], { nowSeconds: now })).toBe(false);
  });
});
