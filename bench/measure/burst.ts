/**
 * (c) A burst of invitations, pipelined into the server as fast as it takes them, to every tab of callhub
 * and of the raw relay, in turns. Frames per second = frames / (the server's first send → the last tab's
 * handler of the last frame). Every tab checks that it saw every sequence number once, in order.
 */
import type { BrowserContext, Page } from '@playwright/test'
import { comparatorUsers, openTabs } from '../browser'
import type { BenchEnv } from '../env'
import { callId, cancelFrame, invitationFrame } from '../frames'
import { now } from '../server-api'
import type { Comparator } from '../site'
import { median } from '../stats'
import { within } from '../wait'

export interface BurstRun {
  framesPerSecond: number
  /** Over all tabs: frames that never arrived, and frames that arrived out of sequence. */
  lost: number
  outOfOrder: number
  /** ms the server took to send the whole burst (its first to its last send). */
  serverSendMs: number
}

export interface BurstResult {
  comparator: Comparator
  tabs: number
  frames: number
  /** Median over the runs. */
  framesPerSecond: number
  runs: BurstRun[]
}

export interface BurstSummary {
  results: BurstResult[]
  /** Frames per second the pipelined sender gets through the server to a profile with no socket. */
  senderCeiling: number
  /** The server sent every burst's frames in sequence (so any disorder in a tab is the hub's). */
  serverInOrder: boolean
}

interface Party {
  comparator: Comparator
  context: BrowserContext
  tabs: Page[]
  runs: BurstRun[]
}

const burstComparators: Comparator[] = ['callhub', 'relay']
const tags: Record<Comparator, string> = { callhub: 'h', 'per-tab': 't', relay: 'r' }

export async function measureBurst(env: BenchEnv): Promise<BurstSummary> {
  const { plan, site, api, sends } = env
  const parties: Party[] = []
  let serverInOrder = true
  try {
    const senderCeiling = await measureSender(env)
    for (const comparator of burstComparators) {
      // No dialog: the burst measures delivery, and 10,000 dialogs would measure layout instead.
      const context = await env.context(comparator, { modal: false })
      parties.push({ comparator, context, tabs: await openTabs(context, site.paths[comparator], plan.burstTabs), runs: [] })
    }

    async function burst(party: Party, run: number): Promise<void> {
      const key = comparatorUsers[party.comparator].profileKey
      const prefix = `b${tags[party.comparator]}${run % 10}`
      const ids = Array.from({ length: plan.burstFrames }, (_, seq) => callId(prefix, seq))
      const frames = ids.map(invitationFrame)
      await Promise.all(party.tabs.map((tab) => tab.evaluate(([prefix, total]) => window.benchProbe.expectBurst(prefix, total), [prefix, ids.length] as const)))
      const done = party.tabs.map((tab) => tab.evaluate(() => window.benchProbe.burstDone()))
      await api.sendAll(key, frames)
      const reports = await within(120_000, `${party.comparator}: a burst of ${ids.length} frames`, Promise.all(done)).catch((error: unknown) => {
        // Frames were lost (or are very late): report what arrived rather than nothing.
        console.error(String(error))
        return Promise.all(party.tabs.map((tab) => tab.evaluate(() => window.benchProbe.burst())))
      })
      const firstSend = sends.sentAt(ids[0]!)!
      const lastSend = sends.sentAt(ids.at(-1)!)!
      const lastArrival = Math.max(...reports.map((report) => report.lastAt ?? Number.NaN))
      const sentOrder = sends.order.filter((id) => id.startsWith(prefix))
      serverInOrder &&= sentOrder.length === ids.length && sentOrder.every((id, index) => id === ids[index])
      party.runs.push({
        framesPerSecond: ids.length / ((lastArrival - firstSend) / 1000),
        lost: reports.reduce((sum, report) => sum + ids.length - report.received, 0),
        outOfOrder: reports.reduce((sum, report) => sum + report.outOfOrder, 0),
        serverSendMs: lastSend - firstSend,
      })
      if (party.comparator === 'callhub') {
        // callhub keeps ringing calls until they end: end them, so the next burst starts from nothing.
        const ended = party.tabs.map((tab) => tab.evaluate(([prefix, total]) => window.benchProbe.expectSettled(prefix, total), [prefix, ids.length] as const))
        await api.sendAll(key, ids.map(cancelFrame))
        await within(120_000, 'callhub: cancelling the burst', Promise.all(ended))
      }
      sends.forget()
      console.log(`  (c) ${party.comparator} burst ${run + 1}: ${Math.round(party.runs.at(-1)!.framesPerSecond)} frames/s`)
    }

    for (let run = 0; run < plan.burstRepeats; run += 1) {
      const order = run % 2 === 0 ? parties : [...parties].reverse()
      for (const party of order) await burst(party, run)
    }
    const results = parties.map((party): BurstResult => ({
      comparator: party.comparator, tabs: party.tabs.length, frames: plan.burstFrames,
      framesPerSecond: median(party.runs.map((run) => run.framesPerSecond)), runs: party.runs,
    }))
    return { results, senderCeiling, serverInOrder }
  } finally {
    await Promise.all(parties.map((party) => party.context.close()))
  }
}

/** The sender's own limit: the same pipelined burst to a profile that has no socket open. */
async function measureSender(env: BenchEnv): Promise<number> {
  const frames = Array.from({ length: env.plan.burstFrames }, (_, seq) => invitationFrame(callId('bsx', seq)))
  const start = now()
  await env.api.sendAll('Parent:1', frames)
  return frames.length / ((now() - start) / 1000)
}
