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
  // A linger far longer than the poll proves the socket closed because of the logout, not the linger.
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

test('a call pending when the worker dies rejects with HubWorkerLostError instead of hanging', async ({ browser, signedIn, openTabs }) => {
  const alice = await signedIn('alice')
  const [tab] = await openTabs(alice, 1)
  await expectOpen([tab!])
  // The tab's accept never reaches the worker (its message is swallowed on the way), so the call is
  // surely pending when the worker dies.
  await tab!.evaluate(() => {
    const post = MessagePort.prototype.postMessage
    MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, ...rest: unknown[]) {
      const call = message as { type?: string; path?: string[] } | null
      if (call?.type === 'APPLY' && call.path?.[0] === 'accept') return
      return (post as (message: unknown, ...rest: unknown[]) => void).call(this, message, ...rest)
    } as typeof post
    Object.assign(window, { outcome: window.callHub.accept(12_345).then(() => 'answered', (error: Error) => error.name) })
  })
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

test('nothing is lost: 20 drops while calls are placed, and every call rings in every tab exactly once', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice', { modal: false, retryBase: 20, maxRetryDelay: 300 })
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  for (const tab of tabs) {
    await tab.evaluate(() => {
      const rang: Array<string | number> = []
      Object.assign(window, { rang })
      window.callHub.on('invitation', (call) => rang.push(call.callLogId))
    })
  }
  const bob = await api.login('bob')
  const placed: number[] = []
  for (let round = 0; round < 20; round += 1) {
    placed.push((await api.call(bob, 'Tutor:1')).call_log_id)
    await api.drop()
    placed.push((await api.call(bob, 'Tutor:1')).call_log_id)
  }
  const rangIn = (tab: Page) => tab.evaluate(() => (window as unknown as { rang: number[] }).rang)
  for (const tab of tabs) {
    await expect.poll(async () => (await rangIn(tab)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(placed.length)
    expect([...(await rangIn(tab))].sort((a, b) => a - b)).toEqual(placed)
  }
})

test('a tab that stops answering gets a snapshot instead of an endless backlog, and catches up after', async ({ browser, signedIn, openTabs, api }) => {
  const alice = await signedIn('alice', { modal: false })
  const [stuck, live] = await openTabs(alice, 2)
  await expectOpen([stuck!, live!])
  // A stand-in for a frozen tab: it takes the worker's events but its answers are held back, as a frozen
  // page's would be, until it "thaws" and they go out in order.
  await stuck!.evaluate(() => {
    const post = MessagePort.prototype.postMessage
    const held: Array<[MessagePort, unknown, unknown[]]> = []
    MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, ...rest: unknown[]) {
      const reply = message as { id?: string; type?: string } | null
      if (reply?.id !== undefined && (reply.type === 'RAW' || reply.type === 'HANDLER')) return void held.push([this, message, rest])
      return (post as (message: unknown, ...rest: unknown[]) => void).call(this, message, ...rest)
    } as typeof post
    Object.assign(window, {
      thaw: () => {
        MessagePort.prototype.postMessage = post
        for (const [port, message, rest] of held.splice(0)) (post as (message: unknown, ...rest: unknown[]) => void).call(port, message, ...rest)
      },
    })
  })
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

  await stuck!.evaluate(() => (window as unknown as { thaw: () => void }).thaw())
  await expect.poll(() => stuck!.evaluate(() => window.callHub.calls.length)).toBe(calls)
  await api.send('Tutor:1', JSON.stringify({ type: 'call_cancelled', call_log_id: 1 }))
  await expect.poll(() => stuck!.evaluate(() => window.callHub.calls.length)).toBe(calls - 1)
  await expect.poll(async () => (await workerCounters(browser)).queued).toBe(0)
})
