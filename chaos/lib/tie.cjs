'use strict';
// Preloaded (node --require) into every role process the chaos harness starts. The
// harness holds the other end of our stdin pipe; when it goes away for any reason
// (even kill -9) the pipe closes and this process follows it, so an interrupted run
// leaves nothing behind. The pipe does not keep the process alive by itself. Worker
// threads (the Temporal worker runs workflows in them) inherit preloads: only the main
// thread watches the pipe.
if (require('node:worker_threads').isMainThread) {
  const stdin = process.stdin;
  stdin.on('end', () => process.kill(process.pid, 'SIGKILL'));
  stdin.on('error', () => process.kill(process.pid, 'SIGKILL'));
  stdin.resume();
  if (typeof stdin.unref === 'function') stdin.unref();
}
