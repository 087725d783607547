import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import { dialogFrom, expect, expectOpen, test } from './fixtures'

const ringsHere = (page: Page) => page.evaluate(() => window.callHub.ringsHere)
const ringingTabs = async (pages: Page[]) => (await Promise.all(pages.map(ringsHere))).filter(Boolean).length

/** Playwright cannot hide a page: make the page believe it is hidden (or shown) and tell it, as the browser would. */
async function setVisibility(page: Page, state: 'visible' | 'hidden'): Promise<void> {
  await page.evaluate((visibility) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => visibility === 'hidden' })
    document.dispatchEvent(new Event('visibilitychange'))
  }, state)
}

test.describe('one ringer', () => {
  test('exactly one tab rings, and the ringing moves when that tab closes or hides', async ({ signedIn, openTabs, api }) => {
    const alice = await signedIn('alice')
    const tabs = await openTabs(alice, 4)
    await expectOpen(tabs)
    expect(await ringingTabs(tabs)).toBe(0)
    await api.call(await api.login('bob'), 'Tutor:1')
    for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
    await expect.poll(() => ringingTabs(tabs)).toBe(1)

    let ringer = (await Promise.all(tabs.map(async (tab) => ((await ringsHere(tab)) ? tab : null)))).find(Boolean)!
    const rest = tabs.filter((tab) => tab !== ringer)
    await ringer.close()
    await expect.poll(() => ringingTabs(rest)).toBe(1)

    ringer = (await Promise.all(rest.map(async (tab) => ((await ringsHere(tab)) ? tab : null)))).find(Boolean)!
    await setVisibility(ringer, 'hidden')
    const shown = rest.filter((tab) => tab !== ringer)
    await expect.poll(() => ringingTabs(shown)).toBe(1)
    expect(await ringsHere(ringer)).toBe(false)
  })

  test('when the browser refuses autoplay the ringing tab says how to turn the sound on', async ({ signedIn, openTabs, api }) => {
    const alice = await signedIn('alice')
    // Headless Chromium plays sound without a gesture whatever the flags (and Playwright's evaluate counts
    // as user activation): stand in for desktop Chrome's policy, under which audio waits for the user's
    // first click or key press on the page.
    await alice.addInitScript(() => {
      let allowed = false
      for (const type of ['pointerdown', 'keydown']) addEventListener(type, () => void (allowed = true), { capture: true, once: true })
      const Real = window.AudioContext
      class PolicyAudioContext extends Real {
        override get state(): AudioContextState {
          return allowed ? super.state : 'suspended'
        }
        override resume(): Promise<void> {
          if (!allowed) return new Promise<void>(() => {})
          return super.resume().then(() => void this.dispatchEvent(new Event('statechange')))
        }
      }
      window.AudioContext = PolicyAudioContext
    })
    const [tab] = await openTabs(alice, 1)
    await expectOpen([tab!])
    await api.call(await api.login('bob'), 'Tutor:1')
    await expect(dialogFrom(tab!, 'Bob Bekele')).toBeVisible()
    await expect.poll(() => tab!.evaluate(() => window.callHub.sound)).toBe('blocked')
    await expect(tab!.getByRole('note')).toContainText('click anywhere')
    await expect(tab!.locator('callhub-dialogs')).toHaveAttribute('data-ringing', 'true')
    await tab!.locator('h1').click()
    await expect.poll(() => tab!.evaluate(() => window.callHub.sound)).toBe('playing')
    await expect(tab!.getByRole('note')).toBeHidden()
  })
})

