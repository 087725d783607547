/** What every measurement gets: the plan, the served site, the server's API and clock, and the browser. */
import type { Browser, BrowserContext } from '@playwright/test'
import type { CallHubOptions } from '../client'
import { comparatorUsers, newBenchContext, optionsSource } from './browser'
import type { ServerApi, ServerSendClock } from './server-api'
import type { BenchSite, Comparator } from './site'

export interface Plan {
  mode: 'full' | 'quick'
  /** (a) tab counts at which sockets are counted. */
  socketTabs: number[]
  /** (b) tabs per comparator, measured rounds (one call per comparator each), unrecorded warm-up rounds. */
  latencyTabs: number
  latencyRounds: number
  warmupRounds: number
  /** (g) measured rounds (one message per comparator each), after the same warm-up as (b). */
  messageRounds: number
  /** (c) tabs per comparator, frames per burst, bursts per comparator. */
  burstTabs: number
  burstFrames: number
  burstRepeats: number
  /**
   * (c) frames per invitation burst in leader-tab mode, and its bursts: its cost per invitation grows with
   * the calls already ringing, and a burst of 10,000 takes minutes there (it had not ended after 120 s in
   * the first runs; 2,000 took 12 s, and as long again to cancel).
   */
  leaderTabBurstFrames: number
  leaderTabBursts: number
  /** (h) chat bursts per comparator (the same tabs and frames as (c)). */
  chatBurstRepeats: number
  /** (d) new tabs opened per comparator. */
  newTabRepeats: number
  /** (i) tabs per comparator, and drops (each followed by a call). */
  dropTabs: number
  drops: number
  /** (j) tabs per comparator, and tabs closed (each followed by a call). */
  failoverTabs: number
  failovers: number
  /** (k) per engine: tabs per comparator, measured and warm-up calls, new tabs opened per comparator. */
  engineTabs: number
  engineRounds: number
  engineWarmupRounds: number
  engineNewTabs: number
  /** (f) tab open/close cycles, then calls (invitation + cancel). */
  memoryCycles: number
  memoryCalls: number
}

export const fullPlan: Plan = {
  mode: 'full',
  socketTabs: [1, 5, 10, 25, 50],
  latencyTabs: 10,
  // Rounds and repeats are sized so that the full run stays well under 15 minutes on two busy cores.
  latencyRounds: 100,
  warmupRounds: 10,
  messageRounds: 60,
  burstTabs: 10,
  burstFrames: 10_000,
  burstRepeats: 3,
  leaderTabBurstFrames: 2_000,
  leaderTabBursts: 1,
  chatBurstRepeats: 1,
  newTabRepeats: 10,
  dropTabs: 10,
  drops: 20,
  failoverTabs: 10,
  failovers: 20,
  engineTabs: 10,
  engineRounds: 15,
  engineWarmupRounds: 2,
  engineNewTabs: 4,
  memoryCycles: 200,
  memoryCalls: 10_000,
}

export const quickPlan: Plan = {
  mode: 'quick',
  socketTabs: [1, 3],
  latencyTabs: 3,
  latencyRounds: 15,
  warmupRounds: 3,
  messageRounds: 15,
  burstTabs: 3,
  burstFrames: 500,
  burstRepeats: 1,
  leaderTabBurstFrames: 500,
  leaderTabBursts: 1,
  chatBurstRepeats: 1,
  newTabRepeats: 3,
  dropTabs: 3,
  drops: 3,
  failoverTabs: 3,
  failovers: 3,
  engineTabs: 3,
  engineRounds: 5,
  engineWarmupRounds: 1,
  engineNewTabs: 2,
  memoryCycles: 40,
  memoryCalls: 1_200,
}

export interface BenchEnv {
  plan: Plan
  /** The reference server's origin. */
  baseURL: string
  site: BenchSite
  api: ServerApi
  sends: ServerSendClock
  browser: Browser
  debuggingPort: number
  /** A fresh context (and so a fresh SharedWorker) signed in as the comparator's user. */
  context(comparator: Comparator, options?: Omit<CallHubOptions, 'strings'>): Promise<BrowserContext>
}

export function createEnv(env: Omit<BenchEnv, 'context'>): BenchEnv {
  const { baseURL } = env
  return {
    ...env,
    async context(comparator, options = {}) {
      const { username, activeRole } = comparatorUsers[comparator]
      return newBenchContext(env.browser, {
        baseURL, token: await env.api.login(username), probeScript: env.site.probeScript, options: optionsSource(options),
        activeRole, withoutSharedWorker: comparator === 'leader-tab',
      })
    },
  }
}
