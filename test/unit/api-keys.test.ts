import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiKeyPrefix, generateApiKey, hashApiKey, looksLikeApiKey } from '../../src/security/api-keys';

describe('generateApiKey', () => {
  it('makes hr_ + 40 URL-safe characters with its prefix and hash', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^hr_[A-Za-z0-9_-]{40}$/);
    expect(prefix).toBe(key.slice(0, 12));
    expect(prefix.startsWith('hr_')).toBe(true);
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not repeat', () => {
    const keys = new Set(Array.from({ length: 500 }, () => generateApiKey().key));
    expect(keys.size).toBe(500);
  });
});

describe('hashApiKey', () => {
  it('is sha256 hex, deterministic and key-specific', () => {
    expect(hashApiKey('hr_abc')).toBe('6168bd260d5b3396d0370a5186f4801a0049a652d5642c5ea0a36b5cb31d608d');
    expect(hashApiKey('hr_abc')).toBe(hashApiKey('hr_abc'));
    expect(hashApiKey('hr_abc')).not.toBe(hashApiKey('hr_abd'));
  });
});

describe('looksLikeApiKey', () => {
  it('accepts generated keys and ≥ 32-character suffixes', () => {
    expect(looksLikeApiKey(generateApiKey().key)).toBe(true);
    expect(looksLikeApiKey(`hr_${'a'.repeat(32)}`)).toBe(true);
  });

  it.each(['', 'hr_', `hr_${'a'.repeat(31)}`, `xx_${'a'.repeat(40)}`, `hr_${'a'.repeat(39)}!`, `hr_${'a'.repeat(129)}`, `Bearer hr_${'a'.repeat(40)}`])(
    'rejects %j',
    (value) => {
      expect(looksLikeApiKey(value)).toBe(false);
    },
  );

  it('apiKeyPrefix is the first 12 characters', () => {
    expect(apiKeyPrefix('hr_abcdefghijklmnop')).toBe('hr_abcdefghi');
  });
});
