#!/usr/bin/env node
'use strict';
// Runs the compiled CLI in a built image (no src/), and the TypeScript sources in a
// checkout, so `npm run dev` needs no build step.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
if (existsSync(join(root, 'src', 'cli', 'main.ts'))) {
  require('tsx/cjs');
  require(join(root, 'src', 'cli', 'main.ts')).main(process.argv.slice(2));
} else {
  require(join(root, 'dist', 'src', 'cli', 'main.js')).main(process.argv.slice(2));
}
