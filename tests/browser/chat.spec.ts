/**
 * One socket for everything: the demo's chat widget, written for a plain WebSocket on
 * `window.chatWebSocket`, runs unchanged on `hub.socket()`; chat and calls share each profile's one socket.
 */
import type { Page } from '@playwright/test'
import { dialogFrom, expect, expectOpen, test } from './fixtures'

async function sendChat(page: Page, to: string, text: string): Promise<void> {
  const chat = page.locator('#chat')
  await chat.getByRole('combobox', { name: 'To' }).selectOption({ label: to })
  await chat.getByRole('textbox', { name: 'Message' }).fill(text)
  await chat.getByRole('button', { name: 'Send' }).click()
}
const chatLog = (page: Page) => page.getByRole('log', { name: 'Chat messages' })

test('ten tabs each with chat open hold one socket per profile, and chat and calls work in all of them', async ({ signedIn, openTabs, api }) => {
  const aliceTabs = await openTabs(await signedIn('alice'), 5)
  const bobTabs = await openTabs(await signedIn('bob'), 5, '/tutor.html')
  const all = [...aliceTabs, ...bobTabs]
  await expectOpen(all)
  for (const tab of all) await expect(tab.locator('#chat .chat-state')).toHaveText('connected')
  expect(await api.stats()).toEqual({ 'Tutor:1': 1, 'Student:1': 1 })

  await sendChat(bobTabs[2]!, 'Alice Abebe (tutor)', 'Are you free at 5?')
  await sendChat(aliceTabs[4]!, 'Bob Bekele (student)', 'Yes, see you then')
  for (const tab of all) {
    await expect(chatLog(tab).getByRole('listitem')).toHaveText(['Bob Bekele: Are you free at 5?', 'Alice Abebe: Yes, see you then'])
  }
  const carol = await api.login('carol')
  await api.call(carol, 'Tutor:1')
  await api.call(carol, 'Student:1')
  for (const tab of all) await expect(dialogFrom(tab, 'Carol Chala')).toBeVisible()
  expect(await api.stats()).toEqual({ 'Tutor:1': 1, 'Student:1': 1 })
})

test('the widget sees the shared socket drop and come back (close, then open), and a message sent after it arrives', async ({ signedIn, openTabs, api }) => {
  const [alice] = await openTabs(await signedIn('alice'), 1)
  const [bob] = await openTabs(await signedIn('bob'), 1)
  await expectOpen([alice!, bob!])
  await bob!.evaluate(() => {
    const seen: string[] = []
    Object.assign(window, { seen })
    window.chatWebSocket!.addEventListener('close', () => seen.push('close'))
    window.chatWebSocket!.addEventListener('open', () => seen.push('open'))
  })
  await api.drop()
  await expect.poll(() => bob!.evaluate(() => (window as unknown as { seen: string[] }).seen)).toEqual(['close', 'open'])
  // Chat is relayed, not stored: alice's socket must be back too before a message can reach her.
  await expect(alice!.locator('#chat .chat-state')).toHaveText('connected')
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1, 'Student:1': 1 })
  await sendChat(bob!, 'Alice Abebe (tutor)', 'after the drop')
  await expect(chatLog(alice!).getByRole('listitem')).toHaveText(['Bob Bekele: after the drop'])
})
