import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (file: string) => fileURLToPath(new URL(`./packages/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Unit tests run against sources; end-to-end tests spawn the built bins (dist/).
    alias: [
      { find: /^@edge-telemetry\/protocol\/testing$/, replacement: src('protocol/src/testing/index.ts') },
      { find: /^@edge-telemetry\/(protocol|collector|ingester)$/, replacement: src('$1/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // chdb allows one engine per process: files that open it must not share a worker with another data path.
    pool: 'forks',
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-artifacts/vitest.json' },
  },
});
