/**
 * The client never throws into the page (issue 13.4), and odd identities end in a status, not a loop (13.6):
 * browsers without storage, BroadcastChannel, Notification or Web Audio; tokens and roles no backend would
 * issue; a custom `fetchMe` that rejects the token.
 */
import type { Page } from '@playwright/test'
import { routeBarePage } from './bare-page'
import { dialogFrom, expect, expectOpen, statusOf, test } from './fixtures'

/** Playwright cannot hide a page: make the page believe it is hidden, and tell it, as the browser would. */
async function hide(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })
    document.dispatchEvent(new Event('visibilitychange'))
  })
}

/** Console lines of `page` from now on (errors prefixed with `error: `). */
function consoleOf(page: Page): string[] {
  const lines: string[] = []
  page.on('console', (message) => lines.push(`${message.type() === 'error' ? 'error: ' : ''}${message.text()}`))
  return lines
}

const errorsIn = (lines: string[]) => lines.filter((line) => line.startsWith('error: '))

/** The demo logs each invitation its listener hears: the page heard of the call, not only the dialog. */
const heard = (page: Page, caller: string) => expect(page.locator('#events')).toContainText(`${caller} is calling`)

test.describe('the client never throws into the page', () => {
  test('where localStorage throws (storage blocked), the tab is signed out, says why in the console, and survives identity events', async ({ signedIn, server, pageErrors }) => {
    const context = await signedIn('alice')
    await context.addInitScript(() => {
      Object.defineProperty(window, 'localStorage', {
        configurable: true,
        get: () => {
          throw new DOMException('The document is sandboxed and lacks the allow-same-origin flag', 'SecurityError')
        },
      })
    })
    // The demo's own script reads localStorage and would throw first: a page with nothing but callhub.
    const url = await routeBarePage(context, server.url)
    const page = await context.newPage()
    const logged = consoleOf(page)
    await page.goto(url)
    await page.evaluate(() => {
      window.callHub = window.CallHub.connectCallHub()
    })
    await expect.poll(async () => (await statusOf(page)).type).toBe('signed-out')
    await page.evaluate(() => {
      dispatchEvent(new Event('callhub:identity'))
      dispatchEvent(new StorageEvent('storage', { key: 'token' }))
    })
    await expect.poll(() => page.evaluate(() => window.callHub.refresh().then(() => window.callHub.status.type))).toBe('signed-out')
    expect(logged.filter((line) => line.includes('localStorage'))).toHaveLength(1)
    expect(pageErrors).toEqual([])
  })

  test('without BroadcastChannel a call rings through the shared worker; without SharedWorker too, each tab has its own socket and the status says why', async ({ signedIn, openTabs, api, pageErrors }) => {
    const alice = await signedIn('alice')
    await alice.addInitScript(() => {
      Reflect.deleteProperty(window, 'BroadcastChannel')
    })
    const tabs = await openTabs(alice, 2)
    await expectOpen(tabs)
    expect(await statusOf(tabs[0]!)).toMatchObject({ mode: 'shared-worker', tabs: 2 })
    await api.call(await api.login('bob'), 'Tutor:1')
    for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()

    const carol = await signedIn('carol')
    await carol.addInitScript(() => {
      Reflect.deleteProperty(window, 'BroadcastChannel')
      Reflect.deleteProperty(window, 'SharedWorker')
    })
    const alone = await openTabs(carol, 2)
    await expectOpen(alone)
    for (const tab of alone) {
      expect(await statusOf(tab)).toMatchObject({ mode: 'per-tab', modeReason: expect.stringContaining('no BroadcastChannel') })
    }
    await expect.poll(() => api.stats()).toMatchObject({ 'Tutor:2': 2 })
    await api.call(await api.login('bob'), 'Tutor:2')
    for (const tab of alone) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
    expect(pageErrors).toEqual([])
  })

  test('with no tab in view, a call rings where Notification is missing, and where its constructor throws (Chrome on Android)', async ({ signedIn, openTabs, api, pageErrors }) => {
    const missing = await signedIn('alice')
    await missing.addInitScript(() => {
      Reflect.deleteProperty(window, 'Notification')
    })
    const refusing = await signedIn('carol')
    await refusing.addInitScript(() => {
      class AndroidNotification {
        static permission = 'granted'
        constructor() {
          throw new TypeError("Failed to construct 'Notification': Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead.")
        }
      }
      Object.assign(window, { Notification: AndroidNotification })
    })
    const bob = await api.login('bob')
    for (const [context, profile] of [[missing, 'Tutor:1'], [refusing, 'Tutor:2']] as const) {
      const tabs = await openTabs(context, 2)
      await expectOpen(tabs)
      const logged = tabs.map(consoleOf)
      for (const tab of tabs) await hide(tab)
      await api.call(bob, profile)
      for (const tab of tabs) {
        await expect(dialogFrom(tab, 'Bob Bekele')).toBeAttached()
        await heard(tab, 'Bob Bekele')
      }
      await expect.poll(async () => (await Promise.all(tabs.map((tab) => tab.evaluate(() => window.callHub.ringsHere)))).filter(Boolean)).toEqual([true])
      if (context === refusing) await expect.poll(() => logged.flat().filter((line) => line.includes('no system notifications'))).toHaveLength(1)
      for (const tab of tabs) expect((await statusOf(tab)).type).toBe('open')
      expect(errorsIn(logged.flat())).toEqual([])
    }
    expect(pageErrors).toEqual([])
  })

  test('without Web Audio a call rings in silence: the dialog shows, the sound is off, the console says why, nothing throws', async ({ signedIn, openTabs, api, pageErrors }) => {
    const alice = await signedIn('alice')
    await alice.addInitScript(() => {
      Reflect.deleteProperty(window, 'AudioContext')
    })
    const [tab] = await openTabs(alice, 1)
    const logged = consoleOf(tab!)
    await expectOpen([tab!])
    const bob = await api.login('bob')
    const { call_log_id } = await api.call(bob, 'Tutor:1')
    await expect(dialogFrom(tab!, 'Bob Bekele')).toBeVisible()
    await heard(tab!, 'Bob Bekele')
    expect(await tab!.evaluate(() => window.callHub.ringsHere)).toBe(true)
    await expect.poll(() => logged.filter((line) => line.includes('no ringtone'))).toHaveLength(1)
    expect(await tab!.evaluate(() => window.callHub.sound)).toBe('off')
    await dialogFrom(tab!, 'Bob Bekele').getByRole('button', { name: 'Accept' }).click()
    await expect.poll(() => api.callStatus(bob, call_log_id)).toBe('accepted')
    expect(errorsIn(logged)).toEqual([])
    expect(pageErrors).toEqual([])
  })
})

