/**
 * (f) The worker's memory and counters: at its start (one tab attached), after tabs opened and closed
 * one by one, and after calls rang and ended; each phase is read halfway too, so that a leak (growth
 * that keeps going) is told apart from a one-off cost (code compiled on first use, bounded caches).
 */
import { openTabs } from '../browser'
import { attachToSharedWorker, connectCdp } from '../cdp'
import type { WorkerCounters, WorkerSession } from '../cdp'
import type { BenchEnv } from '../env'
import { callId, cancelFrame, invitationFrame } from '../frames'
import { comparatorUsers } from '../browser'
import { pollUntil, within } from '../wait'

/** Heap snapshot names that stand for a tab's resources in the worker: its ports and Comlink's proxies. */
const COUNTED = ['MessagePort', 'Proxy'] as const

export interface MemoryReading {
  label: string
  heapBytes: number
  counters: WorkerCounters
  ports: number
  proxies: number
}

export interface MemoryResult {
  cycles: number
  calls: number
  readings: MemoryReading[]
}

export async function measureMemory(env: BenchEnv): Promise<MemoryResult> {
  const { plan, site, api } = env
  const key = comparatorUsers.callhub.profileKey
  // No dialog in the pages: the calls come ten thousand at a time, and only the worker is measured here.
  const context = await env.context('callhub', { modal: false })
  const cdp = await connectCdp(env.debuggingPort)
  let worker: WorkerSession | null = null
  try {
    const [anchor] = await openTabs(context, site.paths.callhub, 1)
    await pollUntil('callhub socket', () => api.connections(key), (count) => count === 1)
    worker = await attachToSharedWorker(cdp, '/assets/entry')
    const session = worker
    const readings: MemoryReading[] = []
    const read = async (label: string) => {
      const counters = await session.counters()
      const heap = await session.heap(COUNTED)
      readings.push({ label, heapBytes: heap.usedBytes, counters, ports: heap.objects.MessagePort ?? 0, proxies: heap.objects.Proxy ?? 0 })
      console.log(`  (f) ${label}: ${Math.round(heap.usedBytes / 1024)} KiB, ${JSON.stringify(counters)}, ports ${heap.objects.MessagePort}, proxies ${heap.objects.Proxy}`)
    }
    const baseline = await session.counters()
    const backAtBaseline = (what: string) =>
      pollUntil(what, () => session.counters(), (counters) => counters.tabs === baseline.tabs && counters.ringing === baseline.ringing)
    await read('start')

    for (let cycle = 1; cycle <= plan.memoryCycles; cycle += 1) {
      const [tab] = await openTabs(context, site.paths.callhub, 1)
      await tab!.close()
      if (cycle === plan.memoryCycles / 2 || cycle === plan.memoryCycles) {
        await backAtBaseline('tabs to detach')
        await read(`${cycle} tab cycles`)
      }
    }

    const half = Math.ceil(plan.memoryCalls / 2)
    for (const [from, to] of [[0, half], [half, plan.memoryCalls]] as const) {
      const ids = Array.from({ length: to - from }, (_, index) => callId('mh', from + index))
      const ended = anchor!.evaluate(([count]) => window.benchProbe.expectSettled('mh', count), [ids.length] as const)
      await api.sendAll(key, ids.flatMap((id) => [invitationFrame(id), cancelFrame(id)]))
      await within(120_000, `${ids.length} calls to ring and end`, ended)
      await backAtBaseline('calls to end')
      await read(`${to} calls`)
    }
    return { cycles: plan.memoryCycles, calls: plan.memoryCalls, readings }
  } finally {
    await worker?.detach().catch(() => {})
    cdp.close()
    await context.close()
  }
}
