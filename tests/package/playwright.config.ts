import { defineConfig } from '@playwright/test'
import { chromiumArgs, chromiumPath } from '../browser/chromium'

/** The consumers of the packed tarball (tests/package/pack.ts installs it; global-setup.ts checks it did). */
export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  globalSetup: './global-setup.ts',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: process.env.CI ? 1 : 2,
  retries: 0,
  reporter: [['list']],
  use: {
    launchOptions: { executablePath: chromiumPath(), args: chromiumArgs },
  },
})
