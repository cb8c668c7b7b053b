import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Workflow code imports these, and the Temporal workflow sandbox must not pull in zod or
// node built-ins through them (docs/architecture.md, Temporal): they stay import-free.
const WORKFLOW_SAFE_MODULES = ['src/domain/duration.ts', 'src/domain/event-type-pattern.ts', 'src/domain/delivery-outcome.ts'];

const REPO_ROOT = join(__dirname, '..', '..');

describe('workflow-safe modules', () => {
  it.each(WORKFLOW_SAFE_MODULES)('%s has no imports or requires', (file) => {
    const source = readFileSync(join(REPO_ROOT, file), 'utf8');
    expect(source).not.toMatch(/^\s*import\s/m);
    expect(source).not.toMatch(/\brequire\s*\(/);
    expect(source).not.toMatch(/\bimport\s*\(/);
  });

  it.each(WORKFLOW_SAFE_MODULES)('%s uses no wall clock or randomness', (file) => {
    const source = readFileSync(join(REPO_ROOT, file), 'utf8');
    expect(source).not.toMatch(/Date\.now\(|new Date\(\)|Math\.random\(/);
  });
});