test('a call that rings out closes everywhere with a missed-call notice, and the server marks it missed', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  await tabs[0]!.evaluate(() => {
    window.callHub.on('missed', (call) => Object.assign(window, { missedFrom: call.from.name }))
  })
  const bob = await api.login('bob')
  // Rings out through the frame's expires_at, 2 s here; the 45 s default for a frame without one is held on
  // the fake clock by the unit test "rings for 45 s by default".
  const { call_log_id } = await api.call(bob, 'Tutor:1', { expires_in: 2 })
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  for (const tab of tabs) {
    await expect(tab.getByRole('dialog')).toHaveCount(0)
    await expect(tab.getByRole('status').filter({ hasText: 'Missed call from Bob Bekele' })).toBeVisible()
  }
  expect(await tabs[0]!.evaluate(() => (window as unknown as { missedFrom?: string }).missedFrom)).toBe('Bob Bekele')
  await expect.poll(() => api.callStatus(bob, call_log_id)).toBe('missed')
  const [late] = await openTabs(alice, 1)
  await expectOpen([late!])
  // It has caught up (it shows the missed call), so no dialog there means none will come.
  await expect(late!.getByRole('status').filter({ hasText: 'Missed call from Bob Bekele' })).toBeVisible()
  await expect(late!.getByRole('dialog')).toHaveCount(0)
  // The notice stays until dismissed.
  await tabs[1]!.getByRole('button', { name: 'Dismiss' }).click()
  await expect(tabs[1]!.getByRole('status')).toHaveCount(0)
})

test('with no tab in view, the ringer shows one system notification and hidden tabs flash their title', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  // The page's clock runs as usual, until the end, where the test runs it on to see that the flashing stopped.
  await alice.clock.install()
  // A stand-in for the system's notifications that records what the page asks of it.
  await alice.addInitScript(() => {
    const shown: Array<{ title: string; body: string; closed: boolean; click: () => void }> = []
    let asked = 0
    class RecordingNotification {
      static permission = 'granted'
      static requestPermission = async () => {
        asked += 1
        return 'granted'
      }
      onclick: (() => void) | null = null
      constructor(title: string, options: { body?: string } = {}) {
        const record = { title, body: options.body ?? '', closed: false, click: () => this.onclick?.() }
        shown.push(record)
        this.close = () => {
          record.closed = true
        }
      }
      close(): void {}
    }
    Object.assign(window, { Notification: RecordingNotification, notifications: { shown, asked: () => asked } })
  })
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  for (const tab of tabs) await setVisibility(tab, 'hidden')
  await api.call(await api.login('bob'), 'Tutor:1', { call_type: 'voice' })
  for (const tab of tabs) await expect.poll(() => tab.title()).toContain('Bob Bekele is calling')
  // It flashes: over three periods of the page's clock the title goes back and forth between the call and
  // the page's own title.
  const flashing = tabs[1]!
  await flashing.evaluate(() => {
    const titles: string[] = []
    Object.assign(window, { flashTitles: titles })
    new MutationObserver(() => titles.push(document.title)).observe(document.head, { subtree: true, childList: true, characterData: true })
  })
  await flashing.clock.runFor(3_000)
  const flashTitles = await flashing.evaluate(() => (window as unknown as { flashTitles: string[] }).flashTitles)
  expect(flashTitles.filter((title) => title.includes('Bob Bekele is calling')).length).toBeGreaterThanOrEqual(1)
  expect(flashTitles.filter((title) => !title.includes('is calling')).length).toBeGreaterThanOrEqual(1)

  type Recorded = { shown: Array<{ title: string; body: string; closed: boolean }>; asked: () => number }
  const shownIn = (tab: Page) => tab.evaluate(() => (window as unknown as { notifications: Recorded }).notifications.shown)
  await expect.poll(async () => (await Promise.all(tabs.map(shownIn))).flat().length).toBe(1)
  const notifier = (await Promise.all(tabs.map(async (tab) => ((await shownIn(tab)).length ? tab : null)))).find(Boolean)!
  expect(await shownIn(notifier)).toEqual([{ title: 'Incoming voice call', body: 'Bob Bekele', closed: false }])
  expect(await ringsHere(notifier)).toBe(true)
  for (const tab of tabs) expect(await tab.evaluate(() => (window as unknown as { notifications: Recorded }).notifications.asked())).toBe(0)

  // Clicking the notification brings forward a tab that shows the dialog.
  await notifier.evaluate(() => {
    Object.assign(window, { focused: 0 })
    window.focus = () => Object.assign(window, { focused: 1 })
    ;(window as unknown as { notifications: { shown: Array<{ click: () => void }> } }).notifications.shown[0]!.click()
  })
  expect(await notifier.evaluate(() => (window as unknown as { focused: number }).focused)).toBe(1)
  await expect(dialogFrom(notifier, 'Bob Bekele')).toBeVisible()

  // While the title flashes, the page changes its own (an unread count, say): that is the title to restore.
  const [tab] = tabs
  await tab!.evaluate(() => void (document.title = 'Tutorly · Home (2)'))
  // Shown again while the flash names the call: the page's title is back at once (read in the same task, so
  // no flash can bring it back by chance), and from then on the page's titles are the only ones.
  const restored = await tab!.evaluate(() => new Promise<string>((resolve) => {
    const show = () => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' })
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false })
      document.dispatchEvent(new Event('visibilitychange'))
      const titles: string[] = []
      new MutationObserver(() => titles.push(document.title)).observe(document.head, { subtree: true, childList: true, characterData: true })
      Object.assign(window, { titlesAfter: titles })
      resolve(document.title)
    }
    if (document.title.includes('is calling')) return show()
    const observer = new MutationObserver(() => {
      if (!document.title.includes('is calling')) return
      observer.disconnect()
      show()
    })
    observer.observe(document.head, { subtree: true, childList: true, characterData: true })
  }))
  expect(restored).toBe('Tutorly · Home (2)')
  // Three flash periods on the page's clock: a flash still running would write the caller's name.
  await tab!.evaluate(() => void (document.title = 'Tutorly · Home'))
  await tab!.clock.runFor(3_000)
  expect(await tab!.evaluate(() => (window as unknown as { titlesAfter: string[] }).titlesAfter)).toEqual(['Tutorly · Home'])
  expect(await tab!.title()).toBe('Tutorly · Home')
})

