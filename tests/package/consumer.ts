/** What every consumer of the tarball must do: three tabs of one profile, one socket on the server, a ringing call. */
import { test as base, expect } from '@playwright/test'
import type { Browser } from '@playwright/test'
import { startServer } from '../../server/server'
import type { ReferenceServer } from '../../server/server'
import { createApi, dialogFrom, newSignedInContext } from '../browser/fixtures'
import type { Api } from '../browser/fixtures'

export { expect }

/** The reference server, per test, serving `staticDir` (a consumer app's build output). */
export async function serve(staticDir: string): Promise<{ server: ReferenceServer; api: Api }> {
  const server = await startServer({ port: 0, staticDir, log: () => {} })
  return { server, api: createApi(server.url) }
}

export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: async ({}, use) => {
    await use([])
  },
})

/**
 * Alice opens `url` in three tabs: they share one socket (counted by the server) and one hub (each tab's status
 * says 3 tabs); Bob calls her tutor profile and the dialog rings in all three. Returns the one shared worker's
 * URL and the URLs the first tab loaded, to show how the app found the worker.
 */
export async function expectThreeTabsOnOneSocketRing(browser: Browser, url: string, api: Api, pageErrors: string[]): Promise<{ workerUrl: string; loaded: string[] }> {
  const alice = await newSignedInContext(browser, url, await api.login('alice'))
  alice.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(error.message)))
  try {
    const tabs = []
    for (let i = 0; i < 3; i += 1) {
      const tab = await alice.newPage()
      await tab.goto(url)
      tabs.push(tab)
    }
    for (const tab of tabs) {
      await expect.poll(() => tab.evaluate(() => window.callHub?.status)).toMatchObject({ type: 'open', profileKey: 'Tutor:1', tabs: 3 })
    }
    await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })

    await api.call(await api.login('bob'), 'Tutor:1')
    for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
    expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
    expect(pageErrors).toEqual([])

    // Playwright does not list shared workers; the browser does, through CDP.
    const cdp = await alice.newCDPSession(tabs[0]!)
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; url: string }> }
    await cdp.detach()
    const workers = targetInfos.filter((target) => target.type === 'shared_worker').map((target) => target.url)
    expect(workers).toHaveLength(1)
    const loaded = await tabs[0]!.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name))
    return { workerUrl: workers[0]!, loaded }
  } finally {
    await alice.close()
  }
}
