/**
 * (c) A burst of invitations, and (h) a burst of chat frames, to every tab of each comparator, in turns.
 * The frames are written back to back into the reference server's own socket(s) of the profile, as a
 * backend flushing a queue would: through `/api/dev/send` the server's HTTP handling, not the browser,
 * would set the pace. Frames per second = frames / (the server's first send → the last tab's handler of the
 * last frame). Every tab checks that it saw every sequence number once, in order. A tab that receives nothing
 * for `STALL_MS` is taken to have lost the rest: the run then reports what arrived, and frames per second
 * counts the frames that arrived (per tab, on average) over the time to the last of them.
 *
 * Invitations go to callhub (both modes) and the relay; the per-tab design has no shared path to measure.
 * Chat frames go to those and to the per-tab design with chat open, whose server writes each frame into
 * every tab's two sockets (the chat socket counts it; the call socket parses it and leaves it).
 */
import { comparatorUsers } from '../browser'
import type { BenchEnv } from '../env'
import { callId, cancelFrame, chatFrame, invitationFrame } from '../frames'
import { openChat } from '../parties'
import type { Party as Tabs } from '../parties'
import { now } from '../server-api'
import { comparatorTags as tags } from '../site'
import type { Comparator } from '../site'
import { median } from '../stats'
import { within } from '../wait'

/** A tab that receives nothing for this long has lost the rest of the burst. */
const STALL_MS = 10_000

export interface BurstRun {
  framesPerSecond: number
  /** Over all tabs: frames that never arrived, and frames older than one already received. */
  lost: number
  outOfOrder: number
  /** ms the server took to write the whole burst into its socket(s). */
  serverSendMs: number
}

export type BurstKind = 'calls' | 'chat'

export interface BurstResult {
  kind: BurstKind
  comparator: Comparator
  tabs: number
  frames: number
  /** Median over the runs. */
  framesPerSecond: number
  runs: BurstRun[]
}

type Party = Tabs & { runs: BurstRun[] }

export const burstComparators: Record<BurstKind, Comparator[]> = {
  calls: ['callhub', 'leader-tab', 'relay'],
  chat: ['callhub', 'leader-tab', 'per-tab', 'relay'],
}

/**
 * `tabs`: `burstTabs` tabs of each comparator of either kind, with `modal: false` (the burst measures
 * delivery, and 10,000 dialogs would measure layout instead). (c) runs in them first, then (h) opens the
 * chat in every tab and runs in them too.
 */
export async function measureBurst(env: BenchEnv, kind: BurstKind, tabs: readonly Tabs[]): Promise<BurstResult[]> {
  const { plan, api, sends } = env
  const parties: Party[] = tabs.filter((party) => burstComparators[kind].includes(party.comparator)).map((party) => ({ ...party, runs: [] }))
  if (kind === 'chat') await openChat(env, parties)

  async function burst(party: Party, run: number): Promise<void> {
    const key = comparatorUsers[party.comparator].profileKey
    const prefix = `${kind === 'calls' ? 'b' : 'c'}${tags[party.comparator]}${run % 10}`
    const count = kind === 'calls' && party.comparator === 'leader-tab' ? plan.leaderTabBurstFrames : plan.burstFrames
    const ids = Array.from({ length: count }, (_, seq) => callId(prefix, seq))
    const frames = ids.map(kind === 'calls' ? invitationFrame : chatFrame)
    const sockets = await sends.socketsOf(api, key)
    await Promise.all(party.tabs.map((tab) => tab.evaluate(([prefix, total]) => window.benchProbe.expectBurst(prefix, total), [prefix, ids.length] as const)))
    const done = party.tabs.map((tab) => tab.evaluate((stall) => window.benchProbe.burstDone(stall), STALL_MS))
    const writeStart = now()
    for (const frame of frames) for (const socket of sockets) socket.send(frame)
    const serverSendMs = now() - writeStart
    const reports = await within(600_000, `${party.comparator}: a burst of ${ids.length} frames`, Promise.all(done))
    const lastArrival = Math.max(...reports.map((report) => report.lastAt ?? Number.NaN))
    const received = reports.reduce((sum, report) => sum + report.received, 0)
    party.runs.push({
      framesPerSecond: received / reports.length / ((lastArrival - sends.sentAt(ids[0]!)!) / 1000),
      lost: party.tabs.length * ids.length - received,
      outOfOrder: reports.reduce((sum, report) => sum + report.outOfOrder, 0),
      serverSendMs,
    })
    if (kind === 'calls' && party.comparator !== 'relay') {
      // callhub keeps ringing calls until they end: end them, so the next burst starts from nothing.
      await Promise.all(party.tabs.map((tab) => tab.evaluate(([prefix, total]) => window.benchProbe.expectSettled(prefix, total), [prefix, ids.length] as const)))
      const ended = party.tabs.map((tab) => tab.evaluate(() => window.benchProbe.settledDone()))
      for (const id of ids) for (const socket of sockets) socket.send(cancelFrame(id))
      await within(120_000, `${party.comparator}: cancelling the burst`, Promise.all(ended))
    }
    sends.forget()
    console.log(`  ${kind === 'calls' ? '(c)' : '(h)'} ${party.comparator} burst ${run + 1}: ${Math.round(party.runs.at(-1)!.framesPerSecond)} frames/s`)
  }

  for (let run = 0; run < (kind === 'calls' ? plan.burstRepeats : plan.chatBurstRepeats); run += 1) {
    // Rotate who goes first, so no comparator always follows the same one.
    const order = parties.map((_, turn) => parties[(run + turn) % parties.length]!)
    for (const party of order) {
      if (kind === 'calls' && party.comparator === 'leader-tab' && run >= plan.leaderTabBursts) continue
      await burst(party, run)
    }
  }
  return parties.map((party): BurstResult => ({
    kind, comparator: party.comparator, tabs: party.tabs.length,
    frames: kind === 'calls' && party.comparator === 'leader-tab' ? plan.leaderTabBurstFrames : plan.burstFrames,
    framesPerSecond: median(party.runs.map((run) => run.framesPerSecond)), runs: party.runs,
  }))
}