test('another device answering closes the dialog with a short notice', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  await api.call(await api.login('bob'), 'Tutor:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  const callLogId = await tabs[0]!.evaluate(() => window.callHub.calls[0]!.callLogId)
  await api.send('Tutor:1', JSON.stringify({ type: 'call_taken', call_log_id: callLogId }))
  for (const tab of tabs) {
    await expect(tab.getByRole('dialog')).toHaveCount(0)
    await expect(tab.getByRole('status').filter({ hasText: 'answered on another device' })).toBeVisible()
  }
})

test('a call never takes the keyboard: typing into a field while it arrives keeps every character and answers nothing', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const [tab] = await openTabs(alice, 1)
  await expectOpen([tab!])
  const field = tab!.getByRole('searchbox', { name: 'Search tutors' })
  await field.fill('')
  await field.focus()
  const bob = await api.login('bob')
  await tab!.keyboard.type('hello ')
  const { call_log_id } = await api.call(bob, 'Tutor:1')
  await expect(dialogFrom(tab!, 'Bob Bekele')).toBeVisible()
  // Space and Enter are what would answer a focused button.
  await tab!.keyboard.type('world ')
  await tab!.keyboard.press('Enter')
  await expect(field).toBeFocused()
  expect(await field.inputValue()).toBe('hello world ')
  expect(await api.callStatus(bob, call_log_id)).toBe('ringing')
  await expect(dialogFrom(tab!, 'Bob Bekele')).toBeVisible()
  // The call is announced for screen readers instead.
  await expect(tab!.getByRole('alert').filter({ hasText: 'Incoming video call from Bob Bekele' })).toBeAttached()
  // Declined on purpose now: an answer the keys above had sent would have reached the server first, and
  // this decline would be refused.
  await dialogFrom(tab!, 'Bob Bekele').getByRole('button', { name: 'Decline' }).click()
  await expect.poll(() => api.callStatus(bob, call_log_id)).toBe('declined')
})

