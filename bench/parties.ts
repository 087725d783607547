/**
 * The comparators' tabs, opened once and shared by the measurements that run in them one after another
 * ((b) then (g); (c) then (h)): opening forty tabs costs half a minute on two busy cores.
 */
import type { BrowserContext, Page } from '@playwright/test'
import type { CallHubOptions } from '../client'
import { comparatorUsers, openTabs } from './browser'
import type { BenchEnv } from './env'
import type { Comparator } from './site'
import { pollUntil, within } from './wait'

export interface Party {
  comparator: Comparator
  context: BrowserContext
  tabs: Page[]
}

/** Opens `count` tabs for each comparator, each in a context of its own, runs `use`, and closes them all after. */
export async function withParties<T>(
  env: BenchEnv, comparators: readonly Comparator[], count: number, options: Omit<CallHubOptions, 'strings'>,
  use: (parties: Party[]) => Promise<T>,
): Promise<T> {
  const parties: Party[] = []
  try {
    for (const comparator of comparators) {
      const party: Party = { comparator, context: await env.context(comparator, options), tabs: [] }
      parties.push(party)
      party.tabs = await openTabs(party.context, env.site.paths[comparator], count)
    }
    return await use(parties)
  } finally {
    await Promise.all(parties.map((party) => party.context.close()))
  }
}

/**
 * Opens the chat in every tab (the old design's widget opens a socket of its own; callhub's chat code takes
 * `hub.socket()`), and waits until the server counts the old design's second sockets.
 */
export async function openChat(env: BenchEnv, parties: readonly Party[]): Promise<void> {
  for (const { comparator, tabs } of parties) {
    await within(15_000, `${comparator}: chat to open`, Promise.all(tabs.map((tab) => tab.evaluate(() => window.benchProbe.openChat?.()))))
    if (comparator !== 'per-tab') continue
    const key = comparatorUsers[comparator].profileKey
    await pollUntil('per-tab chat sockets', () => env.api.connections(key), (sockets) => sockets >= 2 * tabs.length)
  }
}
