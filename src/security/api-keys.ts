import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys: `hr_` + 40 URL-safe random characters (240 bits). Shown once; only the
 * sha256 hash and a short prefix (for listing and revocation) are stored.
 */

export const API_KEY_PREFIX = 'hr_';
const RANDOM_BYTES = 30; // 30 bytes → exactly 40 base64url characters
const DISPLAY_PREFIX_LENGTH = 12;
// Keys carry ≥ 32 random characters after `hr_`; the upper bound keeps junk out of lookups.
const API_KEY_SHAPE = /^hr_[A-Za-z0-9_-]{32,128}$/;

export interface GeneratedApiKey {
  /** The full key: give it to the caller once, never store it. */
  key: string;
  /** First 12 characters, safe to store and display. */
  prefix: string;
  /** sha256 hex of the key: what is stored and looked up. */
  hash: string;
}

export function generateApiKey(): GeneratedApiKey {
  const key = API_KEY_PREFIX + randomBytes(RANDOM_BYTES).toString('base64url');
  return { key, prefix: apiKeyPrefix(key), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function apiKeyPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** Cheap shape check before hashing and querying. */
export function looksLikeApiKey(value: string): boolean {
  return typeof value === 'string' && API_KEY_SHAPE.test(value);
}
