/**
 * (a) Sockets on the server against tabs open. The server's own count (`/api/stats`) is the measure:
 * Playwright cannot see a SharedWorker's socket, and a page cannot see another page's.
 */
import type { Page } from '@playwright/test'
import { comparatorUsers, openTabs } from '../browser'
import type { BenchEnv } from '../env'
import { pollUntil } from '../wait'

export interface SocketsRow {
  tabs: number
  callhub: number
  /** The old design: a socket per page… */
  perTab: number
  /** …and one more per page while its chat widget is open. */
  perTabWithChat: number
}

export async function measureSockets(env: BenchEnv): Promise<SocketsRow[]> {
  const { api, site, plan } = env
  const hubKey = comparatorUsers.callhub.profileKey
  const oldKey = comparatorUsers['per-tab'].profileKey
  const hubContext = await env.context('callhub')
  const oldContext = await env.context('per-tab')
  const hubTabs: Page[] = []
  const oldTabs: Page[] = []
  const rows: SocketsRow[] = []
  try {
    for (const tabs of plan.socketTabs) {
      hubTabs.push(...(await openTabs(hubContext, site.paths.callhub, tabs - hubTabs.length)))
      oldTabs.push(...(await openTabs(oldContext, site.paths['per-tab'], tabs - oldTabs.length)))
      // Every tab reports its connection open; the server counts a socket once its auth frame arrives.
      const callhub = await pollUntil('callhub sockets', () => api.connections(hubKey), (count) => count > 0)
      const perTab = await pollUntil('per-tab sockets', () => api.connections(oldKey), (count) => count >= tabs)
      await Promise.all(oldTabs.map((tab) => tab.evaluate(() => window.benchProbe.openChat!())))
      const perTabWithChat = await pollUntil('per-tab sockets with chat', () => api.connections(oldKey), (count) => count >= 2 * tabs)
      await Promise.all(oldTabs.map((tab) => tab.evaluate(() => window.benchProbe.closeChat!())))
      await pollUntil('chat sockets to close', () => api.connections(oldKey), (count) => count <= tabs)
      // Read callhub's count again now that time has passed: a second socket would show by now.
      rows.push({ tabs, callhub: Math.max(callhub, await api.connections(hubKey)), perTab, perTabWithChat })
      console.log(`  (a) ${tabs} tabs: callhub ${rows.at(-1)!.callhub}, per-tab ${perTab}, with chat ${perTabWithChat}`)
    }
  } finally {
    await Promise.all([hubContext.close(), oldContext.close()])
  }
  return rows
}
