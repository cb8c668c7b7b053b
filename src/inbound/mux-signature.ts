import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Mux webhook signatures: `Mux-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where
 * the HMAC, keyed by the endpoint's signing secret, covers `"<t>.<raw body>"`.
 * Verified over the raw request bytes (never a re-serialized body), in constant time,
 * with a tolerance on the timestamp in both directions (a clock ahead of ours is as
 * suspicious as a replay from the past).
 */

export const MUX_SIGNATURE_HEADER = 'mux-signature';
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const MAX_HEADER_LENGTH = 2048;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const UNIX_SECONDS = /^[0-9]{1,12}$/;

export type MuxSignatureFailure = 'missing' | 'malformed' | 'timestamp_out_of_tolerance' | 'mismatch';

export type MuxSignatureResult = { ok: true; timestamp: number } | { ok: false; reason: MuxSignatureFailure };

/** What each failure tells the caller (no secret material, nothing about the expected value). */
export const MUX_SIGNATURE_MESSAGES: Record<MuxSignatureFailure, string> = {
  missing: 'missing Mux-Signature header',
  malformed: 'malformed Mux-Signature header: expected t=<unix seconds>,v1=<hex>',
  timestamp_out_of_tolerance: 'Mux-Signature timestamp is outside the 5-minute tolerance',
  mismatch: 'Mux-Signature does not match the request body',
};

export interface ParsedMuxSignature {
  timestamp: number;
  /** Every v1 signature in the header (more than one during a secret rotation). */
  signatures: Buffer[];
}

/** Splits the header; undefined when it has no usable timestamp or v1 signature. */
export function parseMuxSignatureHeader(header: string): ParsedMuxSignature | undefined {
  if (header.length > MAX_HEADER_LENGTH) return undefined;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator <= 0) continue;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !UNIX_SECONDS.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1' && HEX_SHA256.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (v0, future ones) are ignored, as Mux's own libraries do.
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

function expectedSignature(secret: string, timestamp: number, rawBody: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(rawBody).digest();
}

export interface VerifyMuxSignatureInput {
  header: string | string[] | undefined;
  rawBody: Buffer;
  secret: string;
  /** Current time in milliseconds (tests pass a fixed one). */
  nowMs?: number;
  toleranceSeconds?: number;
}

export function verifyMuxSignature(input: VerifyMuxSignatureInput): MuxSignatureResult {
  const header = Array.isArray(input.header) ? input.header.join(',') : input.header;
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  const parsed = parseMuxSignatureHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed' };

  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((input.nowMs ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - parsed.timestamp) > tolerance) return { ok: false, reason: 'timestamp_out_of_tolerance' };

  const expected = expectedSignature(input.secret, parsed.timestamp, input.rawBody);
  // Every candidate is compared (no early exit), each in constant time; all have the
  // digest's length because the parser only accepts 64 hex characters.
  let matched = false;
  for (const signature of parsed.signatures) {
    if (signature.length === expected.length && timingSafeEqual(signature, expected)) matched = true;
  }
  return matched ? { ok: true, timestamp: parsed.timestamp } : { ok: false, reason: 'mismatch' };
}

/** The header Mux would send for this body (for tests, tools and local replays). */
export function signMuxPayload(secret: string, rawBody: Buffer | string, timestampSeconds: number): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  return `t=${timestampSeconds},v1=${expectedSignature(secret, timestampSeconds, body).toString('hex')}`;
}
