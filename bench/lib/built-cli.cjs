'use strict';
// Runs the compiled CLI (dist/, written by `npm run build`), as a production image does.
// bin/hookrelay.js prefers the TypeScript sources in a checkout, which costs a transpiler
// and a workflow bundle built at start-up: not what an operator's process carries.
const { join } = require('node:path');

require(join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js')).main(process.argv.slice(2));
