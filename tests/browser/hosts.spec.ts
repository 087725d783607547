/**
 * One socket per profile whatever the browser offers: a tab elected with Web Locks runs the hub where there
 * is no shared worker (or it fails to load), a socket per tab where there are no Web Locks either.
 */
import type { Page } from '@playwright/test'
import { ensureGenerationsBuilt } from '../../server/build'
import { startServer } from '../../server/server'
import { dialogFrom, expect, expectOpen, newSignedInContext, statusOf, test } from './fixtures'
import { withoutSharedWorker, withoutSharedWorkerOrWebLocks } from '../init-scripts'


/** Calls that ring in a tab, by id, as its hub reports them. */
const ringing = (page: Page) => page.evaluate(() => window.callHub.calls.map((call) => call.callLogId))

test('without SharedWorker, 4 tabs hold one socket; closing them oldest first, a call placed at each close rings in every tab left', async ({ signedIn, openTabs, api, pageErrors }) => {
  const alice = await signedIn('alice')
  await alice.addInitScript(withoutSharedWorker)
  const tabs: Page[] = []
  // One after another, so the oldest tab is the one that took the socket.
  for (let count = 0; count < 4; count += 1) tabs.push(...(await openTabs(alice, 1)))
  await expectOpen(tabs)
  for (const tab of tabs) expect(await statusOf(tab)).toMatchObject({ mode: 'leader-tab', tabs: 4 })
  expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
  // The last tab sees every handover: it counts each call it is told of.
  await tabs[3]!.evaluate(() => {
    const told: Array<string | number> = []
    Object.assign(window, { told })
    window.callHub.on('invitation', (call) => told.push(call.callLogId))
  })
  const bob = await api.login('bob')
  const placed: Array<string | number> = []
  let closes = 0
  while (tabs.length > 1) {
    await tabs.shift()!.close()
    closes += 1
    // The closed tab held the socket: one more authenticated, still one open.
    await expect.poll(async () => (await api.totals()).authenticated['Tutor:1']).toBe(1 + closes)
    const { call_log_id } = await api.call(bob, 'Tutor:1')
    placed.push(call_log_id)
    for (const tab of tabs) {
      await expect.poll(() => ringing(tab)).toContain(call_log_id)
      await expect(dialogFrom(tab, 'Bob Bekele').first()).toBeVisible()
    }
    await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
    await expect.poll(() => statusOf(tabs[0]!)).toMatchObject({ type: 'open', tabs: tabs.length })
  }
  // The tab that saw every handover was told of each call once.
  expect(await tabs[0]!.evaluate(() => (window as unknown as { told: unknown[] }).told)).toEqual(placed)
  expect(pageErrors).toEqual([])
})

test('a shared worker whose script fails to load is named in the status (by its error event, not a timeout), and the tabs elect one to hold the socket', async ({ signedIn, openTabs, api }) => {
  // A request timeout of a minute: whatever names the failure here, it is not a timeout.
  const alice = await signedIn('alice', { worker: '/missing/callhub-worker.js', requestTimeout: 60_000 })
  const tabs = await openTabs(alice, 3)
  for (const tab of tabs) {
    await expect.poll(() => statusOf(tab)).toMatchObject({
      mode: 'leader-tab', modeReason: 'the shared worker /missing/callhub-worker.js failed to load',
    })
  }
  await expectOpen(tabs)
  expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
  await api.call(await api.login('bob'), 'Tutor:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
})

test('with neither SharedWorker nor Web Locks each tab has a socket of its own, as before callhub, and calls ring', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  await alice.addInitScript(withoutSharedWorkerOrWebLocks)
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  for (const tab of tabs) expect(await statusOf(tab)).toMatchObject({ mode: 'per-tab', modeReason: expect.stringContaining('no Web Locks') })
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 2 })
  await api.call(await api.login('bob'), 'Tutor:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
})

test('without SharedWorker, a leader tab that stops answering (its main thread busy for 4 s) is taken over, a call rings in the others, and it lets its socket go once it answers again', async ({ signedIn, openTabs, api }) => {
  // CDP's Page.setWebLifecycleState does not freeze a page in this headless Chromium (its timers keep
  // running), so the owner is made unresponsive the other way a tab can be: a long task.
  const alice = await signedIn('alice')
  await alice.addInitScript(withoutSharedWorker)
  const [leader] = await openTabs(alice, 1)
  const others = await openTabs(alice, 2)
  await expectOpen([leader!, ...others])
  expect(await api.totals()).toMatchObject({ authenticated: { 'Tutor:1': 1 } })
  const busy = leader!.evaluate(() => {
    const end = Date.now() + 4_000
    while (Date.now() < end) {
      // A page that answers nothing.
    }
  })
  // The others stop hearing from it and one takes the socket over (the busy tab's own socket lives on,
  // unread, until it answers again).
  await expect.poll(async () => (await api.totals()).authenticated['Tutor:1']).toBe(2)
  const { call_log_id } = await api.call(await api.login('bob'), 'Tutor:1')
  for (const tab of others) await expect.poll(() => ringing(tab)).toContain(call_log_id)
  await busy
  // Free again, it learns its lock was taken, closes its socket and follows the new owner.
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
  await expect.poll(() => ringing(leader!)).toContain(call_log_id)
  await expect.poll(() => statusOf(leader!)).toMatchObject({ type: 'open', tabs: 3 })
})

