/** Writes dist/workflow-bundle.js, the prebuilt bundle production workers load. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildWorkflowBundle, prebuiltBundlePath } from '../src/temporal/workflow-bundle';

buildWorkflowBundle()
  .then((code) => {
    const path = prebuiltBundlePath();
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, code);
    console.log(`workflow bundle: ${path} (${(code.length / 1024).toFixed(0)} KiB)`);
  })
  .catch((error: Error) => {
    console.error(`building the workflow bundle failed: ${error.message}`);
    process.exit(1);
  });
