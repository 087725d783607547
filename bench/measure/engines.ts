/**
 * (k) Per engine (issue 14): callhub against per-tab sockets in Chromium, Firefox and WebKitGTK, driven by
 * the cross-engine suite's own drivers (`tests/engines/drivers`: Playwright, puppeteer-core over WebDriver
 * BiDi, WebKitWebDriver under Xvfb). Each engine runs as shipped (Chromium without the bench's frame-rate
 * flag), so the numbers say where each engine stands, not how the bench's Chromium compares.
 *
 * In each engine: N tabs per comparator, each comparator in a browser profile of its own; the sockets the
 * server counts; fan-out from the server's send to the invitation handler in every tab (the comparators take
 * turns, one call each per round; handler only: shipped browsers render no frames in background tabs);
 * and a new tab's time to `open` (callhub's hub already connected by the N tabs). The bench waits for each
 * call after sending it, not before as in (b): WebDriver classic runs one command at a time, and a waiting
 * command would hold the others up. The times are taken in the pages, so the wait does not count in them.
 *
 * An engine that is not installed is reported as missing, with the command that installs it; one that
 * fails is reported as failed, with its error, and the others still run.
 */
import { launchChromium } from '../../tests/engines/drivers/chromium'
import { launchFirefox } from '../../tests/engines/drivers/firefox'
import { launchWebKit } from '../../tests/engines/drivers/webkit'
import type { Engine, Profile, Tab } from '../../tests/engines/harness'
import { findEngines } from '../../tests/engines/installed'
import type { EngineName, Installation } from '../../tests/engines/installed'
import { comparatorUsers } from '../browser'
import type { BenchEnv } from '../env'
import { callId, cancelFrame, invitationFrame } from '../frames'
import { comparatorTags as tags } from '../site'
import { percentiles } from '../stats'
import type { Percentiles } from '../stats'
import { pollUntil, within } from '../wait'
import { checkClocks, samplesOf } from './latency'
import type { ClockCheck } from './latency'

const engineComparators = ['callhub', 'per-tab'] as const
type EngineComparator = (typeof engineComparators)[number]

export interface EngineComparatorResult {
  comparator: EngineComparator
  /** Open, authenticated sockets of the profile with every tab open. */
  sockets: number
  /** ms from the server's send to the invitation handler, one sample per tab per call. */
  handler: Percentiles
  /** ms from the server's send to the last tab's handler, one sample per call. */
  lastTab: Percentiles
  /** ms from a new tab's navigation start to its `open`. */
  newTab: Percentiles
}

export type EngineResult =
  | { engine: EngineName; status: 'missing'; detail: string }
  | { engine: EngineName; status: 'failed'; version: string | null; detail: string }
  | { engine: EngineName; status: 'measured'; version: string; tabs: number; clock: ClockCheck; comparators: EngineComparatorResult[] }

interface Party {
  comparator: EngineComparator
  profile: Profile
  tabs: Tab[]
  newTab: number[]
}

function launch(installation: Installation & { found: true }): Promise<Engine> {
  switch (installation.engine) {
    case 'chromium': return launchChromium(installation.executable)
    case 'firefox': return launchFirefox(installation.executable)
    case 'webkit': return launchWebKit(installation)
  }
}

export async function measureEngines(env: BenchEnv): Promise<EngineResult[]> {
  const results: EngineResult[] = []
  for (const installation of findEngines()) {
    if (!installation.found) {
      results.push({ engine: installation.engine, status: 'missing', detail: `${installation.missing}; install with: ${installation.install}` })
      console.log(`  (k) ${installation.engine}: missing (${installation.install})`)
      continue
    }
    let engine: Engine | null = null
    try {
      engine = await launch(installation)
      console.log(`  (k) ${engine.name} ${engine.version}`)
      results.push(await measureEngine(env, engine))
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      results.push({ engine: installation.engine, status: 'failed', version: engine?.version ?? null, detail })
      console.error(`  (k) ${installation.engine} failed: ${detail}`)
    } finally {
      await engine?.close().catch(() => {})
    }
  }
  return results
}

