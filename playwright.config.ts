import { defineConfig } from '@playwright/test'
import { chromiumArgs, chromiumPath } from './tests/browser/chromium'

export default defineConfig({
  testDir: 'tests/browser',
  globalSetup: './tests/browser/global-setup.ts',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: process.env.CI ? 1 : 2,
  retries: 0,
  reporter: [['list']],
  use: {
    launchOptions: { executablePath: chromiumPath(), args: chromiumArgs },
  },
})
