/**
 * Metadata filters of an inbound provider connection (docs/api.md): every filter must
 * hold for an asset to belong in the connection's bucket. Pure and import-free.
 *
 * `field` is a dotted path into the provider's asset object (for Mux: its `data`), e.g.
 * `passthrough`, `meta.title`, `status`, `duration`, `tracks.0.type`. A missing field
 * and an explicit `null` are both "absent".
 *
 * Operators:
 *   equals / not_equals     deep equality of JSON values (not_equals holds for an absent field)
 *   contains / not_contains a string contains the (string) value as a substring, or an array
 *                           has an element equal to the value (not_contains holds when absent)
 *   gt / lt / gte / lte     numbers compare numerically, strings lexicographically (ISO 8601
 *                           timestamps order correctly); a numeric string compared with a
 *                           number is read as a number (Mux sends `created_at` as "1565220904");
 *                           any other mix, or an absent field, does not hold
 *   exists                  the field is present and not null; `value: false` inverts it
 */

export const METADATA_FILTER_OPERATORS = [
  'equals',
  'not_equals',
  'contains',
  'not_contains',
  'gt',
  'lt',
  'gte',
  'lte',
  'exists',
] as const;

export type MetadataFilterOperator = (typeof METADATA_FILTER_OPERATORS)[number];

export interface MetadataFilter {
  field: string;
  operator: MetadataFilterOperator;
  /** Required by every operator but `exists` (where it is an optional boolean, default true). */
  value?: unknown;
}

export const ORDERING_OPERATORS: readonly MetadataFilterOperator[] = ['gt', 'lt', 'gte', 'lte'];

/** The value at a dotted path; undefined when any step is missing. Own properties only. */
export function valueAtPath(source: unknown, path: string): unknown {
  let current: unknown = source;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(segment)) return undefined;
      current = current[Number(segment)];
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Structural equality of JSON values (object key order does not matter). */
export function jsonEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEquals(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const leftKeys = Object.keys(left).filter((key) => left[key] !== undefined);
  const rightKeys = Object.keys(right).filter((key) => right[key] !== undefined);
  if (leftKeys.length !== rightKeys.length) return false;
  return leftKeys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && jsonEquals(left[key], right[key]));
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

const NUMERIC_TEXT = /^\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && NUMERIC_TEXT.test(value)) return Number(value);
  return undefined;
}

/** -1, 0 or 1; undefined when the two cannot be ordered. */
function compare(actual: unknown, expected: unknown): number | undefined {
  if (typeof actual === 'string' && typeof expected === 'string') {
    return actual < expected ? -1 : actual > expected ? 1 : 0;
  }
  if (typeof actual === 'number' || typeof expected === 'number') {
    const left = asNumber(actual);
    const right = asNumber(expected);
    if (left === undefined || right === undefined) return undefined;
    return left < right ? -1 : left > right ? 1 : 0;
  }
  return undefined;
}

function contains(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected);
  if (Array.isArray(actual)) return actual.some((item) => jsonEquals(item, expected));
  return false;
}

/** Whether one filter holds for the asset. */
export function filterHolds(filter: MetadataFilter, asset: unknown): boolean {
  const actual = valueAtPath(asset, filter.field);
  switch (filter.operator) {
    case 'exists':
      return filter.value === false ? isAbsent(actual) : !isAbsent(actual);
    case 'equals':
      return !isAbsent(actual) && jsonEquals(actual, filter.value);
    case 'not_equals':
      return isAbsent(actual) || !jsonEquals(actual, filter.value);
    case 'contains':
      return contains(actual, filter.value);
    case 'not_contains':
      return !contains(actual, filter.value);
    case 'gt':
    case 'lt':
    case 'gte':
    case 'lte': {
      if (isAbsent(actual)) return false;
      const order = compare(actual, filter.value);
      if (order === undefined) return false;
      if (filter.operator === 'gt') return order > 0;
      if (filter.operator === 'lt') return order < 0;
      if (filter.operator === 'gte') return order >= 0;
      return order <= 0;
    }
    default:
      // An operator this version does not know never holds (fail closed).
      return false;
  }
}

/** All filters must hold; no filters means everything matches. */
export function matchesAllFilters(filters: readonly MetadataFilter[], asset: unknown): boolean {
  return filters.every((filter) => filterHolds(filter, asset));
}

/** The filters that do not hold, for explaining a removal. */
export function failingFilters(filters: readonly MetadataFilter[], asset: unknown): MetadataFilter[] {
  return filters.filter((filter) => !filterHolds(filter, asset));
}