async function measureEngine(env: BenchEnv, engine: Engine): Promise<EngineResult> {
  const { plan, site, api, sends } = env
  const whenOpen = (tab: Tab) => tab.evaluate(() => window.benchProbe.whenOpen())
  const parties: Party[] = []
  try {
    for (const comparator of engineComparators) {
      const profile = await engine.newProfile({ origin: env.baseURL, token: await api.login(comparatorUsers[comparator].username) })
      const party: Party = { comparator, profile, tabs: [], newTab: [] }
      parties.push(party)
      // One after another: WebDriver classic runs one command at a time anyway.
      for (let index = 0; index < plan.engineTabs; index += 1) party.tabs.push(await profile.openTab(site.enginePaths[comparator]))
      for (const tab of party.tabs) await within(30_000, `${engine.name} ${comparator}: a tab to open`, whenOpen(tab))
    }
    const sockets = new Map<EngineComparator, number>()
    for (const { comparator } of parties) {
      const expected = comparator === 'per-tab' ? plan.engineTabs : 1
      sockets.set(comparator, await pollUntil(`${engine.name} ${comparator} sockets`, () => api.connections(comparatorUsers[comparator].profileKey), (count) => count >= expected))
    }
    const clock = await checkClocks(parties.flatMap((party) => party.tabs.map((tab) => () => tab.evaluate(() => performance.timeOrigin + performance.now()))))

    async function ring(party: Party, callLogId: string): Promise<void> {
      const key = comparatorUsers[party.comparator].profileKey
      const what = `${engine.name} ${party.comparator}: call ${callLogId}`
      await api.send(key, invitationFrame(callLogId))
      await within(30_000, `${what} to ring`, Promise.all(party.tabs.map((tab) => tab.evaluate((id) => window.benchProbe.shown(id), callLogId))))
      await api.send(key, cancelFrame(callLogId))
      await within(30_000, `${what} to end`, Promise.all(party.tabs.map((tab) => tab.evaluate((id) => window.benchProbe.ended(id), callLogId))))
    }
    const takeRecords = (party: Party) => Promise.all(party.tabs.map((tab) => tab.evaluate(() => window.benchProbe.takeRecords())))
    const rounds = plan.engineWarmupRounds + plan.engineRounds
    for (let round = 0; round < rounds; round += 1) {
      for (let turn = 0; turn < parties.length; turn += 1) {
        const party = parties[(round + turn) % parties.length]!
        await ring(party, callId(`${round < plan.engineWarmupRounds ? 'x' : 'e'}${tags[party.comparator]}`, round))
      }
      if (round + 1 === plan.engineWarmupRounds) for (const party of parties) await takeRecords(party)
    }
    const samples = new Map<EngineComparator, ReturnType<typeof samplesOf>>()
    for (const party of parties) samples.set(party.comparator, samplesOf(await takeRecords(party), sends))
    sends.forget()

    for (let repeat = 0; repeat < plan.engineNewTabs; repeat += 1) {
      for (let turn = 0; turn < parties.length; turn += 1) {
        const party = parties[(repeat + turn) % parties.length]!
        const tab = await party.profile.openTab(site.enginePaths[party.comparator])
        party.newTab.push((await within(30_000, `${engine.name} ${party.comparator}: a new tab to open`, whenOpen(tab))).fromNavigation)
        await tab.close()
      }
    }

    return {
      engine: engine.name, status: 'measured', version: engine.version, tabs: plan.engineTabs, clock,
      comparators: parties.map(({ comparator, newTab }) => {
        const { handler, lastTab } = samples.get(comparator)!
        const expected = plan.engineRounds * plan.engineTabs
        if (handler.length !== expected) throw new Error(`[bench] ${engine.name} ${comparator}: ${handler.length} samples, expected ${expected}`)
        return { comparator, sockets: sockets.get(comparator)!, handler: percentiles(handler), lastTab: percentiles(lastTab), newTab: percentiles(newTab) }
      }),
    }
  } finally {
    for (const party of parties) await party.profile.close().catch(() => {})
  }
}
