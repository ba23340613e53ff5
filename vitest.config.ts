import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (file: string) => fileURLToPath(new URL(`./packages/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Unit tests run against sources; end-to-end tests spawn the built bins (dist/).
    alias: [
      { find: /^@edge-telemetry\/protocol\/testing$/, replacement: src('protocol/src/testing/index.ts') },
      { find: /^@edge-telemetry\/protocol\/net$/, replacement: src('protocol/src/net/index.ts') },
      { find: /^@edge-telemetry\/(protocol|collector|ingester)$/, replacement: src('$1/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Deadlines for hangs, not for speed: CI's machine is unknown and may be slower or busier than
    // ours, where CPU-bound cases that take 2 s idle took 7-9 s in a full run (fuzzing, the outbox's
    // 70,000 appends). Each wait inside a test has its own, shorter deadline that names what it
    // waited for.
    testTimeout: 90_000,
    hookTimeout: 180_000,
    // chdb allows one engine per process: files that open it must not share a worker with another data path.
    pool: 'forks',
    // One file at a time, on any machine. vitest's default is a worker per core less one: one on
    // our 2 cores, where every full run so far has run, and N-1 files side by side on a bigger CI
    // machine, a configuration never run here (brokers, engines, 1,000-node simulators, cgroups and
    // Chromium competing, and their memory added up).
    maxWorkers: 1,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-artifacts/vitest.json' },
  },
});
