import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<body>", keyed with the base64-decoded part of a
 * `whsec_` secret, sent as `v1,<base64>`; during rotation one signature per valid
 * secret, space-separated.
 */

export const SIGNING_SECRET_PREFIX = 'whsec_';
export const SIGNATURE_VERSION = 'v1';
const DEFAULT_SECRET_BYTES = 32;
// Signing secrets are 24–64 random bytes.
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** Standard Webhooks receivers reject timestamps further than this from their clock. */
export const DEFAULT_TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export class InvalidSigningSecretError extends Error {
  override readonly name = 'InvalidSigningSecretError';
}

export interface SignedContent {
  /** The webhook-id header (the delivery id). */
  id: string;
  /** The webhook-timestamp header: whole seconds since the epoch. */
  timestamp: number;
  /** The exact request body that is sent. */
  body: string;
}

/** `whsec_` + base64 of `bytes` (default 32) random bytes. */
export function generateSigningSecret(bytes = DEFAULT_SECRET_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    throw new RangeError(`signing secrets have ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} random bytes, got ${bytes}`);
  }
  return SIGNING_SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key of a secret; the `whsec_` prefix is optional, as in the reference libraries. */
export function signingKeyOf(secret: string): Buffer {
  const encoded = secret.startsWith(SIGNING_SECRET_PREFIX) ? secret.slice(SIGNING_SECRET_PREFIX.length) : secret;
  if (!BASE64.test(encoded)) {
    throw new InvalidSigningSecretError('signing secret must be "whsec_" followed by base64');
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new InvalidSigningSecretError('signing secret is empty');
  return key;
}

function assertContent(content: SignedContent): void {
  if (!Number.isSafeInteger(content.timestamp) || content.timestamp < 0) {
    throw new RangeError(`timestamp must be whole seconds since the epoch, got ${content.timestamp}`);
  }
}

function signatureWith(key: Buffer, content: SignedContent): string {
  return createHmac('sha256', key).update(`${content.id}.${content.timestamp}.${content.body}`, 'utf8').digest('base64');
}

/** The webhook-signature header value: "v1,<sig> v1,<sig2>", one per secret, in order. */
export function signPayload(content: SignedContent, secrets: readonly string[]): string {
  if (secrets.length === 0) throw new InvalidSigningSecretError('at least one signing secret is required');
  assertContent(content);
  return secrets.map((secret) => `${SIGNATURE_VERSION},${signatureWith(signingKeyOf(secret), content)}`).join(' ');
}

export interface VerifyOptions {
  /** Seconds since the epoch; defaults to the clock. */
  nowSeconds?: number;
  toleranceSeconds?: number;
}

/**
 * True when any v1 signature in `signatureHeader` matches any of `secrets` and the
 * timestamp is within tolerance. Comparison is constant-time.
 */
export function verifySignature(
  content: SignedContent,
  signatureHeader: string,
  secrets: readonly string[],
  options: VerifyOptions = {},
): boolean {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TIMESTAMP_TOLERANCE_SECONDS;
  if (!Number.isSafeInteger(content.timestamp) || Math.abs(now - content.timestamp) > tolerance) return false;
  const presented = signatureHeader
    .split(' ')
    .map((entry) => entry.split(','))
    .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] === SIGNATURE_VERSION)
    .map(([, signature]) => Buffer.from(signature, 'base64'));
  for (const secret of secrets) {
    const expected = Buffer.from(signatureWith(signingKeyOf(secret), content), 'base64');
    for (const candidate of presented) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return true;
    }
  }
  return false;
}
