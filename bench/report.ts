/** The targets of issue 5, and the markdown the bench prints. */
import type { Plan } from './env'
import type { BurstResult } from './measure/burst'
import type { ClockCheck, LatencyResult } from './measure/latency'
import { LEAK_PER_ITEM, sameCounts } from './measure/memory'
import type { MemoryReading, MemoryResult } from './measure/memory'
import type { NewTabResult } from './measure/new-tab'
import type { BundleSize } from './measure/size'
import type { SocketsRow } from './measure/sockets'
import type { Comparator } from './site'
import { round } from './stats'
import type { Percentiles } from './stats'

export interface Results {
  plan: Plan
  environment: Record<string, string | number>
  sockets: SocketsRow[]
  latency: { results: LatencyResult[]; clock: ClockCheck }
  burst: BurstResult[]
  newTab: NewTabResult[]
  sizes: BundleSize[]
  memory: MemoryResult
}

export interface Target {
  target: string
  measured: string
  met: boolean
}

/** Bytes min+gzip allowed for the client and for the worker (6 kB). */
export const SIZE_LIMIT = 6_000

export function evaluateTargets(results: Results): Target[] {
  const latency = (comparator: Comparator) => results.latency.results.find((result) => result.comparator === comparator)!
  const [hub, perTab, relay] = [latency('callhub'), latency('per-tab'), latency('relay')]
  const burst = (comparator: Comparator) => results.burst.find((result) => result.comparator === comparator)!.framesPerSecond
  const targets: Target[] = []
  for (const kind of ['handler', 'visible'] as const) {
    const what = kind === 'handler' ? 'handler' : 'dialog visible'
    targets.push({
      target: `${what} p99 ≤ per-tab sockets' p99 (N = ${hub.tabs})`,
      measured: `${ms(hub[kind].p99)} vs ${ms(perTab[kind].p99)}`,
      met: hub[kind].p99 <= perTab[kind].p99,
    })
    targets.push({
      target: `${what} p99 ≤ 1.3 × raw relay's p99`,
      measured: `${ms(hub[kind].p99)} vs 1.3 × ${ms(relay[kind].p99)} = ${ms(1.3 * relay[kind].p99)} (${round(hub[kind].p99 / relay[kind].p99)}×)`,
      met: hub[kind].p99 <= 1.3 * relay[kind].p99,
    })
  }
  targets.push({
    target: 'burst throughput ≥ 0.8 × raw relay',
    measured: `${Math.round(burst('callhub'))} vs ${Math.round(burst('relay'))} frames/s (${round(burst('callhub') / burst('relay'))}×)`,
    met: burst('callhub') >= 0.8 * burst('relay'),
  })
  const burstsClean = results.burst.every((result) => result.runs.every((run) => run.lost === 0 && run.outOfOrder === 0))
  targets.push({ target: 'burst: no frame lost or reordered', measured: burstsClean ? 'none' : 'see (c)', met: burstsClean })
  for (const size of results.sizes) {
    targets.push({
      target: `${size.name} ≤ 6 kB min+gzip`,
      measured: `${size.gzipBytes} B`,
      met: size.gzipBytes <= SIZE_LIMIT,
    })
  }
  const { readings, secondHalves } = results.memory
  const start = readings[0]!
  const last = readings.at(-1)!
  const live = (reading: MemoryReading) => ({ ...reading.counters, MessagePort: reading.liveMessagePorts, Proxy: reading.liveProxies })
  targets.push({
    target: '(f) worker counters, live MessagePorts and Proxies back at baseline',
    measured: `${describeCounts(live(start))} → ${describeCounts(live(last))}`,
    met: sameCounts(live(last), live(start)),
  })
  const leaking = secondHalves.filter((half) => (half.growth[0]?.count ?? 0) >= LEAK_PER_ITEM * half.items)
  targets.push({
    target: `(f) no growth: no kind of object grows by ${LEAK_PER_ITEM} per cycle or call over the second half of a phase`,
    measured: secondHalves.map((half) => `${half.phase}: ${half.growth[0] ? `${half.growth[0].kind} +${half.growth[0].count}` : 'none'}`).join('; ') +
      `; heap ${kib(last.heapBytes - start.heapBytes)} start → end`,
    met: leaking.length === 0,
  })
  return targets
}

