/**
 * Client-supplied JSON that hookrelay stores as MongoDB sub-documents (object metadata,
 * metadata filter values, payload templates) must be representable in BSON: field names
 * without NUL characters (the driver refuses them) and a bounded nesting depth (MongoDB
 * refuses documents nested beyond 100 levels, and a recursive walk of an unbounded one
 * overflows the stack). Checked when the request is validated, so such input is a 422.
 */

/** Levels of objects/arrays allowed inside one stored JSON field. */
export const MAX_JSON_DEPTH = 32;

export interface UnstorableJson {
  /** Where, relative to the checked value. */
  readonly path: Array<string | number>;
  readonly message: string;
}

/** The first reason `value` cannot be stored, or undefined. Iterative: any depth is safe. */
export function findUnstorableJson(value: unknown, maxDepth = MAX_JSON_DEPTH): UnstorableJson | undefined {
  const stack: Array<{ value: unknown; path: Array<string | number>; depth: number }> = [{ value, path: [], depth: 0 }];
  while (stack.length > 0) {
    const { value: current, path, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` };
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push({ value: item, path: [...path, index], depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      if (key.includes('\u0000')) return { path, message: 'field names must not contain NUL characters' };
      stack.push({ value: item, path: [...path, key], depth: depth + 1 });
    }
  }
  return undefined;
}
