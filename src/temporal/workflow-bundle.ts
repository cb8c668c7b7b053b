import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { repoRoot } from '../infra/repo-root';

/** Where `npm run build` writes the prebuilt bundle that production workers load. */
export function prebuiltBundlePath(): string {
  return join(repoRoot(), 'dist', 'workflow-bundle.js');
}

/** workflows/index.ts in a checkout; the compiled index.js where only dist/ exists. */
function workflowsEntry(): string {
  const source = join(repoRoot(), 'workflows', 'index.ts');
  return existsSync(source) ? source : join(repoRoot(), 'dist', 'workflows', 'index.js');
}

/** Bundles workflows/index.ts (the only workflow entry point) into one deterministic script. */
export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsEntry(),
    logger: new DefaultLogger('WARN'),
  });
  return code;
}

/** The prebuilt bundle when running the compiled build; a fresh one when running from source. */
export async function loadWorkflowBundle(): Promise<{ code: string }> {
  const path = prebuiltBundlePath();
  if (__filename.endsWith('.js') && existsSync(path)) return { code: readFileSync(path, 'utf8') };
  return { code: await buildWorkflowBundle() };
}
