import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, loadConfig } from '../../src/config/env';

describe('HOOKRELAY_METRICS_PORT', () => {
  it('is off when unset or empty, a port number when set', () => {
    expect(loadConfig({}).HOOKRELAY_METRICS_PORT).toBeUndefined();
    expect(loadConfig({ HOOKRELAY_METRICS_PORT: '' }).HOOKRELAY_METRICS_PORT).toBeUndefined();
    expect(loadConfig({ HOOKRELAY_METRICS_PORT: ' 9464 ' }).HOOKRELAY_METRICS_PORT).toBe(9464);
  });

  it('refuses what is not a port, naming the variable', () => {
    for (const value of ['http', '-1', '0', '9464.5', '70000']) {
      let error: unknown;
      try {
        loadConfig({ HOOKRELAY_METRICS_PORT: value });
      } catch (caught) {
        error = caught;
      }
      expect(error, value).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('HOOKRELAY_METRICS_PORT');
    }
  });
});

describe('empty variables', () => {
  it('count as unset: every one set to the empty string, or to blanks, gives the defaults', () => {
    const allEmpty = Object.fromEntries(Object.keys(envSchema.shape).map((name) => [name, '']));
    expect(loadConfig(allEmpty)).toEqual(loadConfig({}));
    // Coerced, '' would be 0: a random API port, the breaker turned off, a refused limit.
    expect(loadConfig({ PORT: '' }).PORT).toBe(3000);
    expect(loadConfig({ HOOKRELAY_BREAKER_FAILURES: '' }).HOOKRELAY_BREAKER_FAILURES).toBe(10);
    expect(loadConfig({ HOOKRELAY_ENDPOINT_CONCURRENCY: '' }).HOOKRELAY_ENDPOINT_CONCURRENCY).toBe(20);
    // Blank counts as empty.
    const allBlank = Object.fromEntries(Object.keys(envSchema.shape).map((name) => [name, ' \t']));
    expect(loadConfig(allBlank)).toEqual(loadConfig({}));
    expect(loadConfig({ PORT: ' ' }).PORT).toBe(3000);
  });
});