test.describe('identity edges end in a status, never a loop', () => {
  test('a custom fetchMe that throws TokenRejectedError: unauthorized at once, and not asked again however long the page waits', async ({ signedIn, server, pageErrors }) => {
    const context = await signedIn('alice')
    // The page's clock runs as usual until the test runs it on by minutes, where a retry would have to fire.
    await context.clock.install()
    const url = await routeBarePage(context, server.url)
    const page = await context.newPage()
    await page.goto(url)
    await page.evaluate(() => {
      let asked = 0
      window.callHub = window.CallHub.connectCallHub({
        fetchMe: async () => {
          asked += 1
          throw new window.CallHub.TokenRejectedError(401)
        },
      })
      Object.assign(window, { asked: () => asked })
    })
    await expect.poll(() => statusOf(page)).toMatchObject({ type: 'unauthorized', code: 401 })
    await page.clock.runFor(10 * 60_000)
    expect(await page.evaluate(() => (window as unknown as { asked: () => number }).asked())).toBe(1)
    expect((await statusOf(page)).type).toBe('unauthorized')
    expect(pageErrors).toEqual([])
  })

  test('a 1 MB token is unauthorized at once, without asking /api/me (not waiting for ever), and is nowhere in the status', async ({ signedIn, server, pageErrors }) => {
    const alice = await signedIn('alice')
    await alice.addInitScript(() => {
      // (about:blank, where a new tab starts, has no localStorage.)
      if (location.protocol === 'http:') localStorage.setItem('token', 't'.repeat(1_048_576))
    })
    const asked: string[] = []
    alice.on('request', (request) => void (request.url().includes('/api/me') && asked.push(request.url())))
    // The demo's own script asks /api/me with any token: a page with nothing but callhub.
    const page = await alice.newPage()
    await page.goto(await routeBarePage(alice, server.url))
    await page.evaluate(() => {
      window.callHub = window.CallHub.connectCallHub()
    })
    await expect.poll(() => statusOf(page)).toMatchObject({ type: 'unauthorized', code: 0 })
    expect(JSON.stringify(await statusOf(page)).length).toBeLessThan(1_000)
    expect(asked).toEqual([])
    expect(pageErrors).toEqual([])
  })

  test('a 1 MB active_role, in storage or from /api/me, is no profile and is not printed into the status', async ({ signedIn, openTabs, server, pageErrors }) => {
    const alice = await signedIn('alice')
    await alice.addInitScript(() => {
      if (location.protocol === 'http:') localStorage.setItem('active_role', 'tutor'.repeat(200_000))
    })
    const [tab] = await openTabs(alice, 1)
    await expect.poll(() => statusOf(tab!)).toMatchObject({ type: 'no-profile', role: null })
    expect(JSON.stringify(await statusOf(tab!)).length).toBeLessThan(1_000)
    expect((await tab!.locator('#status').textContent())!.length).toBeLessThan(100)

    const bare = await signedIn('alice')
    const page = await bare.newPage()
    await page.goto(await routeBarePage(bare, server.url))
    await page.evaluate(() => {
      window.callHub = window.CallHub.connectCallHub({
        fetchMe: async () => ({ roles: ['tutor'], active_role: 'tutor'.repeat(200_000), tutor_profile_id: 1 }),
      })
    })
    await expect.poll(() => statusOf(page)).toMatchObject({ type: 'no-profile', role: null })
    expect(JSON.stringify(await statusOf(page)).length).toBeLessThan(1_000)
    expect(pageErrors).toEqual([])
  })
})
