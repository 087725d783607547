/**
 * The unit tests Stryker runs against each mutant: those of the decision-making code. The reference server's
 * tests mutate nothing there and are left out; the hostile-frame fuzz test runs fewer frames (it is the
 * slowest test by far, and what it kills dies within the first thousand frames).
 */
import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: '.',
  test: {
    include: ['tests/unit/**/*.test.ts'],
    exclude: ['tests/unit/server*.test.ts'],
    environment: 'node',
    env: { CALLHUB_FUZZ_RUNS: '2000' },
    // Instrumented code on a shared 2-core machine runs the 1,000-hub simulations several times slower.
    testTimeout: 60_000,
  },
})
