/**
 * The probe: installed by an init script in every bench page, before the page's own scripts run, so that
 * callhub and its comparators are timed by the same code on the same clock.
 *
 * A page reports what happened (`invitation`, `settled`, `opened`); the bench process reads the records.
 * On callhub's demo pages the probe hooks `window.callHub` as the demo assigns it, before the demo adds
 * listeners of its own.
 */
import type { CallHub, CallHubOptions } from '../../client'

/** Epoch milliseconds at sub-millisecond resolution: the clock every bench timestamp uses. */
const now = (): number => performance.timeOrigin + performance.now()

export interface CallRecord {
  callLogId: string
  /** When the page's invitation handler ran. */
  handlerAt: number
  /** When the first frame that shows the call's dialog had been rendered; null without a dialog. */
  visibleAt: number | null
}

export interface BurstReport {
  received: number
  /** Frames that did not carry the next expected sequence number (a loss or a reordering). */
  outOfOrder: number
  lastAt: number | null
}

export interface OpenReport {
  /** ms from navigation start to the first `open`. */
  fromNavigation: number
  /** ms from `domInteractive` (just before module scripts run) to the first `open`. */
  fromInteractive: number
}

export interface Probe {
  invitation(callLogId: string): void
  settled(callLogId: string): void
  /** The page's connection is open (callhub: status `open`; per-tab: socket open; relay: relay ready). */
  opened(): void
  /** Resolves once the call's handler ran and, with a dialog, the dialog has been rendered. */
  shown(callLogId: string): Promise<void>
  ended(callLogId: string): Promise<void>
  whenOpen(): Promise<OpenReport>
  /** Returns and forgets the call records. */
  takeRecords(): CallRecord[]
  /** Counts invitations `${prefix}${seq}` for seq 0…total-1 instead of recording each. */
  expectBurst(prefix: string, total: number): void
  burst(): BurstReport
  /** Resolves once every frame of the expected burst has arrived. */
  burstDone(): Promise<BurstReport>
  /** Counts settled calls `${prefix}…` from now on instead of recording each. */
  expectSettled(prefix: string, count: number): void
  /** Resolves once `count` calls of the expected prefix have settled. */
  settledDone(): Promise<void>
  /** The old design's chat widget, which opens a socket of its own (per-tab pages only). */
  openChat?: () => void
  closeChat?: () => void
}

export interface BenchWindow {
  callHub?: CallHub
  callHubOptions?: CallHubOptions
  benchProbe?: Probe
}

function installProbe(page: BenchWindow): Probe {
  const records = new Map<string, CallRecord>()
  const shownWaiters = new Map<string, () => void>()
  const settledCalls = new Set<string>()
  const endedWaiters = new Map<string, () => void>()
  let settledCount: { prefix: string; remaining: number; done: () => void } | null = null
  let burst: {
    prefix: string; total: number; next: number; received: number; outOfOrder: number; lastAt: number | null; done: () => void
  } | null = null
  let openAt: number | null = null
  let openWaiter: (() => void) | null = null

  function dialogOf(callLogId: string): HTMLElement | null {
    const root = document.querySelector('callhub-dialogs')?.shadowRoot
    return root?.querySelector<HTMLElement>(`[role="dialog"][data-call-log-id="${CSS.escape(callLogId)}"]`) ?? null
  }

  /** Runs `then` after the next rendering opportunity: a task posted from rAF runs once that frame is done. */
  function afterNextFrame(then: () => void): void {
    requestAnimationFrame(() => {
      const channel = new MessageChannel()
      channel.port1.onmessage = () => then()
      channel.port2.postMessage(null)
    })
  }

  function complete(record: CallRecord): void {
    records.set(record.callLogId, record)
    shownWaiters.get(record.callLogId)?.()
    shownWaiters.delete(record.callLogId)
  }

  const probe: Probe = {
    invitation(callLogId) {
      const handlerAt = now()
      if (burst !== null && callLogId.startsWith(burst.prefix)) {
        const seq = Number(callLogId.slice(burst.prefix.length))
        burst.received += 1
        if (seq !== burst.next) burst.outOfOrder += 1
        burst.next = seq + 1
        if (burst.received === burst.total) {
          burst.lastAt = handlerAt
          burst.done()
        }
        return
      }
      if (page.callHubOptions?.modal === false) return complete({ callLogId, handlerAt, visibleAt: null })
      afterNextFrame(() => complete({ callLogId, handlerAt, visibleAt: dialogOf(callLogId)?.isConnected ? now() : null }))
    },
    settled(callLogId) {
      if (settledCount !== null && callLogId.startsWith(settledCount.prefix)) {
        settledCount.remaining -= 1
        if (settledCount.remaining === 0) settledCount.done()
        return
      }
      const waiter = endedWaiters.get(callLogId)
      endedWaiters.delete(callLogId)
      if (waiter) waiter()
      else settledCalls.add(callLogId)
    },
    opened() {
      if (openAt !== null) return
      openAt = performance.now()
      openWaiter?.()
    },
    shown(callLogId) {
      if (records.has(callLogId)) return Promise.resolve()
      return new Promise((resolve) => shownWaiters.set(callLogId, resolve))
    },
    ended(callLogId) {
      if (settledCalls.delete(callLogId)) return Promise.resolve()
      return new Promise((resolve) => endedWaiters.set(callLogId, resolve))
    },
    async whenOpen() {
      if (openAt === null) await new Promise<void>((resolve) => (openWaiter = resolve))
      const [navigation] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[]
      const interactive = navigation?.domInteractive ?? 0
      return { fromNavigation: openAt!, fromInteractive: openAt! - interactive }
    },
    takeRecords() {
      const taken = [...records.values()]
      records.clear()
      return taken
    },
    expectBurst(prefix, total) {
      burst = { prefix, total, next: 0, received: 0, outOfOrder: 0, lastAt: null, done: () => {} }
    },
    burst() {
      const { received = 0, outOfOrder = 0, lastAt = null } = burst ?? {}
      return { received, outOfOrder, lastAt }
    },
    burstDone() {
      const current = burst
      if (current === null) return Promise.reject(new Error('[bench] no burst expected'))
      if (current.received === current.total) return Promise.resolve(probe.burst())
      return new Promise((resolve) => (current.done = () => resolve(probe.burst())))
    },
    expectSettled(prefix, count) {
      settledCount = { prefix, remaining: count, done: () => {} }
    },
    settledDone() {
      const current = settledCount
      if (current === null) return Promise.reject(new Error('[bench] no settled calls expected'))
      if (current.remaining <= 0) return Promise.resolve()
      return new Promise((resolve) => (current.done = resolve))
    },
  }
  return probe
}

/** On callhub's pages: attach the probe's listeners to the hub the moment the demo assigns it. */
function hookCallHub(page: BenchWindow, probe: Probe): void {
  let hub: CallHub | undefined
  Object.defineProperty(page, 'callHub', {
    configurable: true,
    get: () => hub,
    set(value: CallHub) {
      hub = value
      value.on('invitation', (invitation) => probe.invitation(String(invitation.callLogId)))
      value.on('settled', (settled) => probe.settled(String(settled.callLogId)))
      value.subscribe((status) => {
        if (status.type === 'open') probe.opened()
      })
    },
  })
}

const page = window as unknown as BenchWindow
page.benchProbe = installProbe(page)
hookCallHub(page, page.benchProbe)
