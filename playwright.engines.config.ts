/**
 * The cross-engine suite (`npm run test:engines`): the same scenarios in Chromium (Playwright), Firefox
 * (puppeteer-core over WebDriver BiDi) and WebKitGTK (WebKitWebDriver), one project per engine found here.
 *
 * Playwright's runner drives all three, not only Chromium: a project per engine names each result
 * (`[webkit] › …`) and selects one (`--project firefox`); a worker-scoped fixture launches each browser once;
 * `test.fail(condition, reason)` registers a known failure that breaks the run when it starts passing; and
 * `expect.poll` and the fixtures read as in tests/browser.
 */
import { defineConfig } from '@playwright/test'
import type { EngineOptions } from './tests/engines/fixtures'
import { findEngines } from './tests/engines/installed'

export default defineConfig<EngineOptions>({
  testDir: 'tests/engines',
  globalSetup: './tests/engines/setup.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // The engines share two cores with everything else on the machine: one browser at a time.
  workers: 1,
  retries: 0,
  reporter: [['list'], ['./tests/engines/reporter.ts']],
  projects: findEngines().filter((installation) => installation.found).map((installation) => ({ name: installation.engine, use: { installation } })),
})
