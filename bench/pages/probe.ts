/**
 * The probe: installed by an init script in every bench page, before the page's own scripts run, so that
 * callhub and its comparators are timed by the same code on the same clock.
 *
 * A page reports what happened (`invitation`, `message`, `settled`, `opened`); the bench process reads the
 * records. On callhub's demo pages the probe hooks `window.callHub` as the demo assigns it, before the demo
 * adds listeners of its own.
 *
 * In the Chromium bench it is an init script; for the other engines (WebDriver classic has no init
 * scripts) the engine pages load it as a classic script in their head, which also runs before the page's
 * module script.
 */
import type { CallHub, CallHubOptions, HubSocket } from '../../client'
import { chatIdOf } from '../frames'

/** Epoch milliseconds at sub-millisecond resolution: the clock every bench timestamp uses. */
const now = (): number => performance.timeOrigin + performance.now()

export interface CallRecord {
  /** The call id of an invitation, or the id of a chat message. */
  id: string
  /** When the page's invitation (or message) handler ran. */
  handlerAt: number
  /** When the first frame that shows the call's dialog had been rendered; null without a dialog, and for messages. */
  visibleAt: number | null
}

export interface BurstReport {
  received: number
  /** Frames older than one already received (reordered or doubled); losses show in `received`. */
  outOfOrder: number
  /** When the last frame arrived. */
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
  /** A frame that is not a call frame reached the page's message handler (chat ids are read off the text). */
  message(text: string): void
  settled(callLogId: string): void
  /** The page's connection is open (callhub: status `open`; per-tab: socket open; relay: relay ready). */
  opened(): void
  /** Resolves once the call's (or message's) handler ran and, with a dialog, the dialog has been rendered. */
  shown(id: string): Promise<void>
  ended(callLogId: string): Promise<void>
  whenOpen(): Promise<OpenReport>
  /** Returns and forgets the call records. */
  takeRecords(): CallRecord[]
  /** Counts invitations or messages `${prefix}${seq}` for seq 0…total-1 instead of recording each. */
  expectBurst(prefix: string, total: number): void
  burst(): BurstReport
  /**
   * Resolves once every frame of the expected burst has arrived, or once none has arrived for `stallMs`
   * (frames were lost: the report says how many arrived).
   */
  burstDone(stallMs: number): Promise<BurstReport>
  /** Counts settled calls `${prefix}…` from now on instead of recording each. */
  expectSettled(prefix: string, count: number): void
  /** Resolves once `count` calls of the expected prefix have settled. */
  settledDone(): Promise<void>
  /**
   * Opens the page's chat: the old design's widget opens a socket of its own (per-tab pages); on callhub's
   * pages chat code takes `hub.socket()`, as the demo's widget does.
   */
  openChat?: () => void
  closeChat?: () => void
  /** Whether this page holds an open WebSocket (only where SharedWorker was removed: finds the leader tab). */
  ownsSocket?: () => boolean
}

export interface BenchWindow {
  /** Null on comparator pages: they run no hub, but the engine drivers wait for `callHub` to be defined. */
  callHub?: CallHub | null
  callHubOptions?: CallHubOptions
  benchProbe?: Probe
  /**
   * Set by the engine pages: record handlers without waiting for a rendered frame. Shipped browsers give
   * background tabs no animation frames, so the wait would never end there.
   */
  benchHandlerOnly?: boolean
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
    records.set(record.id, record)
    shownWaiters.get(record.id)?.()
    shownWaiters.delete(record.id)
  }

  /** Counts one frame of the expected burst; false when the id is not the burst's. */
  function burstArrival(id: string, at: number): boolean {
    if (burst === null || !id.startsWith(burst.prefix)) return false
    const seq = Number(id.slice(burst.prefix.length))
    burst.received += 1
    // A gap is a loss (counted from `received`); a frame older than one already seen was reordered or doubled.
    if (seq < burst.next) burst.outOfOrder += 1
    burst.next = Math.max(burst.next, seq + 1)
    burst.lastAt = at
    if (burst.received === burst.total) burst.done()
    return true
  }

  const probe: Probe = {
    invitation(callLogId) {
      const handlerAt = now()
      if (burstArrival(callLogId, handlerAt)) return
      if (page.callHubOptions?.modal === false || page.benchHandlerOnly === true) return complete({ id: callLogId, handlerAt, visibleAt: null })
      afterNextFrame(() => complete({ id: callLogId, handlerAt, visibleAt: dialogOf(callLogId)?.isConnected ? now() : null }))
    },
    message(text) {
      const handlerAt = now()
      const id = chatIdOf(text)
      if (id === null || burstArrival(id, handlerAt)) return
      complete({ id, handlerAt, visibleAt: null })
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
    shown(id) {
      if (records.has(id)) return Promise.resolve()
      return new Promise((resolve) => shownWaiters.set(id, resolve))
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
    burstDone(stallMs) {
      const current = burst
      if (current === null) return Promise.reject(new Error('[bench] no burst expected'))
      if (current.received === current.total) return Promise.resolve(probe.burst())
      return new Promise((resolve) => {
        // Checked on a slow interval rather than a timer reset per frame, which would cost every frame.
        let seen = current.received
        let quietSince = now()
        const watch = setInterval(() => {
          if (current.received !== seen) {
            seen = current.received
            quietSince = now()
          } else if (now() - quietSince > stallMs) finish()
        }, 250)
        const finish = () => {
          clearInterval(watch)
          resolve(probe.burst())
        }
        current.done = finish
      })
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
  let hub: CallHub | null | undefined
  Object.defineProperty(page, 'callHub', {
    configurable: true,
    get: () => hub,
    set(value: CallHub | null) {
      hub = value
      if (value === null) return
      value.on('invitation', (invitation) => probe.invitation(String(invitation.callLogId)))
      value.on('settled', (settled) => probe.settled(String(settled.callLogId)))
      // The message handler the bench times. Listening also tells the host to send this tab messages.
      value.on('message', (text) => probe.message(text))
      value.subscribe((status) => {
        if (status.type === 'open') probe.opened()
      })
      let chat: HubSocket | null = null
      probe.openChat = () => {
        chat ??= value.socket()
      }
      probe.closeChat = () => {
        chat?.close()
        chat = null
      }
    },
  })
}

/**
 * Where SharedWorker was removed, one tab (the leader) owns the profile's socket: the probe notes the
 * WebSockets this page opens so the bench can tell which tab that is. A subclass keeps WebSocket's
 * constants and behaviour; other comparators' pages keep the browser's own.
 */
function trackSockets(page: typeof globalThis, probe: Probe): void {
  const open = new Set<WebSocket>()
  page.WebSocket = class TrackedWebSocket extends page.WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      open.add(this)
      this.addEventListener('close', () => open.delete(this))
    }
  }
  probe.ownsSocket = () => [...open].some((socket) => socket.readyState === WebSocket.OPEN)
}

const page = window as unknown as BenchWindow
page.benchProbe = installProbe(page)
hookCallHub(page, page.benchProbe)
if (typeof SharedWorker === 'undefined') trackSockets(globalThis, page.benchProbe)
