/**
 * (f) The worker's memory and counters: at its start (one tab attached), after tabs opened and closed one
 * by one, and after calls rang and ended. Each phase is read halfway too: a leak keeps growing through the
 * second half, while one-off costs (code compiled on first use, the worker's bounded memory of settled
 * calls) are paid in the first.
 */
import { comparatorUsers, openTabs } from '../browser'
import { attachToSharedWorker, connectCdp } from '../cdp'
import type { WorkerCounters, WorkerSession } from '../cdp'
import type { BenchEnv } from '../env'
import { callId, cancelFrame, invitationFrame } from '../frames'
import { pollUntil, within } from '../wait'

export interface MemoryReading {
  label: string
  heapBytes: number
  /** `self.callhubCounters()` in the worker. */
  counters: WorkerCounters
  /** Live objects in a heap snapshot: the worker's MessagePorts, JS Proxies (Comlink's), and all it made. */
  liveMessagePorts: number
  liveProxies: number
  liveObjects: number
}

export interface PhaseGrowth {
  phase: 'tab cycles' | 'calls'
  /** Cycles or calls in the second half of the phase. */
  items: number
  /** The kinds of object whose count grew most over the second half, with their growth. */
  growth: Array<{ kind: string; count: number }>
}

export interface MemoryResult {
  cycles: number
  calls: number
  readings: MemoryReading[]
  secondHalves: PhaseGrowth[]
}

/** A kind of object that grows by this much per cycle or call over a second half is leaking. */
export const LEAK_PER_ITEM = 0.5

export async function measureMemory(env: BenchEnv): Promise<MemoryResult> {
  const { plan, site, api } = env
  const key = comparatorUsers.callhub.profileKey
  // No dialog in the pages: the calls come thousands at a time, and only the worker is measured here.
  const context = await env.context('callhub', { modal: false })
  const cdp = await connectCdp(env.debuggingPort)
  let worker: WorkerSession | null = null
  try {
    const [anchor] = await openTabs(context, site.paths.callhub, 1)
    await pollUntil('callhub socket', () => api.connections(key), (count) => count === 1)
    worker = await attachToSharedWorker(cdp, '/assets/entry')
    const session = worker
    const readings: MemoryReading[] = []
    const objects: Array<Map<string, number>> = []
    const read = async (label: string) => {
      const counters = await session.counters()
      const heap = await session.heap()
      const named = (name: string) => [...heap.objects].filter(([kind]) => kind.endsWith(`:${name}`)).reduce((sum, [, count]) => sum + count, 0)
      readings.push({
        label, heapBytes: heap.usedBytes, counters,
        liveMessagePorts: named('MessagePort'), liveProxies: named('Proxy'),
        liveObjects: [...heap.objects.values()].reduce((sum, count) => sum + count, 0),
      })
      objects.push(heap.objects)
      console.log(`  (f) ${label}: ${Math.round(heap.usedBytes / 1024)} KiB, counters ${JSON.stringify(counters)}`)
    }
    const baseline = await session.counters()
    const backAtBaseline = (what: string) => pollUntil(what, () => session.counters(), (counters) => sameCounts(counters, baseline))
    await read('start')

    const halfCycles = Math.floor(plan.memoryCycles / 2)
    for (let cycle = 1; cycle <= plan.memoryCycles; cycle += 1) {
      const [tab] = await openTabs(context, site.paths.callhub, 1)
      await tab!.close()
      if (cycle === halfCycles || cycle === plan.memoryCycles) {
        await backAtBaseline('tabs to detach')
        await read(`${cycle} tab cycles`)
      }
    }

    const halfCalls = Math.floor(plan.memoryCalls / 2)
    for (const [from, to] of [[0, halfCalls], [halfCalls, plan.memoryCalls]] as const) {
      const ids = Array.from({ length: to - from }, (_, index) => callId('mh', from + index))
      await anchor!.evaluate(([count]) => window.benchProbe.expectSettled('mh', count), [ids.length] as const)
      const ended = anchor!.evaluate(() => window.benchProbe.settledDone())
      await api.sendAll(key, ids.flatMap((id) => [invitationFrame(id), cancelFrame(id)]))
      await within(120_000, `${ids.length} calls to ring and end`, ended)
      await backAtBaseline('calls to end')
      await read(`${to} calls`)
    }
    return {
      cycles: plan.memoryCycles, calls: plan.memoryCalls, readings,
      secondHalves: [
        { phase: 'tab cycles', items: plan.memoryCycles - halfCycles, growth: topGrowth(objects[1]!, objects[2]!) },
        { phase: 'calls', items: plan.memoryCalls - halfCalls, growth: topGrowth(objects[3]!, objects[4]!) },
      ],
    }
  } finally {
    await worker?.detach().catch(() => {})
    cdp.close()
    await context.close()
  }
}

function topGrowth(before: Map<string, number>, after: Map<string, number>): PhaseGrowth['growth'] {
  return [...after]
    .map(([kind, count]) => ({ kind, count: count - (before.get(kind) ?? 0) }))
    .filter((entry) => entry.count > 0)
    .sort((a, b) => b.count - a.count)
    .slice(0, 5)
}

export function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...names].every((name) => a[name] === b[name])
}