/** The same fixtures, against a server that serves two deploys of the demo: `/v1/` and `/v2/`. */
const deploys = test.extend({
  server: async ({}, use) => {
    const server = await startServer({ port: 0, staticDir: await ensureGenerationsBuilt(), log: () => {} })
    await use(server)
    await server.close()
  },
})

deploys('two deploys with different worker files hold one socket; calls ring in both; the newer carries on when the older tabs close, losing and doubling nothing', async ({ signedIn, openTabs, api, browser }) => {
  const alice = await signedIn('alice')
  const older = await openTabs(alice, 2, '/v1/index.html')
  const newer = await openTabs(alice, 2, '/v2/tutor.html')
  await expectOpen([...older, ...newer])
  expect(await sharedWorkerUrls(browser)).toHaveLength(2)
  expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
  for (const tab of [...older, ...newer]) await expect.poll(() => statusOf(tab)).toMatchObject({ type: 'open', tabs: 4 })
  const bob = await api.login('bob')
  const first = await api.call(bob, 'Tutor:1')
  for (const tab of [...older, ...newer]) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  await dialogFrom(newer[0]!, 'Bob Bekele').getByRole('button', { name: 'Decline' }).click()
  await expect.poll(() => api.callStatus(bob, first.call_log_id)).toBe('declined')
  for (const tab of older) await expect(tab.getByRole('dialog')).toHaveCount(0)

  // A call rings while the older deploy's tabs close: the newer takes the socket over and keeps it ringing.
  const during = await api.call(bob, 'Tutor:1')
  for (const tab of newer) await expect.poll(() => ringing(tab)).toContain(during.call_log_id)
  for (const tab of newer) {
    await tab.evaluate(() => {
      const seen: Array<string | number> = []
      Object.assign(window, { seen })
      window.callHub.on('invitation', (call) => seen.push(call.callLogId))
      window.callHub.on('settled', (settled) => seen.push(`settled ${settled.callLogId}`))
    })
  }
  for (const tab of older) await tab.close()
  await expect.poll(async () => (await api.totals()).authenticated['Tutor:1'], { timeout: 20_000 }).toBe(2)
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
  for (const tab of newer) await expect.poll(() => statusOf(tab)).toMatchObject({ type: 'open', tabs: 2 })
  const after = await api.call(bob, 'Tutor:1')
  for (const tab of newer) await expect.poll(() => ringing(tab)).toEqual([during.call_log_id, after.call_log_id])
  // The handover neither ended the call that rang through it nor rang it again.
  for (const tab of newer) expect(await tab.evaluate(() => (window as unknown as { seen: unknown[] }).seen)).toEqual([after.call_log_id])
})

/** The script URLs of the shared workers running now (one per deploy). */
async function sharedWorkerUrls(browser: import('@playwright/test').Browser): Promise<string[]> {
  const cdp = await browser.newBrowserCDPSession()
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; url: string }> }
  await cdp.detach()
  return targetInfos.filter((target) => target.type === 'shared_worker').map((target) => target.url)
}

test.describe('on a plain-http origin that is not localhost', () => {
  // There, Web Locks and crypto.randomUUID do not exist (secure contexts only). `tutorly.test` resolves to
  // 127.0.0.1 in every test browser (chromium.ts).

  test('the shared worker still holds one socket, a call rings in every tab, nothing throws, and a closed tab is let go', async ({ browser, server, api }) => {
    const origin = server.url.replace('127.0.0.1', 'tutorly.test')
    const alice = await newSignedInContext(browser, origin, await api.login('alice'))
    const errors: string[] = []
    alice.on('page', (page) => page.on('pageerror', (error) => errors.push(error.message)))
    const tabs = await Promise.all([0, 1, 2].map(() => alice.newPage()))
    await Promise.all(tabs.map((tab) => tab.goto('/')))
    expect(await tabs[0]!.evaluate(() => [typeof navigator.locks, typeof crypto.randomUUID])).toEqual(['undefined', 'undefined'])
    await expectOpen(tabs)
    expect(await statusOf(tabs[0]!)).toMatchObject({ mode: 'shared-worker', tabs: 3 })
    expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
    await api.call(await api.login('bob'), 'Tutor:1')
    for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
    await tabs[2]!.close()
    await expect.poll(() => statusOf(tabs[0]!)).toMatchObject({ tabs: 2 })
    expect(errors).toEqual([])
    await alice.close()
  })
})
