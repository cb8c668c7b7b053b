import { describe, expect, it } from 'vitest';
import { formatDuration, InvalidDurationError, parseDuration } from '../../src/domain/duration';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['2m', 120_000],
    ['2h', 7_200_000],
    ['3d', 259_200_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    [' 10s ', 10_000],
    ['0s', 0],
  ])('parses %j as %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each(['', '5', 's', '5 s', '-5s', '5sec', '5S', '1w', '1h 30m', 'ms', '1.s', '0.0001s', 'abc'])(
    'rejects %j with InvalidDurationError',
    (input) => {
      expect(() => parseDuration(input)).toThrow(InvalidDurationError);
    },
  );

  it('names the bad input in the message', () => {
    expect(() => parseDuration('5 minutes')).toThrow(/"5 minutes" is not a duration/);
  });

  it('rejects non-strings', () => {
    expect(() => parseDuration(5 as unknown as string)).toThrow(InvalidDurationError);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [5_000, '5s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [259_200_000, '3d'],
    [90_061_001, '1d1h1m1s1ms'],
  ])('formats %d as %j', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 36_000_000, 2_592_000_000, 123_456_789]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(InvalidDurationError);
  });
});
