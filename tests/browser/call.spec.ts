/**
 * After Accept: a real WebRTC call between two browser contexts (Chromium's fake camera and microphone),
 * its signalling over each side's one socket, routed by the hub to the one tab that holds the call.
 */
import type { Page } from '@playwright/test'
import { dialogFrom, expect, expectOpen, test } from './fixtures'

const inboundBytes = (page: Page) => page.evaluate(() => window.demoCall?.inboundBytes() ?? Promise.resolve(-1))
const connectionState = (page: Page) => page.evaluate(() => window.demoCall?.pc.connectionState ?? 'none')
const panelState = (page: Page) => page.evaluate(() => document.querySelector<HTMLElement>('#call-panel')?.dataset.state ?? null)

/** Records, in a tab, every frame it hears about a call: as messages, and whether it held a session. */
async function recordSignalling(page: Page): Promise<void> {
  await page.evaluate(() => {
    const heard: string[] = []
    Object.assign(window, { heard, heldSession: false })
    window.callHub.on('message', (text) => heard.push(text))
    window.callHub.on('session', () => Object.assign(window, { heldSession: true }))
  })
}
const heardOf = (page: Page) => page.evaluate(() => ({
  heard: (window as unknown as { heard: string[] }).heard,
  heldSession: (window as unknown as { heldSession: boolean }).heldSession,
}))

async function dial(page: Page, target: string, callType: 'voice' | 'video'): Promise<void> {
  await page.locator('select[name="target"]').selectOption(target)
  await page.locator('select[name="call_type"]').selectOption(callType)
  await page.getByRole('button', { name: 'Call', exact: true }).click()
}

