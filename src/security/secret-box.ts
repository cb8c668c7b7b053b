import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encryption of secrets at rest (signing secrets, custom header values, provider
 * secrets) with AES-256-GCM under the configured key.
 *
 * Sealed format: `v1.<keyId>.<iv>.<tag>.<ciphertext>`, every part base64url. keyId is a
 * short hash of the key, so a value sealed under another key is reported as a key
 * mismatch rather than as tampering. "v1.<keyId>" is authenticated as associated data.
 */

const FORMAT_VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/** Base of every secret-box failure, for callers that treat them alike. */
export class SecretBoxError extends Error {
  override readonly name: string = 'SecretBoxError';
}

export class InvalidEncryptionKeyError extends SecretBoxError {
  override readonly name = 'InvalidEncryptionKeyError';
}

/** The value was sealed under a different key (e.g. HOOKRELAY_ENCRYPTION_KEY changed). */
export class SecretKeyMismatchError extends SecretBoxError {
  override readonly name = 'SecretKeyMismatchError';
  constructor(
    readonly expectedKeyId: string,
    readonly actualKeyId: string,
  ) {
    super(`secret was sealed with key ${actualKeyId}, but the configured key is ${expectedKeyId}`);
  }
}

/** The value is malformed, of an unknown version, or fails authentication (tampered). */
export class SecretDecryptError extends SecretBoxError {
  override readonly name = 'SecretDecryptError';
}

export interface SecretBox {
  /** Short fingerprint of the key, embedded in every sealed value. */
  readonly keyId: string;
  seal(plaintext: string): string;
  open(sealed: string): string;
}

const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;

function decodeKey(keyBase64: string): Buffer {
  const text = typeof keyBase64 === 'string' ? keyBase64.trim() : '';
  if (!BASE64_TEXT.test(text)) {
    throw new InvalidEncryptionKeyError('encryption key must be 32 bytes encoded as base64');
  }
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new InvalidEncryptionKeyError(`encryption key must be ${KEY_BYTES} bytes encoded as base64, got ${key.length} bytes`);
  }
  return key;
}

function fingerprintOf(key: Buffer): string {
  // Domain-separated so the fingerprint is not a plain hash of the key material.
  return createHash('sha256').update('hookrelay/secret-box/key-id\0').update(key).digest().subarray(0, 6).toString('base64url');
}

/** Short, non-secret identifier of a base64 key (8 base64url characters). */
export function keyFingerprint(keyBase64: string): string {
  return fingerprintOf(decodeKey(keyBase64));
}

/** A fresh random key, base64 (the HOOKRELAY_ENCRYPTION_KEY format). */
export function generateEncryptionKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** True when `value` has the shape of a sealed value (not proof it will open). */
export function looksSealed(value: string): boolean {
  return /^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}

export function createSecretBox(keyBase64: string): SecretBox {
  const key = decodeKey(keyBase64);
  const keyId = fingerprintOf(key);
  const associatedData = Buffer.from(`${FORMAT_VERSION}.${keyId}`, 'utf8');

  return {
    keyId,

    seal(plaintext: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData);
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [FORMAT_VERSION, keyId, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
    },

    open(sealed: string): string {
      const parts = typeof sealed === 'string' ? sealed.split('.') : [];
      if (parts.length !== 5) throw new SecretDecryptError('sealed secret is malformed');
      const [version, sealedKeyId, ivText, tagText, ciphertextText] = parts as [string, string, string, string, string];
      if (version !== FORMAT_VERSION) throw new SecretDecryptError(`unsupported sealed secret version "${version}"`);
      if (sealedKeyId !== keyId) throw new SecretKeyMismatchError(keyId, sealedKeyId);
      const iv = Buffer.from(ivText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretDecryptError('sealed secret is malformed');
      try {
        const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(associatedData);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretDecryptError('sealed secret failed authentication: it was altered or is corrupt');
      }
    },
  };
}
