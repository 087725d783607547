/** What the scenarios of every spec in tests/engines expect of tabs, polled (never a fixed sleep). */
import type { Tab } from './harness'
import { expect } from './fixtures'

export const statusOf = (tab: Tab) => tab.evaluate(() => window.callHub.status)
export const dialogNames = async (tab: Tab) => (await tab.dialogs()).map((dialog) => dialog.name)
/** The calls ringing in a tab, by id, as its hub reports them. */
export const ringing = (tab: Tab) => tab.evaluate(() => window.callHub.calls.map((call) => call.callLogId))

/** Each tab's status is `open`, counting `tabCount` tabs on its socket. */
export async function expectOpen(tabs: Tab[], tabCount = tabs.length): Promise<void> {
  for (const tab of tabs) {
    await expect.poll(async () => {
      const status = await statusOf(tab)
      return status.type === 'open' ? status.tabs : status.type
    }).toBe(tabCount)
  }
}

/** Each tab shows exactly one dialog, from `caller`, with Accept and Decline. */
export async function expectRinging(tabs: Tab[], caller: string): Promise<void> {
  for (const tab of tabs) await expect.poll(() => tab.dialogs()).toEqual([{ name: expect.stringContaining(caller), buttons: ['Accept', 'Decline'] }])
}

export async function expectNoDialog(tabs: Tab[]): Promise<void> {
  for (const tab of tabs) await expect.poll(() => dialogNames(tab)).toEqual([])
}
