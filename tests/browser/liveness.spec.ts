/**
 * A tab can die without saying goodbye (a crash, a killed renderer, a discarded tab): its `pagehide` never
 * runs. Chromium fires no MessagePort close event either (whatwg/html#1766), so the only thing that tells the
 * worker is the tab's Web Lock, released by the browser when the page is gone.
 */
import type { Page } from '@playwright/test'
import { expect, expectOpen, statusOf, test } from './fixtures'
import { droppedPagehide, withoutPagehide } from '../init-scripts'

const ringsHere = (page: Page) => page.evaluate(() => window.callHub.ringsHere)
const ringing = (page: Page) => page.evaluate(() => window.callHub.calls.map((call) => call.callLogId))

test('a tab closed without pagehide is still noticed by its Web Lock: the others count one tab fewer, the ringing moves, and the next call rings in the rest', async ({ signedIn, openTabs, api, pageErrors }) => {
  const alice = await signedIn('alice')
  // callhub's pagehide listener is dropped on its way in (an own property of this window, no prototype
  // touched), so closing the page cannot detach it: only the Web Lock is left to tell.
  await alice.addInitScript(withoutPagehide)
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  for (const tab of tabs) {
    expect(await tab.evaluate(droppedPagehide)).toBeGreaterThan(0)
    await expect.poll(async () => (await statusOf(tab)).tabs).toBe(3)
  }
  const bob = await api.login('bob')
  const first = await api.call(bob, 'Tutor:1')
  for (const tab of tabs) await expect.poll(() => ringing(tab)).toContain(first.call_log_id)
  // The tab that plays the ringtone is the one to die: if nothing noticed, the call would ring nowhere.
  await expect.poll(async () => (await Promise.all(tabs.map(ringsHere))).filter(Boolean).length).toBe(1)
  const flags = await Promise.all(tabs.map(ringsHere))
  const dead = tabs[flags.indexOf(true)]!
  const rest = tabs.filter((tab) => tab !== dead)
  await dead.close()

  for (const tab of rest) await expect.poll(async () => (await statusOf(tab)).tabs).toBe(2)
  await expect.poll(async () => (await Promise.all(rest.map(ringsHere))).filter(Boolean).length).toBe(1)
  const second = await api.call(bob, 'Tutor:1')
  for (const tab of rest) await expect.poll(() => ringing(tab)).toEqual([first.call_log_id, second.call_log_id])
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
  expect(pageErrors).toEqual([])
})