const ms = (value: number) => `${round(value, 1)} ms`
const kib = (bytes: number) => `${bytes >= 0 ? '+' : ''}${round(bytes / 1024, 1)} KiB`
const describeCounts = (counts: Record<string, number>) =>
  Object.entries(counts).map(([name, count]) => `${name} ${count}`).join(', ')

function table(head: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

const triple = (p: Percentiles) => `${round(p.p50, 1)} / ${round(p.p95, 1)} / ${round(p.p99, 1)}`

function memoryTable(memory: MemoryResult): string {
  const counters = Object.keys(memory.readings[0]?.counters ?? {})
  const readings = table(['when', 'heap KiB', ...counters, 'live MessagePorts', 'live Proxies', 'live objects'],
    memory.readings.map((reading) => [reading.label, round(reading.heapBytes / 1024, 1),
      ...counters.map((name) => reading.counters[name] ?? '–'), reading.liveMessagePorts, reading.liveProxies, reading.liveObjects]))
  const growth = memory.secondHalves.map((half) => `second half of the ${half.phase} (${half.items}): ` +
    (half.growth.length === 0 ? 'no kind of object grew' : half.growth.map((entry) => `${entry.kind} +${entry.count}`).join(', ')))
  return [readings, ...growth].join('\n\n')
}

export function renderMarkdown(results: Results, targets: Target[]): string {
  const { plan } = results
  const sections = [
    `# callhub bench (${plan.mode}${plan.mode === 'quick' ? ': small N, not the targets\' N' : ''})`,
    Object.entries(results.environment).map(([name, value]) => `${name}: ${value}`).join(' · '),
    '## (a) Sockets on the server',
    table(['tabs', 'callhub', 'per-tab sockets', 'per-tab + chat widget'],
      results.sockets.map((row) => [row.tabs, row.callhub, row.perTab, row.perTabWithChat])),
    `## (b) Fan-out latency, ms from the server's send (p50 / p95 / p99), ${results.latency.results[0]?.tabs} tabs, ${plan.latencyRounds} calls each`,
    table(['comparator', 'handler, every tab', 'handler, last tab', 'dialog rendered', 'samples'],
      results.latency.results.map((result) => [result.comparator, triple(result.handler), triple(result.lastTab), triple(result.visible), result.handler.samples])),
    `Clocks: every page reading fell within ${round(results.latency.clock.worstOutside, 2)} ms of the bench's bracket (${results.latency.clock.samples} samples).`,
    `## (c) Burst: ${plan.burstFrames} frames to ${results.burst[0]?.tabs} tabs (no dialog)`,
    table(['comparator', 'frames/s (median)', 'deliveries/s', 'runs (frames/s)', 'lost', 'out of order', 'server write ms'],
      results.burst.map((result) => [
        result.comparator, Math.round(result.framesPerSecond), Math.round(result.framesPerSecond * result.tabs),
        result.runs.map((run) => Math.round(run.framesPerSecond)).join(', '),
        result.runs.reduce((sum, run) => sum + run.lost, 0), result.runs.reduce((sum, run) => sum + run.outOfOrder, 0),
        result.runs.map((run) => Math.round(run.serverSendMs)).join(', '),
      ])),
    `## (d) New tab to \`open\`, ms (p50 / p95 / p99), ${plan.newTabRepeats} tabs each`,
    table(['comparator', 'from navigation start', 'from domInteractive'],
      results.newTab.map((result) => [result.comparator === 'callhub' ? 'callhub (hub already connected)' : 'per-tab socket (/api/me + connect)', triple(result.fromNavigation), triple(result.fromInteractive)])),
    '## (e) Size of the built files, bytes (`dist/`; the ESM entry bundled with Comlink and minified as an app ships it; gzip -9)',
    table(['file', 'min', 'min+gzip', 'min+gzip without Comlink'],
      results.sizes.map((size) => [`${size.name} (${size.file})`, size.minBytes, size.gzipBytes, size.gzipBytesWithoutComlink])),
    results.sizes.map((size) => `Largest in the ${size.name}, minified: ` +
      size.largestSources.map((source) => `${source.path} ${source.minBytes}`).join(', ')).join('\n\n'),
    `## (f) Worker memory (${results.memory.cycles} tab cycles, then ${results.memory.calls} calls)`,
    memoryTable(results.memory),
    '## Targets',
    table(['target', 'measured', 'met'], targets.map((target) => [target.target, target.measured, target.met ? 'yes' : '**no**'])),
  ]
  return sections.join('\n\n') + '\n'
}
