/**
 * No false ends: when the shared worker dies, the tabs hand the calls they show to the new one, which keeps
 * them ringing until the backend says otherwise. Only a real end settles a call, with its real reason.
 */
import type { Browser } from '@playwright/test'
import { dialogFrom, expect, expectOpen, test } from './fixtures'

async function closeSharedWorker(browser: Browser): Promise<void> {
  const cdp = await browser.newBrowserCDPSession()
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; targetId: string }> }
  const worker = targetInfos.find((target) => target.type === 'shared_worker')
  if (worker === undefined) throw new Error('no shared worker runs')
  await cdp.send('Target.closeTarget', { targetId: worker.targetId })
  await cdp.detach()
}

test('across a worker restart, a ringing call keeps ringing (no false end, no second ring), and one that expires in the gap is missed', async ({ browser, signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  for (const tab of tabs) {
    await tab.evaluate(() => {
      const heard: string[] = []
      Object.assign(window, { heard })
      window.callHub.on('invitation', (call) => heard.push(`invitation ${call.callLogId}`))
      window.callHub.on('settled', (settled) => heard.push(`settled ${settled.callLogId} ${settled.reason}`))
      window.callHub.on('missed', (call) => heard.push(`missed ${call.callLogId}`))
    })
  }
  const bob = await api.login('bob')
  const long = await api.call(bob, 'Tutor:1', { expires_in: 60 })
  const short = await api.call(bob, 'Tutor:1', { expires_in: 3 })
  for (const tab of tabs) await expect.poll(() => tab.evaluate(() => window.callHub.calls.length)).toBe(2)
  // The server answers nothing for 5 s: the new worker's socket cannot be accepted before the short call expires.
  expect((await api.post('/api/dev/stall', { ms: 5_000 })).status).toBe(200)
  await closeSharedWorker(browser)
  for (const tab of tabs) {
    await expect.poll(() => tab.evaluate(() => (window as unknown as { heard: string[] }).heard), { timeout: 20_000 })
      .toEqual([`invitation ${long.call_log_id}`, `invitation ${short.call_log_id}`, `settled ${short.call_log_id} expired`, `missed ${short.call_log_id}`])
  }
  await expectOpen(tabs)
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toHaveCount(1)
  // The backend re-sent the long call on the new socket: still one call, still ringing, heard of once.
  expect(await tabs[0]!.evaluate(() => (window as unknown as { heard: string[] }).heard)).toHaveLength(4)
  expect(await api.callStatus(bob, long.call_log_id)).toBe('ringing')
})