test('a real call: bob dials, alice answers in one of three tabs, media flows both ways, her other tabs hear no signalling, a second caller waits, and closing her tab ends it for bob', async ({ signedIn, openTabs, api }) => {
  const aliceTabs = await openTabs(await signedIn('alice'), 3)
  const [bobTab] = await openTabs(await signedIn('bob'), 1)
  await expectOpen([...aliceTabs, bobTab!])
  for (const tab of aliceTabs) await recordSignalling(tab)
  const bob = await api.login('bob')

  await dial(bobTab!, 'Tutor:1', 'video')
  for (const tab of aliceTabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  const callLogId = await aliceTabs[0]!.evaluate(() => window.callHub.calls[0]!.callLogId as number)
  const [, answering, other] = aliceTabs
  await dialogFrom(answering!, 'Bob Bekele').getByRole('button', { name: 'Accept' }).click()

  // Both peer connections connect, and RTP bytes keep arriving on both sides.
  await expect.poll(() => connectionState(bobTab!), { timeout: 30_000 }).toBe('connected')
  await expect.poll(() => connectionState(answering!), { timeout: 30_000 }).toBe('connected')
  for (const page of [bobTab!, answering!]) {
    const before = await inboundBytes(page)
    await expect.poll(() => inboundBytes(page)).toBeGreaterThan(before)
  }
  await expect.poll(() => api.callRecord(bob, callLogId)).toMatchObject({ status: 'accepted', media: { caller: 'connected', callee: 'connected' } })

  // The answer and candidates went to the answering tab only.
  for (const tab of [aliceTabs[0]!, other!]) {
    const { heard, heldSession } = await heardOf(tab)
    expect(heldSession).toBe(false)
    expect(heard.filter((text) => text.includes('"call_log_id"'))).toEqual([])
  }
  expect((await heardOf(answering!)).heldSession).toBe(true)
  for (const tab of aliceTabs) {
    await expect.poll(() => tab.evaluate(() => window.callHub.status.inCall)).toEqual([{ callLogId, here: tab === answering }])
  }

  // Busy: a second call waits (the default), shown in every tab and ringing in none.
  const carolCall = await api.call(await api.login('carol'), 'Tutor:1', { call_type: 'voice' })
  for (const tab of aliceTabs) {
    await expect(dialogFrom(tab, 'Carol Chala')).toContainText('Call waiting')
    expect(await tab.evaluate(() => window.callHub.ringsHere)).toBe(false)
  }
  expect(await tab0Calls(aliceTabs[0]!)).toContainEqual({ callLogId: carolCall.call_log_id, waiting: true })

  // The answering tab closes: its Web Lock tells the hub, which tells the backend; bob's side ends.
  const closedAt = Date.now()
  await answering!.close()
  await expect.poll(() => panelState(bobTab!)).toBe('ended')
  console.info(`bob's side ended ${Date.now() - closedAt} ms after alice's answering tab closed`)
  await expect(bobTab!.locator('#call-state')).toContainText('tab closed')
  await expect.poll(() => api.callRecord(bob, callLogId)).toMatchObject({ status: 'ended', end_reason: 'tab_closed', ended_by: 'callee' })
})

// Issue 10's "done means": a call completes with several tabs on each side, and whichever side ends it (its
// button, or closing its tab) the other side ends and the server records media connected for both, then who
// ended it and why.
const ends = [
  { who: 'caller', how: 'hangs up', reason: 'hangup', shown: 'ended (hangup)' },
  { who: 'callee', how: 'hangs up', reason: 'hangup', shown: 'ended (hangup)' },
  { who: 'caller', how: 'closes its tab', reason: 'tab_closed', shown: 'ended (tab closed)' },
] as const
for (const end of ends) {
  test(`two tabs on each side, the ${end.who} ${end.how}: the other side ends, and the server records media connected for both, then who and why`, async ({ signedIn, openTabs, api }) => {
    const aliceTabs = await openTabs(await signedIn('alice'), 2)
    const bobTabs = await openTabs(await signedIn('bob'), 2)
    await expectOpen([...aliceTabs, ...bobTabs])
    const bob = await api.login('bob')
    const bobTab = bobTabs[1]!
    const aliceTab = aliceTabs[1]!
    await dial(bobTab, 'Tutor:1', 'voice')
    await dialogFrom(aliceTab, 'Bob Bekele').getByRole('button', { name: 'Accept' }).click()
    for (const page of [bobTab, aliceTab]) await expect.poll(() => connectionState(page), { timeout: 30_000 }).toBe('connected')
    const callLogId = await bobTab.evaluate(() => window.demoCall!.session.callLogId as number)
    await expect.poll(() => api.callRecord(bob, callLogId)).toMatchObject({ status: 'accepted', media: { caller: 'connected', callee: 'connected' } })

    const [ending, other] = end.who === 'caller' ? [bobTab, aliceTab] : [aliceTab, bobTab]
    if (end.how === 'hangs up') await ending.getByRole('button', { name: 'Hang up' }).click()
    else await ending.close()
    await expect.poll(() => panelState(other)).toBe('ended')
    await expect(other.locator('#call-state')).toContainText(end.shown)
    await expect.poll(() => api.callRecord(bob, callLogId)).toMatchObject({
      status: 'ended', end_reason: end.reason, ended_by: end.who, media: { caller: 'connected', callee: 'connected' },
    })
  })
}

test("with whenBusy 'decline', a call during a call is declined as busy and the caller hears so", async ({ signedIn, openTabs, api }) => {
  const [aliceTab] = await openTabs(await signedIn('alice', { whenBusy: 'decline' }), 1)
  const [bobTab] = await openTabs(await signedIn('bob'), 1)
  await expectOpen([aliceTab!, bobTab!])
  await dial(bobTab!, 'Tutor:1', 'voice')
  await dialogFrom(aliceTab!, 'Bob Bekele').getByRole('button', { name: 'Accept' }).click()
  await expect.poll(() => connectionState(aliceTab!), { timeout: 30_000 }).toBe('connected')
  // Carol calls from her own page, so what she hears is what her page shows.
  const [carolTab] = await openTabs(await signedIn('carol'), 1)
  await expectOpen([carolTab!])
  const placed = carolTab!.waitForResponse((response) => response.url().endsWith('/api/calls') && response.request().method() === 'POST')
  await dial(carolTab!, 'Tutor:1', 'voice')
  const second = ((await (await placed).json()) as { call_log_id: number }).call_log_id
  await expect(carolTab!.locator('#call-state')).toContainText('busy')
  const carol = await api.login('carol')
  await expect.poll(() => api.callRecord(carol, second)).toMatchObject({ status: 'declined', end_reason: 'busy' })
  await expect(aliceTab!.getByRole('dialog')).toHaveCount(0)
})

const tab0Calls = (page: Page) => page.evaluate(() => window.callHub.calls.map((call) => ({ callLogId: call.callLogId, waiting: call.waiting === true })))
