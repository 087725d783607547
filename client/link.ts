/**
 * The tab's link to the host that runs its hub: one union, changed in one function (`setLink`), which also
 * lets go of whatever the state it leaves held (a connection, a timer, a lock wait). Every call through it
 * settles: with the host's answer, `HubTimeoutError`, `HubWorkerLostError` when the host dies, or
 * `HubClosedError` after `close()`.
 */
import { HubClosedError, HubTimeoutError, HubWorkerLostError, TabNotAttachedError, fromWire } from '../protocol/errors'
import type { Outcome } from '../protocol/errors'
import type { AttachRequest, Attached, HubApi, HubEvent } from '../protocol/port'
import { retryDelay } from '../core/backoff'
import type { Clock, Timer } from '../core/connection'
import { TAB_PING_INTERVAL } from '../core/limits'
import type { Locks } from '../core/host'

/** What the link can ask of a host once connected: every request but `attach`, which the connection binds. */
export type HostCalls = Omit<HubApi, 'attach'>

/** One attempt at reaching a host (a shared worker started for it, say). */
export interface HostConnection {
  calls: HostCalls
  /** Attaches this tab; the host's events then reach the `deliver` the connection was made with. */
  attach(request: AttachRequest): Promise<Outcome<Attached>>
  /** Settles with a reason if the host cannot start (its script failed to load); never rejects. */
  failed: Promise<string>
  dispose(): void
}

export type Connector = (deliver: (events: HubEvent[]) => void) => HostConnection | Promise<HostConnection>

export type LinkState =
  | { type: 'idle' }
  | { type: 'attaching'; since: number; attempt: number }
  | { type: 'attached'; hostId: string; since: number }
  /** The host died, or did not answer: a new attempt starts at `retryAt`. */
  | { type: 'lost'; attempt: number; retryAt: number; reason: string }
  /** The host cannot run here (its script failed to load): the caller decides what runs instead. */
  | { type: 'failed'; reason: string }
  | { type: 'closed' }

export interface LinkOptions {
  connect: Connector
  /** The request for each attach, read at the time: identity, presence and the calls the tab shows now. */
  attachRequest: () => AttachRequest
  onEvents: (events: HubEvent[]) => void
  onState: (state: LinkState) => void
  /** @default 5000 */
  requestTimeout?: number
  /** Null without Web Locks: the link then pings its host to learn that it lives. */
  locks: Locks | null
  /** Settles once this tab holds its own liveness lock (`holdTabLock`): a host must not attach it before. */
  tabLockHeld: Promise<void>
  log?: (line: string) => void
  /** @default the real clock */
  clock?: Clock
  /** @default Math.random */
  random?: () => number
}

const realClock: Clock = { now: () => Date.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (timer) => clearTimeout(timer) }

/**
 * The tab holds a Web Lock named for itself for its whole life; hosts wait for it to learn that the tab is
 * gone, since Chromium fires no MessagePort close event (whatwg/html#1766). One per page, whatever links
 * (a shared worker's, then a tab host's) it goes through.
 */
export function holdTabLock(locks: Locks | null, tabId: string, log: (line: string) => void): { held: Promise<void>; release: () => void } {
  let release = () => {}
  if (locks === null) return { held: Promise.resolve(), release }
  const held = new Promise<void>((resolve) => {
    locks
      .request(`callhub:tab:${tabId}`, {}, () => {
        resolve()
        return new Promise<void>((done) => {
          release = done
        })
      })
      .catch((error: unknown) => {
        log(`could not take this tab's Web Lock (${String(error)}): hosts will not notice this tab's death`)
        resolve()
      })
  })
  return { held, release: () => release() }
}

export interface Link {
  readonly state: LinkState
  /** Starts attaching if idle (a profile appeared); does nothing otherwise. */
  start(): void
  /**
   * Runs one request on the host, waiting for the link to attach first. `extraTime` is added to the
   * timeout for requests that wait on the backend (an answer, a frame in the outbox).
   */
  call<T>(what: string, use: (calls: HostCalls) => Promise<Outcome<T>>, extraTime?: number): Promise<T>
  /** Detaches (best effort) and ends the link for good. */
  close(): void
}

