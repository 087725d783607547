/**
 * (b) Fan-out latency: from the server's send of an invitation to the handler in every tab, and to the
 * dialog having been rendered. The comparators (callhub in both of its modes, per-tab sockets, the raw
 * relay) are open side by side and take turns, one call each per round, so that the machine's noise falls
 * on all of them alike.
 */
import type { Page } from '@playwright/test'
import { comparatorUsers } from '../browser'
import type { BenchEnv } from '../env'
import { callId, cancelFrame, invitationFrame } from '../frames'
import type { Party } from '../parties'
import { now } from '../server-api'
import type { ServerSendClock } from '../server-api'
import { comparatorTags as tags } from '../site'
import type { Comparator } from '../site'
import type { CallRecord } from '../pages/probe'
import { percentiles } from '../stats'
import type { Percentiles } from '../stats'
import { within } from '../wait'

/** The comparators of (b), and of (g), which runs in the same tabs after it. */
export const fanOutComparators: Comparator[] = ['callhub', 'leader-tab', 'per-tab', 'relay']

export interface LatencyResult {
  comparator: Comparator
  tabs: number
  /** ms from the server's send to the invitation handler, one sample per tab per call. */
  handler: Percentiles
  /** ms from the server's send to the end of the frame that first shows the dialog. */
  visible: Percentiles
  /** ms from the server's send to the handler of the last tab, one sample per call. */
  lastTab: Percentiles
}

export interface ClockCheck {
  samples: number
  /** Largest distance of a page's clock outside the bracket of two bench-process readings, in ms. */
  worstOutside: number
}

/** `parties`: `latencyTabs` tabs of each of `fanOutComparators`, with default options. */
export async function measureLatency(env: BenchEnv, parties: readonly Party[]): Promise<{ results: LatencyResult[]; clock: ClockCheck }> {
  const { plan, api, sends } = env
  const clock = await checkClocks(parties.flatMap((party) => party.tabs.map((tab) => () => tab.evaluate(() => performance.timeOrigin + performance.now()))))

  async function ring(party: Party, callLogId: string): Promise<void> {
    const key = comparatorUsers[party.comparator].profileKey
    const what = `${party.comparator}: call ${callLogId} in ${party.tabs.length} tabs`
    // Ask for the outcome before sending, so the bench adds no page work after the frame is sent.
    const shown = party.tabs.map((tab) => tab.evaluate((id) => window.benchProbe.shown(id), callLogId))
    await api.send(key, invitationFrame(callLogId))
    await within(15_000, `${what} to show`, Promise.all(shown))
    const ended = party.tabs.map((tab) => tab.evaluate((id) => window.benchProbe.ended(id), callLogId))
    await api.send(key, cancelFrame(callLogId))
    await within(15_000, `${what} to end`, Promise.all(ended))
  }

  const rounds = plan.warmupRounds + plan.latencyRounds
  for (let round = 0; round < rounds; round += 1) {
    // Rotate who goes first, so no comparator always follows the same one.
    for (let turn = 0; turn < parties.length; turn += 1) {
      const party = parties[(round + turn) % parties.length]!
      await ring(party, callId(`${round < plan.warmupRounds ? 'w' : 'l'}${tags[party.comparator]}`, round))
    }
    if (round + 1 === plan.warmupRounds) for (const party of parties) await takeRecords(party)
    const measured = round + 1 - plan.warmupRounds
    if (measured > 0 && measured % 50 === 0) console.log(`  (b) round ${measured} of ${plan.latencyRounds}`)
  }

  const results: LatencyResult[] = []
  for (const party of parties) {
    const { handler, visible, lastTab } = await takeSamples(party.tabs, sends)
    const expected = plan.latencyRounds * party.tabs.length
    if (handler.length !== expected || visible.length !== expected) {
      throw new Error(`[bench] ${party.comparator}: ${handler.length} handler and ${visible.length} dialog samples, expected ${expected}`)
    }
    results.push({
      comparator: party.comparator, tabs: party.tabs.length,
      handler: percentiles(handler), visible: percentiles(visible), lastTab: percentiles(lastTab),
    })
  }
  sends.forget()
  return { results, clock }
}

async function takeRecords(party: Party): Promise<void> {
  await Promise.all(party.tabs.map((tab) => tab.evaluate(() => window.benchProbe.takeRecords())))
}

export interface Samples {
  /** ms from the server's send to each tab's handler. */
  handler: number[]
  /** ms from the server's send to the rendered dialog, where there was one. */
  visible: number[]
  /** ms from the server's send to the last tab's handler, one per frame. */
  lastTab: number[]
}

/** Takes the tabs' records and measures each from the server's send of its frame. */
export async function takeSamples(tabs: Page[], sends: ServerSendClock): Promise<Samples> {
  return samplesOf(await Promise.all(tabs.map((tab) => tab.evaluate(() => window.benchProbe.takeRecords()))), sends)
}

/** Measures each tab's records (one list per tab) from the server's send of their frames. */
export function samplesOf(perTab: CallRecord[][], sends: ServerSendClock): Samples {
  const samples: Samples = { handler: [], visible: [], lastTab: [] }
  const lastTab = new Map<string, number>()
  for (const record of perTab.flat()) {
    const sentAt = sends.sentAt(record.id)
    if (sentAt === undefined) throw new Error(`[bench] no server send recorded for ${record.id}`)
    samples.handler.push(record.handlerAt - sentAt)
    if (record.visibleAt !== null) samples.visible.push(record.visibleAt - sentAt)
    lastTab.set(record.id, Math.max(lastTab.get(record.id) ?? 0, record.handlerAt - sentAt))
  }
  samples.lastTab = [...lastTab.values()]
  return samples
}

/**
 * Pages and the bench process read one system clock (`performance.timeOrigin + performance.now()` on
 * both sides). Each page's reading (`readers`, one per tab, whatever drives it) must fall between two
 * readings of the bench process around it.
 */
export async function checkClocks(readers: Array<() => Promise<number>>): Promise<ClockCheck> {
  let worstOutside = 0
  let samples = 0
  for (const read of readers) {
    for (let sample = 0; sample < 3; sample += 1) {
      const before = now()
      const inPage = await read()
      const after = now()
      worstOutside = Math.max(worstOutside, before - inPage, inPage - after)
      samples += 1
    }
  }
  return { samples, worstOutside: Math.max(0, worstOutside) }
}
