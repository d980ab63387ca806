import { defineConfig } from 'vitest/config';

// .ci/run asks for a JSON report too, to print the "N passed, N failed" line.
const report = process.env.VIREO_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'threads',
    setupFiles: ['src/testing/fast-check-seed.ts'],
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
  },
});
