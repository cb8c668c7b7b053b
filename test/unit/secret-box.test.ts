import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createSecretBox,
  generateEncryptionKey,
  InvalidEncryptionKeyError,
  keyFingerprint,
  looksSealed,
  SecretDecryptError,
  SecretKeyMismatchError,
} from '../../src/security/secret-box';

const KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');

function replacePart(sealed: string, index: number, replace: (part: string) => string): string {
  const parts = sealed.split('.');
  parts[index] = replace(parts[index]!);
  return parts.join('.');
}

function flipFirstByte(part: string): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  return bytes.toString('base64url');
}

describe('createSecretBox', () => {
  it('round-trips text, including empty and non-ASCII text', () => {
    const box = createSecretBox(KEY);
    for (const plaintext of ['whsec_abc', '', 'Bearer tøken ✓ 🔐', 'x'.repeat(10_000)]) {
      expect(box.open(box.seal(plaintext))).toBe(plaintext);
    }
  });

  it('uses the versioned format with the key id and a fresh IV each time', () => {
    const box = createSecretBox(KEY);
    const first = box.seal('same');
    const second = box.seal('same');
    expect(first).not.toBe(second);
    const parts = first.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v1');
    expect(parts[1]).toBe(box.keyId);
    expect(parts.slice(2).every((part) => /^[A-Za-z0-9_-]*$/.test(part))).toBe(true);
    expect(first).not.toContain('same');
    expect(looksSealed(first)).toBe(true);
    expect(looksSealed('whsec_abc')).toBe(false);
  });

  it('opens with a box built from the same key', () => {
    const sealed = createSecretBox(KEY).seal('secret');
    expect(createSecretBox(KEY).open(sealed)).toBe('secret');
  });

  it('reports a value sealed under another key as a key mismatch', () => {
    const sealed = createSecretBox(OTHER_KEY).seal('secret');
    const box = createSecretBox(KEY);
    expect(() => box.open(sealed)).toThrow(SecretKeyMismatchError);
    try {
      box.open(sealed);
    } catch (error) {
      expect(error).toMatchObject({ expectedKeyId: keyFingerprint(KEY), actualKeyId: keyFingerprint(OTHER_KEY) });
    }
  });

  it.each([
    ['iv', 2],
    ['tag', 3],
    ['ciphertext', 4],
  ])('detects a tampered %s', (_name, index) => {
    const box = createSecretBox(KEY);
    const tampered = replacePart(box.seal('secret value'), index, flipFirstByte);
    expect(() => box.open(tampered)).toThrow(SecretDecryptError);
  });

  it('rejects an unknown format version', () => {
    const box = createSecretBox(KEY);
    const relabelled = replacePart(box.seal('secret'), 0, () => 'v2');
    expect(() => box.open(relabelled)).toThrow(/unsupported sealed secret version "v2"/);
  });

  it.each(['', 'plain text', 'v1.a.b.c', 'v1.a.b.c.d.e'])('rejects malformed %j as undecryptable', (value) => {
    expect(() => createSecretBox(KEY).open(value)).toThrow(SecretDecryptError);
  });

  it('rejects a truncated IV or tag as malformed, not as a crash', () => {
    const box = createSecretBox(KEY);
    const sealed = box.seal('secret');
    expect(() => box.open(replacePart(sealed, 2, (part) => part.slice(0, 4)))).toThrow('sealed secret is malformed');
    expect(() => box.open(replacePart(sealed, 3, (part) => part.slice(0, 4)))).toThrow('sealed secret is malformed');
  });

  it.each([
    ['too short', randomBytes(16).toString('base64')],
    ['too long', randomBytes(33).toString('base64')],
    ['not base64', 'this is not a key!'],
    ['empty', ''],
  ])('refuses a key that is %s', (_name, key) => {
    expect(() => createSecretBox(key)).toThrow(InvalidEncryptionKeyError);
  });

  it('accepts the base64url spelling of a key', () => {
    const raw = randomBytes(32);
    const standard = createSecretBox(raw.toString('base64'));
    const urlSafe = createSecretBox(raw.toString('base64url'));
    expect(urlSafe.keyId).toBe(standard.keyId);
    expect(urlSafe.open(standard.seal('x'))).toBe('x');
  });
});

describe('keys', () => {
  it('generateEncryptionKey makes distinct 32-byte base64 keys', () => {
    const key = generateEncryptionKey();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(generateEncryptionKey()).not.toBe(key);
    expect(() => createSecretBox(key)).not.toThrow();
  });

  it('keyFingerprint is short, stable, key-specific and not the key', () => {
    expect(keyFingerprint(KEY)).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(keyFingerprint(KEY)).toBe(keyFingerprint(KEY));
    expect(keyFingerprint(KEY)).not.toBe(keyFingerprint(OTHER_KEY));
    expect(KEY).not.toContain(keyFingerprint(KEY));
    expect(createSecretBox(KEY).keyId).toBe(keyFingerprint(KEY));
  });
});