test('the dialog works from the keyboard: Alt+Shift+C goes to the call, Tab to Decline, Enter answers, Escape declines', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const [tab] = await openTabs(alice, 1)
  await expectOpen([tab!])
  const bob = await api.login('bob')
  const first = await api.call(bob, 'Tutor:1')
  const dialog = dialogFrom(tab!, 'Bob Bekele')
  await expect(dialog).toBeVisible()
  await expect(dialog.getByRole('button', { name: 'Accept' })).not.toBeFocused()
  await tab!.keyboard.press('Alt+Shift+KeyC')
  await expect(dialog.getByRole('button', { name: 'Accept' })).toBeFocused()
  await tab!.keyboard.press('Tab')
  await expect(dialog.getByRole('button', { name: 'Decline' })).toBeFocused()
  await tab!.keyboard.press('Shift+Tab')
  await expect(dialog.getByRole('button', { name: 'Accept' })).toBeFocused()
  await tab!.keyboard.press('Enter')
  await expect.poll(() => api.callStatus(bob, first.call_log_id)).toBe('accepted')
  await expect(tab!.getByRole('dialog')).toHaveCount(0)

  const second = await api.call(bob, 'Tutor:1')
  await expect(dialog).toBeVisible()
  await tab!.keyboard.press('Alt+Shift+KeyC')
  await expect(dialog.getByRole('button', { name: 'Accept' })).toBeFocused()
  await tab!.keyboard.press('Escape')
  await expect.poll(() => api.callStatus(bob, second.call_log_id)).toBe('declined')
})

test('the dialog has an accessible name with the caller and passes axe', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice')
  const [tab] = await openTabs(alice, 1)
  await expectOpen([tab!])
  await api.call(await api.login('carol'), 'Tutor:1', { call_type: 'voice' })
  const dialog = dialogFrom(tab!, 'Carol Chala')
  await expect(dialog).toBeVisible()
  await expect(dialog).toHaveAccessibleName('Incoming voice call from Carol Chala')
  // Contrast is judged on the dialog as it settles, not mid-way through its fade-in.
  await dialog.evaluate((element) => Promise.all(element.getAnimations().map((animation) => animation.finished)))
  const results = await new AxeBuilder({ page: tab! }).include('callhub-dialogs').analyze()
  expect(results.violations.map((violation) => `${violation.id}: ${violation.help}`)).toEqual([])
})

test('its strings can be replaced, and modal: false renders nothing but still delivers typed events', async ({ signedIn, openTabs, api }) => {
  const german = await signedIn('alice', { strings: { accept: 'Annehmen', decline: 'Ablehnen' } })
  const [localised] = await openTabs(german, 1)
  await expectOpen([localised!])
  await api.call(await api.login('bob'), 'Tutor:1')
  await expect(dialogFrom(localised!, 'Bob Bekele').getByRole('button', { name: 'Annehmen' })).toBeVisible()
  await expect(dialogFrom(localised!, 'Bob Bekele').getByRole('button', { name: 'Ablehnen' })).toBeVisible()

  const headless = await signedIn('bob', { modal: false })
  const [own] = await openTabs(headless, 1)
  await expectOpen([own!])
  await own!.evaluate(() => {
    window.callHub.on('invitation', (call) => Object.assign(window, { rendered: `${call.from.name} (${call.callType})` }))
  })
  await api.call(await api.login('carol'), 'Student:1', { call_type: 'voice' })
  await expect.poll(() => own!.evaluate(() => (window as unknown as { rendered?: string }).rendered)).toBe('Carol Chala (voice)')
  await expect(own!.locator('callhub-dialogs')).toHaveCount(0)
})
