import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The directory holding hookrelay's package.json, from a checkout (workflows/ beside it)
 * or from a built image (only dist/workflows beside it).
 */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const isRoot =
      existsSync(join(dir, 'package.json')) &&
      (existsSync(join(dir, 'workflows')) || existsSync(join(dir, 'dist', 'workflows')));
    if (isRoot) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the hookrelay package root above ${from}`);
    dir = parent;
  }
}

/** Git-ignored folder for binaries the project builds for itself (Temporal CLI, MongoDB stand-in). */
export function toolsDir(): string {
  return process.env.HOOKRELAY_TOOLS_DIR ?? join(repoRoot(), '.tools');
}
