import type { Browser, CDPSession, Page } from '@playwright/test'
import { dialogFrom, expect, expectOpen, statusOf, test } from './fixtures'

interface TargetInfo {
  targetId: string
  type: string
}

async function sharedWorkers(cdp: CDPSession): Promise<TargetInfo[]> {
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: TargetInfo[] }
  return targetInfos.filter((target) => target.type === 'shared_worker')
}

/** The worker's own counters, read by evaluating in the shared_worker target. */
async function workerCounters(browser: Browser): Promise<Record<string, number>> {
  const cdp = await browserSession(browser)
  const [worker] = await sharedWorkers(cdp)
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: worker!.targetId, flatten: false })) as { sessionId: string }
  const answer = new Promise<string>((resolve) => {
    cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
      const message = JSON.parse(event.message) as { id?: number; result?: { result?: { value?: string } } }
      if (message.id === 1) resolve(message.result?.result?.value ?? '{}')
    })
  })
  const expression = 'JSON.stringify(self.callhubCounters())'
  await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression, returnByValue: true } }) })
  const counters = JSON.parse(await answer) as Record<string, number>
  await cdp.send('Target.detachFromTarget', { sessionId })
  await cdp.detach()
  return counters
}

async function browserSession(browser: Browser): Promise<CDPSession> {
  return browser.newBrowserCDPSession()
}

test('a silent, half-open socket is noticed by the ping and the hub reconnects and delivers', async ({ signedIn, openTabs, api }) => {
  // Shrunk so the silence is noticed in under a second instead of 35 s; the defaults (a ping after 25 s, 10 s
  // for any answer) are held on the fake clock by the unit test "pings after 25 s of silence …".
  const alice = await signedIn('alice', { pingAfter: 400, pongTimeout: 400, retryBase: 25, maxRetryDelay: 400 })
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  expect((await api.post('/api/dev/stall', { ms: 2_500 })).status).toBe(200)
  // Placed while the server is silent: no socket gets it now; the next socket that authenticates does.
  await api.call(await api.login('bob'), 'Tutor:1')
  await expect.poll(async () => (await statusOf(tabs[0]!)).lastClose?.reason ?? '').toContain('ping')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
})

test('offline stops the retries and shows in the status; online connects at once', async ({ signedIn, openTabs, api }) => {
  // A short backoff: were offline not to stop the retries, they would pile up on the server within the poll.
  const alice = await signedIn('alice', { retryBase: 25 })
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  await alice.setOffline(true)
  for (const tab of tabs) await expect.poll(async () => (await statusOf(tab)).type).toBe('offline')
  await expect.poll(() => api.stats()).toEqual({})
  const attempts = await api.totals()
  await alice.setOffline(false)
  await expectOpen(tabs)
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
  const after = await api.totals()
  // Offline made no attempt; online made exactly one.
  expect(after.attempts['Tutor:1']).toBe(attempts.attempts['Tutor:1']! + 1)
})

test('rejected credentials stop the retries until a new token arrives, which the next connection uses', async ({ signedIn, openTabs, api }) => {
  // A 10 ms backoff, so a retry loop that rejected credentials failed to stop would show within the test.
  const alice = await signedIn('alice', { retryBase: 10, maxRetryDelay: 50 })
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  const oldToken = await tabs[0]!.evaluate(() => localStorage.getItem('token')!)
  // The server closes the revoked token's socket with 4401 at once (no drop needed).
  expect((await api.post('/api/logout', {}, oldToken)).status).toBe(200)
  for (const tab of tabs) await expect.poll(async () => (await statusOf(tab)).type).toBe('unauthorized')
  expect((await statusOf(tabs[1]!)).type === 'unauthorized' && (await statusOf(tabs[1]!)).lastClose?.code).toBe(4401)
  const before = await api.totals()
  // With a 10 ms backoff a retry loop would have made many attempts by now; there is only the first connection.
  expect(before.attempts['Tutor:1']).toBe(1)

  const newToken = await api.login('alice')
  await tabs[0]!.evaluate((token) => {
    localStorage.setItem('token', token)
    dispatchEvent(new Event('callhub:identity'))
  }, newToken)
  await expectOpen(tabs)
  const after = await api.totals()
  expect(after.attempts['Tutor:1']).toBe(2)
  expect(after.authenticated['Tutor:1']).toBe(2)
})