export function createLink(options: LinkOptions): Link {
  const {
    connect, attachRequest, onEvents, onState, requestTimeout = 5_000, locks, tabLockHeld, log = () => {}, clock = realClock,
    random = Math.random,
  } = options
  let state: LinkState = { type: 'idle' }
  let connection: HostConnection | null = null
  let timer: Timer | null = null
  let watch: AbortController | null = null
  let losses = 0
  /** The link has been attached once: a host that never answered is taken for one that cannot start. */
  let everAttached = false
  const pending = new Set<(error: Error) => void>()
  const waiting = new Set<{ resolve: () => void; reject: (error: Error) => void }>()

  /** The one place the link changes: what the old state held is let go of here. */
  function setLink(next: LinkState): void {
    if (timer !== null) clock.clearTimeout(timer)
    timer = null
    watch?.abort()
    watch = null
    const keepsConnection = next.type === 'attached'
    if (!keepsConnection && connection !== null) {
      connection.dispose()
      connection = null
    }
    state = next
    // The one path that settles a call waiting to attach (besides its own deadline): a host never saw it.
    if (next.type === 'attached') for (const waiter of [...waiting]) waiter.resolve()
    if (next.type === 'failed' || next.type === 'closed') {
      const error = unusable(next)
      for (const waiter of [...waiting]) waiter.reject(error)
    }
    onState(next)
  }

  /** Why a call cannot run on a link that failed or closed: what the page is told, once. */
  function unusable(link: Extract<LinkState, { type: 'failed' | 'closed' }>): Error {
    return link.type === 'closed'
      ? new HubClosedError('[callhub] this hub was closed; call connectCallHub() again')
      : new HubWorkerLostError(`[callhub] the hub cannot run: ${link.reason}`)
  }

  function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error) => {
        clock.clearTimeout(deadline)
        pending.delete(fail)
        reject(error)
      }
      const deadline = clock.setTimeout(() => fail(new HubTimeoutError(`[callhub] the host did not answer ${what} within ${ms} ms`)), ms)
      pending.add(fail)
      work.then(
        (value) => {
          clock.clearTimeout(deadline)
          pending.delete(fail)
          resolve(value)
        },
        (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
      )
    })
  }

  function failPending(error: Error): void {
    for (const fail of [...pending]) fail(error)
  }

  async function attach(): Promise<void> {
    setLink({ type: 'attaching', since: clock.now(), attempt: losses })
    await tabLockHeld
    if (state.type !== 'attaching') return
    let current: HostConnection
    try {
      current = await connect((events) => {
        if (connection === current) onEvents(events)
      })
    } catch (error) {
      setLink({ type: 'failed', reason: `could not start the host: ${String(error)}` })
      return
    }
    if (state.type !== 'attaching') return current.dispose()
    connection = current
    void current.failed.then((reason) => {
      if (connection !== current) return
      failPending(new HubWorkerLostError(`[callhub] ${reason}`))
      setLink({ type: 'failed', reason })
    })
    let outcome: Outcome<Attached>
    try {
      outcome = await withTimeout('attach', requestTimeout, current.attach(attachRequest()))
    } catch (error) {
      if (connection !== current) return
      const reason = error instanceof Error ? error.message : String(error)
      if (!everAttached) return setLink({ type: 'failed', reason: `the host did not answer (${reason.replace(/^\[callhub\]\s*/, '')})` })
      lose(reason)
      return
    }
    if (connection !== current) return
    if (!outcome.ok) return lose(outcome.error.message)
    losses = 0
    everAttached = true
    setLink({ type: 'attached', hostId: outcome.value.hostId, since: clock.now() })
    watchHost(outcome.value, current)
  }

  /**
   * Learns that the host died: by its Web Lock where there are Web Locks, else by pinging it. Whatever moves
   * the link on aborts the watch and clears the ping timer (`setLink`), so a ping never outlives its connection.
   */
  function watchHost(attached: Attached, current: HostConnection): void {
    watch = new AbortController()
    const { signal } = watch
    if (locks !== null && attached.hostLock !== null) {
      locks.request(attached.hostLock, { signal }, () => {
        if (!signal.aborted) lose('the host is gone (its lock was released)', 0)
      }).catch(() => {
        // Aborted: the link moved on.
      })
      return
    }
    const ping = () => {
      withTimeout('ping', requestTimeout, current.calls.ping()).then(
        (outcome) => {
          if (signal.aborted) return
          if (outcome.ok && outcome.value.attached && outcome.value.hostId === attached.hostId) {
            timer = clock.setTimeout(ping, TAB_PING_INTERVAL)
          } else lose('the host restarted and forgot this tab', 0)
        },
        (error: unknown) => {
          if (!signal.aborted) lose(`the host stopped answering (${String(error)})`)
        },
      )
    }
    timer = clock.setTimeout(ping, TAB_PING_INTERVAL)
  }

  /** The host is gone or forgot this tab: fail what is pending and attach again, backing off while that fails. */
  function lose(reason: string, delay?: number): void {
    if (state.type === 'closed' || state.type === 'failed') return
    log(`lost the host: ${reason}`)
    failPending(new HubWorkerLostError(`[callhub] the host went away before it answered (${reason}); try again`))
    losses += 1
    // A host that dies at start must not be restarted in a tight loop.
    const wait = delay ?? (losses === 1 ? 0 : retryDelay(losses, random()))
    setLink({ type: 'lost', attempt: losses, retryAt: clock.now() + wait, reason })
    timer = clock.setTimeout(() => void attach(), wait)
  }

  /**
   * Waits for the link to attach. Only `setLink` (attached, failed, closed) or the wait's own deadline settles
   * it, never `failPending`: that is for requests a host was handed, and a lost host is attached again.
   */
  function ready(what: string, ms: number): Promise<void> {
    if (state.type === 'attached') return Promise.resolve()
    if (state.type === 'failed' || state.type === 'closed') return Promise.reject(unusable(state))
    if (state.type === 'idle') void attach()
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          done()
          resolve()
        },
        reject: (error: Error) => {
          done()
          reject(error)
        },
      }
      const done = () => {
        clock.clearTimeout(deadline)
        waiting.delete(waiter)
      }
      const deadline = clock.setTimeout(() => waiter.reject(new HubTimeoutError(`[callhub] the host did not answer ${what} within ${ms} ms`)), ms)
      waiting.add(waiter)
    })
  }

  return {
    get state() {
      return state
    },
    start() {
      if (state.type === 'idle') void attach()
    },
    async call(what, use, extraTime = 0) {
      await ready(`${what} (waiting to attach)`, requestTimeout * 2)
      const current = connection
      if (current === null) throw new HubWorkerLostError('[callhub] the host went away; try again')
      const outcome = await withTimeout(what, requestTimeout + extraTime, use(current.calls))
      if (outcome.ok) return outcome.value
      const error = fromWire(outcome.error)
      // A restarted host (WebKit re-runs a shared worker on the same ports) no longer knows this tab.
      if (error instanceof TabNotAttachedError && connection === current) lose('the host no longer knows this tab', 0)
      throw error
    },
    close() {
      if (state.type === 'closed') return
      const current = connection
      connection = null
      failPending(new HubClosedError('[callhub] the hub was closed before the host answered'))
      if (current !== null) {
        // Detach is a courtesy (the Web Lock is the truth): the connection goes once it is answered or late.
        withTimeout('detach', requestTimeout, current.calls.detach()).catch(() => {}).finally(() => current.dispose())
      }
      setLink({ type: 'closed' })
    },
  }
}
