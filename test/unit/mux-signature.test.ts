import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseMuxSignatureHeader, signMuxPayload, verifyMuxSignature } from '../../src/inbound/mux-signature';

const SECRET = 'mux-signing-secret';
const BODY = Buffer.from('{"type":"video.asset.deleted","id":"3a56ac3d-33da-4366-855b-f592d898409d","data":{"id":"asset1"}}');
const T = 1_700_000_000;
const NOW = T * 1000;

function hmacHex(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

describe('Mux signature verification', () => {
  it('accepts the signature Mux computes: hex HMAC-SHA256 of "<t>.<raw body>"', () => {
    const header = `t=${T},v1=${hmacHex(SECRET, `${T}.${BODY.toString('utf8')}`)}`;
    expect(signMuxPayload(SECRET, BODY, T)).toBe(header);
    expect(verifyMuxSignature({ header, rawBody: BODY, secret: SECRET, nowMs: NOW })).toEqual({ ok: true, timestamp: T });
  });

  it('accepts spaces, upper-case hex, extra schemes and several v1 signatures (rotation)', () => {
    const good = hmacHex(SECRET, `${T}.${BODY.toString('utf8')}`);
    const header = `t=${T}, v0=deadbeef, v1=${'0'.repeat(64)}, v1=${good.toUpperCase()}`;
    expect(verifyMuxSignature({ header, rawBody: BODY, secret: SECRET, nowMs: NOW }).ok).toBe(true);
  });

  it('rejects a tampered body, a wrong secret and a signature for another timestamp', () => {
    const header = signMuxPayload(SECRET, BODY, T);
    const tampered = Buffer.from(BODY.toString('utf8').replace('asset1', 'asset2'));
    expect(verifyMuxSignature({ header, rawBody: tampered, secret: SECRET, nowMs: NOW })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyMuxSignature({ header, rawBody: BODY, secret: 'other', nowMs: NOW })).toEqual({ ok: false, reason: 'mismatch' });
    const shifted = header.replace(`t=${T}`, `t=${T + 1}`);
    expect(verifyMuxSignature({ header: shifted, rawBody: BODY, secret: SECRET, nowMs: NOW })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('verifies the raw bytes: a re-serialized body (other whitespace) does not match', () => {
    const header = signMuxPayload(SECRET, BODY, T);
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(BODY.toString('utf8')), null, 1));
    expect(verifyMuxSignature({ header, rawBody: reserialized, secret: SECRET, nowMs: NOW }).ok).toBe(false);
  });

  it('allows 5 minutes of clock difference in both directions, not more', () => {
    for (const offset of [-300, -1, 0, 1, 300]) {
      const header = signMuxPayload(SECRET, BODY, T + offset);
      expect(verifyMuxSignature({ header, rawBody: BODY, secret: SECRET, nowMs: NOW }).ok, `offset ${offset}`).toBe(true);
    }
    for (const offset of [-360, -301, 301, 360]) {
      const header = signMuxPayload(SECRET, BODY, T + offset);
      expect(verifyMuxSignature({ header, rawBody: BODY, secret: SECRET, nowMs: NOW }), `offset ${offset}`).toEqual({
        ok: false,
        reason: 'timestamp_out_of_tolerance',
      });
    }
  });

  it('reports a missing or malformed header', () => {
    const verify = (header: string | undefined) => verifyMuxSignature({ header, rawBody: BODY, secret: SECRET, nowMs: NOW });
    expect(verify(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(verify('  ')).toEqual({ ok: false, reason: 'missing' });
    for (const header of [
      'garbage',
      `v1=${'a'.repeat(64)}`,
      `t=${T}`,
      `t=${T},v1=abc`,
      `t=${T},v1=${'g'.repeat(64)}`,
      `t=-5,v1=${'a'.repeat(64)}`,
      `t=1e9,v1=${'a'.repeat(64)}`,
      `t=${T},t=${T},v1=${'a'.repeat(64)}`,
      `t=${T},v1=${'a'.repeat(64)},${'x'.repeat(3000)}`,
    ]) {
      expect(verify(header), header.slice(0, 40)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('parses the header into the timestamp and every v1 signature', () => {
    const parsed = parseMuxSignatureHeader(`t=${T},v1=${'a'.repeat(64)},v1=${'b'.repeat(64)}`);
    expect(parsed?.timestamp).toBe(T);
    expect(parsed?.signatures.map((s) => s.toString('hex'))).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
  });
});
