/**
 * (a) Sockets on the server against tabs open, with the pages' chat closed and open. The server's own count
 * (`/api/stats`) is the measure: Playwright cannot see a SharedWorker's socket, and a page cannot see
 * another page's. A count is not a timing, so the comparators go one after another (at 50 tabs each, all at
 * once would be 150 pages on two cores).
 *
 * leader-tab goes up to `LEADER_TAB_MAX_TABS`: every tab runs a hub of its own there, and opening 25 more at
 * once, from 25 to 50, had not finished within 30 s on this loaded two-core machine.
 */
import type { Page } from '@playwright/test'
import { comparatorUsers, openTabs } from '../browser'
import type { BenchEnv } from '../env'
import type { Comparator } from '../site'
import { pollUntil, within } from '../wait'

export interface SocketCount {
  /** Open, authenticated sockets once every tab reports its connection open… */
  open: number
  /** …and once every tab opened its chat: the old design's widget opens a socket; callhub's takes `hub.socket()`. */
  withChat: number
}

export interface SocketsRow {
  tabs: number
  counts: Partial<Record<Comparator, SocketCount>>
}

export const socketComparators = ['callhub', 'leader-tab', 'per-tab'] as const
const LEADER_TAB_MAX_TABS = 10

export async function measureSockets(env: BenchEnv): Promise<SocketsRow[]> {
  const { api, site, plan } = env
  const rows: SocketsRow[] = plan.socketTabs.map((tabs) => ({ tabs, counts: {} }))
  for (const comparator of socketComparators) {
    const key = comparatorUsers[comparator].profileKey
    const context = await env.context(comparator)
    const tabs: Page[] = []
    try {
      for (const row of rows) {
        if (comparator === 'leader-tab' && row.tabs > LEADER_TAB_MAX_TABS) break
        tabs.push(...(await openTabs(context, site.paths[comparator], row.tabs - tabs.length)))
        // One socket per tab for the old design, one in all for callhub's modes. Every tab reports its
        // connection open first, and a second socket of callhub's would be open by then too (a tab reports
        // `open` only once its host's, or its owner's, socket is accepted).
        const perTab = comparator === 'per-tab'
        const open = await pollUntil(`${comparator} sockets`, () => api.connections(key), (count) => count >= (perTab ? row.tabs : 1))
        await within(15_000, `${comparator}: chat to open`, Promise.all(tabs.map((tab) => tab.evaluate(() => window.benchProbe.openChat!()))))
        const withChat = await pollUntil(`${comparator} sockets with chat`, () => api.connections(key), (count) => count >= (perTab ? 2 * row.tabs : 1))
        await Promise.all(tabs.map((tab) => tab.evaluate(() => window.benchProbe.closeChat!())))
        await pollUntil(`${comparator}: chat sockets to close`, () => api.connections(key), (count) => count <= (perTab ? row.tabs : 1))
        row.counts[comparator] = { open, withChat }
        console.log(`  (a) ${comparator}, ${row.tabs} tabs: ${open} sockets, ${withChat} with chat`)
      }
    } finally {
      await context.close()
    }
  }
  return rows
}
