/**
 * Subscription patterns for event types. Workflow-safe: no imports.
 *
 * A pattern is one of:
 *   - an exact event type            "object.created"
 *   - "*"                            every event type
 *   - "<prefix>.*"                   every type with at least one more segment after
 *                                    <prefix>: "cluster.*" matches "cluster.created" and
 *                                    "cluster.execution.completed", but neither "cluster"
 *                                    nor "clusters.x" (segments are compared whole).
 * Wildcards elsewhere ("*.completed", "cluster.*.failed", "obj*") are not patterns.
 * Matching is case-sensitive; event types are lowercase.
 */

export const ALL_EVENT_TYPES_PATTERN = '*';

const WILDCARD_SUFFIX = '.*';

// A segment is lowercase letters, digits or underscores, as in every catalogued type.
const SEGMENTED_NAME = /^[a-z0-9_]+(?:\.[a-z0-9_]+)*$/;

/** True when `type` is selected by `pattern`. */
export function matchesEventType(pattern: string, type: string): boolean {
  if (pattern === ALL_EVENT_TYPES_PATTERN) return true;
  if (pattern.endsWith(WILDCARD_SUFFIX)) {
    // Keep the trailing dot so "object.*" does not match "objects.created.batch".
    const prefixWithDot = pattern.slice(0, -1);
    return prefixWithDot.length > 1 && type.startsWith(prefixWithDot) && type.length > prefixWithDot.length;
  }
  return pattern === type;
}

/** True when `pattern` has the shape of a pattern, whatever the catalog holds. */
export function isWellFormedEventTypePattern(pattern: string): boolean {
  if (pattern === ALL_EVENT_TYPES_PATTERN) return true;
  if (pattern.endsWith(WILDCARD_SUFFIX)) {
    return SEGMENTED_NAME.test(pattern.slice(0, -WILDCARD_SUFFIX.length));
  }
  return SEGMENTED_NAME.test(pattern);
}

/**
 * True when `pattern` is a known type, "*", or "<prefix>.*" selecting at least one known
 * type (a wildcard that can never match is almost certainly a typo).
 */
export function isValidEventTypePattern(pattern: string, knownTypes: readonly string[]): boolean {
  if (!isWellFormedEventTypePattern(pattern)) return false;
  if (pattern === ALL_EVENT_TYPES_PATTERN) return true;
  if (pattern.endsWith(WILDCARD_SUFFIX)) {
    return knownTypes.some((type) => matchesEventType(pattern, type));
  }
  return knownTypes.includes(pattern);
}

/** True when any of `patterns` selects `type`. */
export function matchesAnyEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((pattern) => matchesEventType(pattern, type));
}
