import { defineConfig } from 'vitest/config';

// Unit tests only: pure code, no servers, no global setup.
export default defineConfig({
  test: { include: ['test/unit/**/*.test.ts'] },
});
