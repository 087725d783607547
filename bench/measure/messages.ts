/**
 * (g) Message fan-out: from the server's send of a chat frame to the message handler in every tab, with
 * chat open everywhere. callhub (both modes): `hub.on('message')`; per-tab sockets: the handler of each
 * tab's chat socket (each tab's call socket gets the frame too, parses it and leaves it, as the old pages
 * did); the relay: its page's handler. It runs in the tabs of (b), after it; as there, the comparators take
 * turns, one message each per round.
 */
import { comparatorUsers } from '../browser'
import type { BenchEnv } from '../env'
import { callId, chatFrame } from '../frames'
import { openChat } from '../parties'
import type { Party } from '../parties'
import { comparatorTags as tags } from '../site'
import type { Comparator } from '../site'
import { percentiles } from '../stats'
import type { Percentiles } from '../stats'
import { within } from '../wait'
import { takeSamples } from './latency'

export interface MessageLatencyResult {
  comparator: Comparator
  tabs: number
  /** ms from the server's send to the message handler, one sample per tab per message. */
  handler: Percentiles
  /** ms from the server's send to the last tab's handler, one sample per message. */
  lastTab: Percentiles
}

export async function measureMessages(env: BenchEnv, parties: readonly Party[]): Promise<MessageLatencyResult[]> {
  const { plan, api, sends } = env
  await openChat(env, parties)

  async function post(party: Party, messageId: string): Promise<void> {
    // Ask for the outcome before sending, so the bench adds no page work after the frame is sent.
    const shown = party.tabs.map((tab) => tab.evaluate((id) => window.benchProbe.shown(id), messageId))
    await api.send(comparatorUsers[party.comparator].profileKey, chatFrame(messageId))
    await within(15_000, `${party.comparator}: message ${messageId} in ${party.tabs.length} tabs`, Promise.all(shown))
  }

  const rounds = plan.warmupRounds + plan.messageRounds
  for (let round = 0; round < rounds; round += 1) {
    for (let turn = 0; turn < parties.length; turn += 1) {
      const party = parties[(round + turn) % parties.length]!
      await post(party, callId(`${round < plan.warmupRounds ? 'v' : 'm'}${tags[party.comparator]}`, round))
    }
    if (round + 1 === plan.warmupRounds) {
      for (const party of parties) await Promise.all(party.tabs.map((tab) => tab.evaluate(() => window.benchProbe.takeRecords())))
    }
  }

  const results: MessageLatencyResult[] = []
  for (const party of parties) {
    const { handler, lastTab } = await takeSamples(party.tabs, sends)
    const expected = plan.messageRounds * party.tabs.length
    if (handler.length !== expected) throw new Error(`[bench] ${party.comparator}: ${handler.length} message samples, expected ${expected}`)
    results.push({ comparator: party.comparator, tabs: party.tabs.length, handler: percentiles(handler), lastTab: percentiles(lastTab) })
  }
  sends.forget()
  return results
}
