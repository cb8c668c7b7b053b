import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env';
import { isolateExecutionTimeout, sdkSkipsWatchdogWithoutLimit, UNLIMITED_SANDBOX_MS } from '../../src/temporal/sandbox-limit';

describe('workflow sandbox limit', () => {
  it('sets none by default and takes a limit in ms', () => {
    expect(loadConfig({}).HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS).toBe(0);
    expect(loadConfig({ HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS: '5000' }).HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS).toBe(5000);
    expect(() => loadConfig({ HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS: '-1' })).toThrow(/HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS/);
    expect(() => loadConfig({ HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS: '5s' })).toThrow(/HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS/);
  });

  it("maps no limit to the longest one Node accepts, which the patched SDK runs without a watchdog", () => {
    expect(isolateExecutionTimeout(0)).toBe(`${UNLIMITED_SANDBOX_MS}ms`);
    expect(isolateExecutionTimeout(5000)).toBe('5000ms');
  });

  // npm ci applies patches/ (postinstall); a clean install without it fails here.
  it('finds the patch applied to the installed SDK', () => {
    expect(sdkSkipsWatchdogWithoutLimit()).toBe(true);
  });
});