test('logout closes the socket at once, closes the dialogs everywhere, and nothing reconnects', async ({ signedIn, openTabs, api }) => {
  // A linger far longer than the poll proves the socket closed because of the logout, not the linger; a 10 ms
  // backoff would show any reconnect at once in the attempts.
  const alice = await signedIn('alice', { linger: 120_000, retryBase: 10 })
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  await api.call(await api.login('bob'), 'Tutor:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  await tabs[0]!.getByRole('button', { name: 'Sign out' }).click()
  for (const tab of tabs) {
    await expect(tab.getByRole('dialog')).toHaveCount(0)
    await expect.poll(async () => (await statusOf(tab)).type).toBe('signed-out')
  }
  await expect.poll(() => api.stats(), { timeout: 10_000 }).toEqual({})
  const { attempts } = await api.totals()
  expect(attempts['Tutor:1']).toBe(1)
})

test('a role switch in one tab moves every tab to the new profile and closes the old socket', async ({ signedIn, openTabs, api }) => {
  // A linger far longer than the poll proves the old socket closed because of the switch, not the linger.
  const alice = await signedIn('alice', { linger: 120_000 })
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  await tabs[0]!.locator('#role').selectOption('parent')
  for (const tab of tabs) await expect.poll(async () => (await statusOf(tab)).profileKey).toBe('Parent:1')
  await expectOpen(tabs)
  await expect.poll(() => api.stats(), { timeout: 10_000 }).toEqual({ 'Parent:1': 1 })
  await api.call(await api.login('carol'), 'Parent:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Carol Chala')).toBeVisible()
})

test('when the worker is closed, every tab notices, starts a new one, and delivery resumes over one socket', async ({ browser, signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  const cdp = await browserSession(browser)
  const [worker] = await sharedWorkers(cdp)
  await cdp.send('Target.closeTarget', { targetId: worker!.targetId })
  await cdp.detach()
  for (const tab of tabs) {
    await expect.poll(async () => (await statusOf(tab)).type === 'open' && (await statusOf(tab)).tabs).toBe(3)
  }
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
  const { authenticated } = await api.totals()
  expect(authenticated['Tutor:1']).toBe(2)
  await api.call(await api.login('bob'), 'Tutor:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
})

test('a call pending when the worker dies rejects with HubWorkerLostError instead of hanging', async ({ browser, signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const [tab] = await openTabs(alice, 1)
  await expectOpen([tab!])
  const { call_log_id } = await api.call(await api.login('bob'), 'Tutor:1')
  await expect(dialogFrom(tab!, 'Bob Bekele')).toBeVisible()
  // A stalled server reads nothing and acknowledges nothing: the accept is written, and surely still waits
  // for its ack when the worker dies (without the stall it could be answered first).
  expect((await api.post('/api/dev/stall', { ms: 5_000 })).status).toBe(200)
  await tab!.evaluate((id) => {
    Object.assign(window, { outcome: window.callHub.accept(id).then(() => 'answered', (error: Error) => error.name) })
  }, call_log_id)
  const cdp = await browserSession(browser)
  const [worker] = await sharedWorkers(cdp)
  await cdp.send('Target.closeTarget', { targetId: worker!.targetId })
  await cdp.detach()
  expect(await tab!.evaluate(() => (window as unknown as { outcome: Promise<string> }).outcome)).toBe('HubWorkerLostError')
  await expectOpen([tab!])
})

test('reloading the only tab keeps the socket: no new connection on the server', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const [tab] = await openTabs(alice, 1)
  await expectOpen([tab!])
  expect((await api.totals()).authenticated).toEqual({ 'Tutor:1': 1 })
  await tab!.reload()
  await tab!.waitForFunction(() => window.callHub !== undefined)
  await expectOpen([tab!])
  await tab!.goto('/reels.html')
  await expectOpen([tab!])
  expect((await api.totals()).authenticated).toEqual({ 'Tutor:1': 1 })
  expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
})

test('nothing is lost with the default settings: 20 drops of a live, authenticated socket, a call placed before and after each, and every call rings in every tab within 10 s, once', async ({ signedIn, openTabs, api }) => {
  // Default timings (no shrunken retry): each drop waits out the real first retry window (up to 4 s). Forty
  // calls would stack forty dialogs, so the tabs record invitations instead (rendering is not under test).
  test.setTimeout(300_000)
  const alice = await signedIn('alice', { modal: false })
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  for (const tab of tabs) {
    await tab.evaluate(() => {
      const rang: Array<string | number> = []
      Object.assign(window, { rang })
      window.callHub.on('invitation', (call) => rang.push(call.callLogId))
    })
  }
  const rangIn = (tab: Page) => tab.evaluate(() => (window as unknown as { rang: number[] }).rang)
  /** Waits, at most 10 s from when it was placed, for a call to ring in every tab. */
  const ringsEverywhere = async (callLogId: number, placedAt: number) => {
    for (const tab of tabs) {
      const left = Math.max(1, placedAt + 10_000 - Date.now())
      await expect.poll(() => rangIn(tab), { timeout: left, message: `call ${callLogId} rings in every tab within 10 s` }).toContain(callLogId)
    }
  }
  const authenticated = async () => (await api.totals()).authenticated['Tutor:1'] ?? 0
  const bob = await api.login('bob')
  const placed: number[] = []
  for (let drop = 1; drop <= 20; drop += 1) {
    const before = await authenticated()
    // The socket this drop hits is live and authenticated: one socket on the server, and it is the latest.
    expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
    const beforeDrop = { placedAt: Date.now(), call: (await api.call(bob, 'Tutor:1')).call_log_id }
    await api.drop()
    // Placed while the hub waits to reconnect: the server re-sends it to the next socket that authenticates.
    const afterDrop = { placedAt: Date.now(), call: (await api.call(bob, 'Tutor:1')).call_log_id }
    placed.push(beforeDrop.call, afterDrop.call)
    await expect.poll(authenticated, { timeout: 10_000, message: `the hub reconnects after drop ${drop}` }).toBe(before + 1)
    await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1 })
    await ringsEverywhere(beforeDrop.call, beforeDrop.placedAt)
    await ringsEverywhere(afterDrop.call, afterDrop.placedAt)
  }
  for (const tab of tabs) expect([...(await rangIn(tab))].sort((a, b) => a - b)).toEqual(placed)
})

