/**
 * Human duration strings ("500ms", "5s", "2m", "2h", "3d", or compounds such as
 * "1h30m") ↔ milliseconds. Workflow-safe: no imports, deterministic.
 */

export class InvalidDurationError extends Error {
  override readonly name = 'InvalidDurationError';
  constructor(
    readonly input: unknown,
    reason: string,
  ) {
    super(reason);
  }
}

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

type DurationUnit = keyof typeof UNIT_MS;

// Longest unit first so formatDuration picks the largest one that fits.
const UNITS_DESCENDING: readonly DurationUnit[] = ['d', 'h', 'm', 's', 'ms'];

// One or more "<number><unit>" parts; "ms" must be tried before "m".
const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

const EXAMPLES = '"500ms", "5s", "2m", "2h", "3d" or "1h30m"';

/** Parses a duration string into whole milliseconds. Throws InvalidDurationError. */
export function parseDuration(input: string): number {
  if (typeof input !== 'string') {
    throw new InvalidDurationError(input, `a duration must be a string such as ${EXAMPLES}`);
  }
  const text = input.trim();
  if (text === '') {
    throw new InvalidDurationError(input, `empty duration: use a value such as ${EXAMPLES}`);
  }
  if (!DURATION_PATTERN.test(text)) {
    throw new InvalidDurationError(
      input,
      `"${input}" is not a duration: use a number followed by ms, s, m, h or d, such as ${EXAMPLES}`,
    );
  }
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) {
    const amount = Number(match[1]);
    const unit = match[2] as DurationUnit;
    total += amount * UNIT_MS[unit];
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) {
    throw new InvalidDurationError(input, `"${input}" is too long a duration`);
  }
  const rounded = Math.round(total);
  if (Math.abs(total - rounded) > 1e-6) {
    throw new InvalidDurationError(input, `"${input}" is finer than one millisecond`);
  }
  return rounded;
}

/**
 * Formats milliseconds as the shortest compound duration string, e.g. 5400000 → "1h30m",
 * 500 → "500ms", 0 → "0s". parseDuration(formatDuration(ms)) === ms for whole ms.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0 || !Number.isInteger(ms)) {
    throw new InvalidDurationError(ms, `cannot format ${ms} as a duration: expected whole, non-negative milliseconds`);
  }
  if (ms === 0) return '0s';
  let remaining = ms;
  let text = '';
  for (const unit of UNITS_DESCENDING) {
    const size = UNIT_MS[unit];
    const count = Math.floor(remaining / size);
    if (count > 0) {
      text += `${count}${unit}`;
      remaining -= count * size;
    }
  }
  return text;
}
