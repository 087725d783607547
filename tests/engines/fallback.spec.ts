/**
 * The fallback hosts in every engine: a browser without SharedWorker (Chrome on Android, some WebViews) is
 * made by taking it away in an init script, before callhub looks for it; without Web Locks too (a plain-http
 * origin) the same way. Each engine's driver runs init scripts its own way (harness.ts, `addInitScript`).
 */
import { expectOpen, expectRinging, ringing, statusOf } from './expectations'
import { expect, test } from './fixtures'
import type { Tab } from './harness'
import { withoutSharedWorker, withoutSharedWorkerOrWebLocks } from '../init-scripts'

/** Each tab rings with exactly these calls, by id, in the one dialog from `caller` (calls at once share it). */
async function expectRingingCalls(tabs: Tab[], callLogIds: number[], caller: string): Promise<void> {
  for (const tab of tabs) await expect.poll(() => ringing(tab)).toEqual(callLogIds)
  await expectRinging(tabs, caller)
}

test('without SharedWorker, three tabs elect one to hold the one socket and a call rings in all; when that tab (the oldest) closes, another takes the socket and a call placed then rings in the rest', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  await alice.addInitScript(withoutSharedWorker)
  // One after another (openTabs does so): the oldest tab is the first to ask for the socket's lock.
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  for (const tab of tabs) expect(await statusOf(tab)).toMatchObject({ mode: 'leader-tab', modeReason: 'this browser has no SharedWorker' })
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
  // The only socket so far: the tabs did not each try before one was elected.
  expect((await api.totals()).authenticated).toEqual({ 'Tutor:1': 1 })
  const bob = await api.login('bob')
  const before = await api.call(bob, 'Tutor:1')
  await expectRingingCalls(tabs, [before.call_log_id], 'Bob Bekele')

  const [oldest, ...rest] = tabs
  // The tabs that stay count each call they are told of, through the handover.
  for (const tab of rest) {
    await tab.evaluate(() => {
      const told: Array<string | number> = []
      Object.assign(window, { told })
      window.callHub.on('invitation', (call) => told.push(call.callLogId))
    })
  }
  await oldest!.close()
  // A second socket authenticated, and still one is open: the closed tab was the one holding it, and its
  // socket moved. (Closing any other tab leaves the total at 1.)
  await expect.poll(async () => (await api.totals()).authenticated['Tutor:1']).toBe(2)
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
  await expectOpen(rest)
  const after = await api.call(bob, 'Tutor:1')
  // The call that rang through the handover rings on, once; the new one rings too.
  await expectRingingCalls(rest, [before.call_log_id, after.call_log_id], 'Bob Bekele')
  // Told of the new call once, and not again of the one that rang through the handover.
  for (const tab of rest) expect(await tab.evaluate(() => (window as unknown as { told: unknown[] }).told)).toEqual([after.call_log_id])
  expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
})

test('with neither SharedWorker nor Web Locks each tab has a socket of its own (per-tab, as before callhub), and a call rings in each', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  await alice.addInitScript(withoutSharedWorkerOrWebLocks)
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs, 1)
  for (const tab of tabs) expect(await statusOf(tab)).toMatchObject({ mode: 'per-tab', modeReason: expect.stringContaining('no Web Locks') })
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 2 })
  const { call_log_id } = await api.call(await api.login('bob'), 'Tutor:1')
  await expectRingingCalls(tabs, [call_log_id], 'Bob Bekele')
})
