import { describe, expect, it } from 'vitest';
import { fairnessKeyOf } from '../../src/temporal/start-event-workflow';

describe('fairnessKeyOf', () => {
  it('keeps an organization id that fits Temporal\'s 64-byte limit', () => {
    expect(fairnessKeyOf('org_acme')).toBe('org_acme');
    expect(fairnessKeyOf('o'.repeat(64))).toBe('o'.repeat(64));
  });

  it('hashes a longer one to a short key, the same for the same organization', () => {
    const long = `org_${'x'.repeat(150)}`;
    const key = fairnessKeyOf(long);
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(64);
    expect(fairnessKeyOf(long)).toBe(key);
    expect(fairnessKeyOf(`${long}y`)).not.toBe(key);
  });

  it('counts bytes, not characters', () => {
    const wide = 'é'.repeat(40); // 80 bytes in UTF-8
    expect(fairnessKeyOf(wide)).not.toBe(wide);
    expect(Buffer.byteLength(fairnessKeyOf(wide))).toBeLessThanOrEqual(64);
  });
});
