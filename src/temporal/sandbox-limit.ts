import { readFileSync } from 'node:fs';

/**
 * How long one call into the workflow sandbox may run before the SDK fails the workflow
 * task (its check for a workflow stuck in a loop; the SDK's default is 5 s).
 *
 * Node starts a watchdog thread for every sandbox call that has a limit
 * (nodejs/node#47739): 60–270 µs a call on the machine of docs/performance.md, about 9
 * calls an event, more than hookrelay's workflow code itself takes. hookrelay runs only its
 * own small workflows, so it sets no limit by default; the SDK, patched on install
 * (patches/), then starts no watchdog. HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS brings the
 * check back.
 */

/** The longest limit Node accepts; the SDK's debug mode uses it to mean none. */
export const UNLIMITED_SANDBOX_MS = 4_294_967_295;

/** The SDK's `isolateExecutionTimeout` for a limit in ms, 0 meaning none. */
export function isolateExecutionTimeout(limitMs: number): string {
  return `${limitMs === 0 ? UNLIMITED_SANDBOX_MS : limitMs}ms`;
}

/** The SDK's files that call into the sandbox: its reusable context (the default) and one context per run. */
const SANDBOX_CALLERS = ['@temporalio/worker/lib/workflow/reusable-vm.js', '@temporalio/worker/lib/workflow/vm.js'];

/**
 * Whether the installed SDK skips the watchdog when there is no limit (patches/ applied).
 * Without the patch, no limit still works, with a watchdog thread per call.
 */
export function sdkSkipsWatchdogWithoutLimit(): boolean {
  return SANDBOX_CALLERS.every((module) =>
    readFileSync(require.resolve(module), 'utf8').includes(`>= ${UNLIMITED_SANDBOX_MS}`),
  );
}
