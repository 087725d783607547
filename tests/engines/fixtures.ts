/**
 * Fixtures of the cross-engine suite: one browser per engine and worker (a Playwright project per engine),
 * a fresh reference server per test on a free port, and signed-in profiles in that browser.
 */
import { test as base, expect } from '@playwright/test'
import { demoDir } from '../../server/build'
import { startServer } from '../../server/server'
import { createApi } from '../browser/fixtures'
import type { Api } from '../browser/fixtures'
import { launchChromium } from './drivers/chromium'
import { launchFirefox } from './drivers/firefox'
import { launchWebKit } from './drivers/webkit'
import type { Engine, Profile, Tab } from './harness'
import { findEngines } from './installed'
import type { Installation } from './installed'

export interface EngineOptions {
  /** Where this project's engine is installed (set by the config, one project per engine found). */
  installation: Installation
}

interface EngineFixtures {
  engine: Engine
}

interface ScenarioFixtures {
  api: Api
  /** A new browser profile of the test's engine, signed in as `username`, closed after the test. */
  signedIn(username: string): Promise<Profile>
  /** Opens `count` tabs of `path` in `profile`, each with `window.callHub`. */
  openTabs(profile: Profile, count: number, path?: string): Promise<Tab[]>
}

async function launch(installation: Installation): Promise<Engine> {
  if (!installation.found) throw new Error(`[engines] ${installation.engine} is not installed: ${installation.install}`)
  switch (installation.engine) {
    case 'chromium': return launchChromium(installation.executable)
    case 'firefox': return launchFirefox(installation.executable)
    case 'webkit': return launchWebKit(installation)
  }
}

export const test = base.extend<ScenarioFixtures, EngineOptions & EngineFixtures>({
  // Set per project by playwright.engines.config.ts; Chromium where nothing sets it.
  installation: [findEngines()[0]!, { option: true, scope: 'worker' }],
  // One browser per worker: launching Firefox or WebKit takes seconds; a profile per test keeps tests apart.
  engine: [
    async ({ installation }, use) => {
      const engine = await launch(installation)
      await use(engine)
      await engine.close()
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  // A new server per test, on a new port: a new origin, so nothing in the browser carries over either.
  api: async ({}, use) => {
    const server = await startServer({ port: 0, staticDir: demoDir, log: () => {} })
    await use(createApi(server.url))
    await server.close()
  },
  signedIn: async ({ engine, api }, use) => {
    const profiles: Profile[] = []
    await use(async (username) => {
      const profile = await engine.newProfile({ origin: api.url, token: await api.login(username) })
      profiles.push(profile)
      return profile
    })
    await Promise.all(profiles.map((profile) => profile.close()))
  },
  openTabs: async ({}, use) => {
    await use(async (profile, count, path) => {
      const tabs: Tab[] = []
      // One after another: WebDriver classic runs one command at a time anyway, and it keeps the load even.
      for (let index = 0; index < count; index += 1) tabs.push(await profile.openTab(path))
      return tabs
    })
  },
})

export { expect }
