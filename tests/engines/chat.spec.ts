/**
 * The WebSocket facade in every engine, through the demo's chat widget (demo/chat-widget.ts), which was
 * written for a plain WebSocket and is given `window.chatWebSocket = hub.socket()`. Two users, each in a
 * browser profile of their own (their own storage, so their own SharedWorker and socket), two tabs each.
 */
import { expectOpen } from './expectations'
import { expect, test } from './fixtures'
import { readLog } from './harness'
import type { Tab } from './harness'

/** The widget's connection state, as it shows it (from its socket's `onopen` and `onclose`). */
const chatState = (tab: Tab) => tab.evaluate(() => document.querySelector('#chat [aria-live]')?.textContent ?? null)

type RecordingWindow = Window & { chatStatesShown?: string[] }

/** Runs in the page: from now on, records each change of the state the widget shows. */
function recordChatStates(): void {
  const state = document.querySelector('#chat [aria-live]')!
  const shown: string[] = []
  ;(window as RecordingWindow).chatStatesShown = shown
  // Every change, however brief: a reconnect can be quicker than any poll from the test.
  new MutationObserver(() => {
    const text = state.textContent ?? ''
    if (shown.at(-1) !== text) shown.push(text)
  }).observe(state, { childList: true, characterData: true, subtree: true })
}

const chatStatesShown = (tab: Tab) => tab.evaluate(() => (window as RecordingWindow).chatStatesShown ?? null)
const chatLog = (tab: Tab) => tab.evaluate(readLog, 'Chat messages')

/** What a user does in the widget: picks who to write to, types, and clicks Send. */
async function sendChat(tab: Tab, to: string, text: string): Promise<void> {
  await tab.select({ name: 'To' }, to)
  await tab.fill({ name: 'Message' }, text)
  await tab.click({ name: 'Send' })
}

test('the demo chat widget runs on hub.socket(): a message typed in one tab reaches both tabs of each user over one socket per profile; after the sockets drop it shows "reconnecting…", then "connected", and a message sent then arrives too', async ({ signedIn, openTabs, api }) => {
  const alice = await openTabs(await signedIn('alice'), 2)
  const bob = await openTabs(await signedIn('bob'), 2)
  const everyone = [...alice, ...bob]
  await expectOpen(alice)
  await expectOpen(bob)
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1, 'Student:1': 1 })
  for (const tab of everyone) await expect.poll(() => chatState(tab)).toBe('connected')

  await sendChat(alice[0]!, 'Bob Bekele (student)', 'Hello Bob')
  // The server sends a message to its sender's sockets too: alice's other tab shows the conversation.
  for (const tab of everyone) await expect.poll(() => chatLog(tab)).toEqual(['Alice Abebe: Hello Bob'])
  expect(await api.stats()).toEqual({ 'Tutor:1': 1, 'Student:1': 1 })

  for (const tab of everyone) await tab.evaluate(recordChatStates)
  const before = (await api.totals()).authenticated
  await api.drop()
  // The facade's `close` and then `open`, as a WebSocket the widget would have replaced itself.
  for (const tab of everyone) await expect.poll(() => chatStatesShown(tab)).toEqual(['reconnecting…', 'connected'])
  await expect.poll(() => api.stats()).toEqual({ 'Tutor:1': 1, 'Student:1': 1 })
  // One new socket per profile, counted from before the drop: on a loaded machine a host may give up on a
  // connect slower than its 10 s timeouts and try again, which the server counts too.
  expect((await api.totals()).authenticated).toEqual({ 'Tutor:1': before['Tutor:1']! + 1, 'Student:1': before['Student:1']! + 1 })

  await sendChat(bob[1]!, 'Alice Abebe (tutor)', 'Hello Alice, still there?')
  for (const tab of everyone) await expect.poll(() => chatLog(tab)).toEqual(['Alice Abebe: Hello Bob', 'Bob Bekele: Hello Alice, still there?'])
})
