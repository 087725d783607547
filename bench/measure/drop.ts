/**
 * (i) Drop → next call ringing (issue 12). `/api/dev/drop` terminates every socket on the server, without a
 * close frame, as a backend restart or a network cut would; right after it a caller places a call to each
 * comparator's profile (`POST /api/calls`: the server rings the profile's sockets now and each socket that
 * authenticates later while the call rings). The time counts from the drop request to the call's handler in
 * the last of the comparator's tabs. All comparators live through the same drops, so they are measured side
 * by side, and every drop hits live, authenticated sockets: the next drop waits until the call rang in every
 * tab and the server counts every socket again.
 *
 * callhub runs with its default options (first window after the drop of an accepted connection: 4 s, full
 * jitter); the per-tab page retries after a fixed 5 s, as the old page code did.
 */
import type { BrowserContext, Page } from '@playwright/test'
import { callerUsername, comparatorUsers, openTabs } from '../browser'
import type { BenchEnv } from '../env'
import { now } from '../server-api'
import type { Comparator } from '../site'
import { percentiles } from '../stats'
import type { Percentiles } from '../stats'
import { pollUntil, within } from '../wait'

export const dropComparators = ['callhub', 'leader-tab', 'per-tab'] as const

export interface DropResult {
  comparator: Comparator
  tabs: number
  /** ms from the drop to the call's handler in the last tab, one sample per drop (nearest rank: p99 of 20 is the slowest). */
  ringing: Percentiles
}

interface Party {
  comparator: Comparator
  context: BrowserContext
  tabs: Page[]
  /** Sockets the server counts for the profile when every tab is connected. */
  sockets: number
  samples: number[]
}

/** When `callLogId`'s handler ran in each tab (the probe's records are taken, and so forgotten). */
export async function handlerTimes(tabs: Page[], callLogId: string): Promise<number[]> {
  const records = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.benchProbe.takeRecords())))
  return records.map((taken) => {
    const record = taken.find((candidate) => candidate.id === callLogId)
    if (record === undefined) throw new Error(`[bench] no record of call ${callLogId} in a tab that showed it`)
    return record.handlerAt
  })
}

/** Waits until `callLogId` rang in every tab, then ends it (caller's cancel) and waits until every tab saw the end. */
export async function ringAndEnd(env: BenchEnv, what: string, tabs: Page[], callLogId: string, callerToken: string): Promise<number[]> {
  await within(30_000, `${what}: call ${callLogId} to ring in ${tabs.length} tabs`,
    Promise.all(tabs.map((tab) => tab.evaluate((id) => window.benchProbe.shown(id), callLogId))))
  const times = await handlerTimes(tabs, callLogId)
  const ended = tabs.map((tab) => tab.evaluate((id) => window.benchProbe.ended(id), callLogId))
  await env.api.cancelCall(callerToken, callLogId)
  await within(15_000, `${what}: call ${callLogId} to end`, Promise.all(ended))
  return times
}

export async function measureDrop(env: BenchEnv): Promise<DropResult[]> {
  const { plan, site, api } = env
  const caller = await api.login(callerUsername)
  const parties: Party[] = []
  try {
    for (const comparator of dropComparators) {
      const context = await env.context(comparator)
      const tabs = await openTabs(context, site.paths[comparator], plan.dropTabs)
      parties.push({ comparator, context, tabs, sockets: comparator === 'per-tab' ? tabs.length : 1, samples: [] })
    }
    for (let drop = 1; drop <= plan.drops; drop += 1) {
      for (const { comparator, sockets } of parties) {
        const key = comparatorUsers[comparator].profileKey
        await pollUntil(`${comparator}: every socket back before drop ${drop}`, () => api.connections(key), (count) => count === sockets, 30_000)
      }
      const droppedAt = now()
      await api.dropAll()
      // The calls are placed together: each comparator's is its profile's next call after the drop.
      const calls = await Promise.all(parties.map((party) => api.placeCall(caller, comparatorUsers[party.comparator].profileKey)))
      await Promise.all(parties.map(async (party, index) => {
        const times = await ringAndEnd(env, `${party.comparator} after drop ${drop}`, party.tabs, calls[index]!, caller)
        party.samples.push(Math.max(...times) - droppedAt)
      }))
      console.log(`  (i) drop ${drop}: ${parties.map((party) => `${party.comparator} ${Math.round(party.samples.at(-1)!)} ms`).join(', ')}`)
    }
    return parties.map(({ comparator, tabs, samples }) => ({
      comparator, tabs: tabs.length, ringing: percentiles(samples)
    }))
  } finally {
    await Promise.all(parties.map((party) => party.context.close()))
  }
}