test('a tab that stops answering gets a snapshot instead of an endless backlog, and catches up after', async ({ browser, signedIn, openTabs, api }) => {
  const alice = await signedIn('alice', { modal: false })
  const [stuck, live] = await openTabs(alice, 2)
  await expectOpen([stuck!, live!])
  // A stand-in for a frozen tab: its main thread stops in the debugger at the next script it runs (the
  // worker's next delivery), so it answers nothing, until it resumes. (Page.setWebLifecycleState does not
  // freeze a page in this headless Chromium: its tasks keep running.)
  const debug = await stuck!.context().newCDPSession(stuck!)
  await debug.send('Debugger.enable')
  await debug.send('Debugger.pause')
  // More events than the worker keeps queued for one tab (1,000).
  const calls = 1_200
  for (let id = 1; id <= calls; id += 1) {
    await api.send('Tutor:1', JSON.stringify({ type: 'call_invitation', call_log_id: id, from_name: `Caller ${id}` }))
  }
  await expect.poll(() => live!.evaluate(() => window.callHub.calls.length)).toBe(calls)
  const counters = await workerCounters(browser)
  expect(counters.ringing).toBe(calls)
  expect(counters.queued).toBeGreaterThan(0)
  expect(counters.queued).toBeLessThanOrEqual(1_000)

  await debug.send('Debugger.resume')
  await debug.send('Debugger.disable')
  await debug.detach()
  await expect.poll(() => stuck!.evaluate(() => window.callHub.calls.length)).toBe(calls)
  await api.send('Tutor:1', JSON.stringify({ type: 'call_cancelled', call_log_id: 1 }))
  await expect.poll(() => stuck!.evaluate(() => window.callHub.calls.length)).toBe(calls - 1)
  await expect.poll(async () => (await workerCounters(browser)).queued).toBe(0)
})
