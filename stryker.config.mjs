// @ts-check
/**
 * `npm run mutate`: mutation testing of the decision-making code with the unit tests (see README, "Mutation
 * testing"). Stryker 9.x, the last line that runs on Node 20; its Vitest runner supports Vitest 4.1.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner', './scripts/mutate/ignore-messages.mjs'],
  ignorers: ['messages'],
  mutate: [
    'protocol/wire.ts', 'protocol/errors.ts',
    'core/hub.ts', 'core/connection.ts', 'core/backoff.ts', 'core/settings.ts', 'core/delivery.ts', 'core/mirror.ts', 'core/host.ts',
    'client/link.ts',
  ],
  coverageAnalysis: 'perTest',
  // The machine has 2 cores shared with browsers and benchmarks.
  concurrency: 2,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The aim is 85 % (issue 15); `break` holds the overall score under its last measure (Stryker's own 96.31 %),
  // and scripts/mutate/check.ts holds each file to its own floor.
  thresholds: { high: 90, low: 85, break: 96 },
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
}
