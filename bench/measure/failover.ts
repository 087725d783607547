/**
 * (j) Failover (issue 11): in leader-tab mode (no SharedWorker) one tab owns the profile's socket; the
 * bench closes that tab, as a user closes a tab, and a caller places a call right after. The time counts
 * from the close to the call's handler in the last of the remaining tabs: another tab must take the socket
 * over (reconnect and authenticate) before the server can ring it. Beside it, the same in shared-worker
 * mode, closing the oldest tab (the one that started the worker): there the socket does not move, so it
 * is the floor. They take turns; after each round the closed tab is replaced by a new one, so every round
 * starts from the same number of tabs and one socket.
 */
import type { BrowserContext, Page } from '@playwright/test'
import { callerUsername, comparatorUsers, openTabs } from '../browser'
import type { BenchEnv } from '../env'
import { now } from '../server-api'
import type { Comparator } from '../site'
import { percentiles } from '../stats'
import type { Percentiles } from '../stats'
import { pollUntil } from '../wait'
import { ringAndEnd } from './drop'

export const failoverComparators = ['leader-tab', 'callhub'] as const

export interface FailoverResult {
  comparator: Comparator
  tabs: number
  /** ms from closing the tab to the next call's handler in the last remaining tab, one sample per close. */
  ringing: Percentiles
}

interface Party {
  comparator: Comparator
  context: BrowserContext
  tabs: Page[]
  samples: number[]
}

/** The leader-tab probe knows whether its page holds an open WebSocket: exactly one tab must. */
async function socketOwner(tabs: Page[]): Promise<Page> {
  const owners = await pollUntil('one tab to own the socket', async () => {
    const owns = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.benchProbe.ownsSocket?.() ?? false)))
    return tabs.filter((_, index) => owns[index])
  }, (found) => found.length === 1)
  return owners[0]!
}

export async function measureFailover(env: BenchEnv): Promise<FailoverResult[]> {
  const { plan, site, api } = env
  const caller = await api.login(callerUsername)
  const parties: Party[] = []
  try {
    for (const comparator of failoverComparators) {
      const context = await env.context(comparator)
      parties.push({ comparator, context, tabs: await openTabs(context, site.paths[comparator], plan.failoverTabs), samples: [] })
    }
    async function failover(party: Party, round: number): Promise<void> {
      const key = comparatorUsers[party.comparator].profileKey
      await pollUntil(`${party.comparator}: one socket before failover ${round}`, () => api.connections(key), (count) => count === 1)
      const closing = party.comparator === 'leader-tab' ? await socketOwner(party.tabs) : party.tabs[0]!
      const remaining = party.tabs.filter((tab) => tab !== closing)
      const closedAt = now()
      await closing.close()
      const callLogId = await api.placeCall(caller, key)
      const times = await ringAndEnd(env, `${party.comparator} after closing a tab`, remaining, callLogId, caller)
      party.samples.push(Math.max(...times) - closedAt)
      party.tabs = [...remaining, ...(await openTabs(party.context, site.paths[party.comparator], 1))]
    }
    for (let round = 1; round <= plan.failovers; round += 1) {
      for (let turn = 0; turn < parties.length; turn += 1) await failover(parties[(round + turn) % parties.length]!, round)
      console.log(`  (j) failover ${round}: ${parties.map((party) => `${party.comparator} ${Math.round(party.samples.at(-1)!)} ms`).join(', ')}`)
    }
    return parties.map(({ comparator, tabs, samples }) => ({
      comparator, tabs: tabs.length, ringing: percentiles(samples)
    }))
  } finally {
    await Promise.all(parties.map((party) => party.context.close()))
  }
}
