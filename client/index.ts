/**
 * The page side of callhub: one import on every page.
 *
 *   const hub = connectCallHub()
 *   const off = hub.on('invitation', (call) => …)
 *
 * It resolves who is signed in, attaches the tab to the one SharedWorker, and renders the incoming-call
 * dialog. The worker owns the socket; this file never opens one.
 */
import { expose, releaseProxy, transfer, wrap } from 'comlink'
import type { Remote } from 'comlink'
import { callKey } from '../protocol'
import type {
  CallLogId, HubApi, HubEvent, HubSettings, Invitation, Presence, Settled, Status, TabEvents, TabIdentity,
} from '../protocol'
import { retryDelay } from '../worker/backoff'
import { createAttention } from './attention'
import type { Sound } from './attention'
import { createDialogLayer, defaultStrings } from './dialog'
import type { DialogLayer, DialogStrings } from './dialog'
import { identityKeys, resolveIdentity } from './identity'
import type { IdentityOptions } from './identity'
import { startSharedWorker } from './worker'
import type { WorkerSource } from './worker'

export type { CallLogId, Invitation, Settled, Status } from '../protocol'
export type { DialogStrings } from './dialog'
export type { Sound } from './attention'
export type { IdentityOptions, Me } from './identity'
export type { WorkerSource } from './worker'

export interface CallHubOptions extends IdentityOptions, HubSettings {
  /** Render the built-in dialog. `false` for apps that render their own from the events. @default true */
  modal?: boolean
  /** Replace any of the dialog's strings (localisation). */
  strings?: Partial<DialogStrings>
  /** Where the dialog's host element goes. @default document.body */
  container?: HTMLElement
  /** How long a call to the worker may take before it rejects with `HubTimeoutError`, in ms. @default 5000 */
  requestTimeout?: number
  /** A ringtone URL, or false for silence. Exactly one tab of a profile rings. @default a generated tone */
  ringtone?: string | false
  /** A system notification when no tab is visible, if the page already has permission (never asked). @default true */
  notifications?: boolean
  /** The worker script, for apps that serve `callhub/worker` themselves (see `WorkerSource`).
   * @default the `worker.js` beside this module, found by the app's bundler */
  worker?: WorkerSource
}

export interface CallHubEvents {
  status: Status
  invitation: Invitation
  settled: Settled
  /** A call rang out unanswered (also delivered as `settled` with reason `expired`). */
  missed: Invitation
}

export interface CallHub {
  /** The current status. */
  readonly status: Status
  /** Calls ringing now, oldest first. */
  readonly calls: Invitation[]
  /** This tab is the one that plays the ringtone (the focused visible tab, else the last one seen). */
  readonly ringsHere: boolean
  /** The ringtone in this tab: `blocked` when the browser refused autoplay (the dialog says how to fix it). */
  readonly sound: Sound
  /** Calls back at once with the current status, then on every change. Returns the unsubscribe. */
  subscribe(listener: (status: Status) => void): () => void
  /** Returns the unsubscribe. */
  on<E extends keyof CallHubEvents>(event: E, listener: (value: CallHubEvents[E]) => void): () => void
  /** Answers a ringing call; every other tab closes its dialog. Resolves with the invitation (its offer). */
  accept(callLogId: CallLogId): Promise<Invitation>
  decline(callLogId: CallLogId): Promise<void>
  /** Re-reads the identity (token, active role) now. */
  refresh(): Promise<void>
  /** Detaches this tab; its dialogs close. The hub cannot be reopened: call `connectCallHub` again. */
  close(): void
}

/** A call to the worker got no answer in time. */
export class HubTimeoutError extends Error {
  override name = 'HubTimeoutError'
}
/** The worker died (or was closed) while a call to it was pending; the hub starts a new one. */
export class HubWorkerLostError extends Error {
  override name = 'HubWorkerLostError'
}
/** The hub was closed with `close()`. */
export class HubClosedError extends Error {
  override name = 'HubClosedError'
}

interface Link {
  api: Remote<HubApi>
  /** The identity the worker last heard from this tab. */
  identity: TabIdentity
  port: MessagePort
  events: MessagePort
  /** Aborts the wait for the worker's lock when the link is dropped on purpose. */
  watch: AbortController
}

type Listener<T> = (value: T) => void

export function connectCallHub(options: CallHubOptions = {}): CallHub {
  const {
    modal = true, strings, container, requestTimeout = 5_000, getToken, getActiveRole, fetchMe, socketUrl, apiBase,
    linger, ringTimeout, retryBase, maxRetryDelay, pingAfter, pongTimeout, debug, ringtone, notifications, worker: workerSource,
  } = options
  const identityOptions: IdentityOptions = { getToken, getActiveRole, fetchMe, socketUrl, apiBase }
  const settings: HubSettings = { linger, ringTimeout, retryBase, maxRetryDelay, pingAfter, pongTimeout, debug }
  const tabId = crypto.randomUUID()
  const listeners: { [E in keyof CallHubEvents]: Set<Listener<CallHubEvents[E]>> } = {
    status: new Set(), invitation: new Set(), settled: new Set(), missed: new Set(),
  }
  const ringing = new Map<string, Invitation>()
  const pending = new Set<(error: Error) => void>()
  let status: Status = { type: 'connecting', attempt: 0, profileKey: null, tabs: 0, lastClose: null }
  let identity: TabIdentity = { type: 'signed-out' }
  let link: Link | null = null
  let linking: Promise<Link> | null = null
  let closed = false
  let resolving = 0
  let identityRetry: ReturnType<typeof setTimeout> | null = null
  let identityFailures = 0
  let workerLosses = 0
  const dialogs: DialogLayer | null = modal
    ? createDialogLayer({ onAccept: (id) => accept(id), onDecline: (id) => decline(id), strings, container })
    : null
  let ringer = false
  let anyVisible = true
  let sound: Sound = 'off'
  const attention = createAttention({
    ringtone,
    notifications,
    titleText: strings?.title ?? defaultStrings.title,
    notificationTitle: strings?.notification ?? defaultStrings.notification,
    onSound: (next) => {
      sound = next
      markRinging()
    },
  })

  function markRinging(): void {
    dialogs?.setRinging(ringer && ringing.size > 0, sound)
  }

  function updateAttention(): void {
    attention.update({ ringer, anyVisible, calls: ringing })
    markRinging()
  }

  const presence = (): Presence => ({ visible: document.visibilityState === 'visible', focused: document.hasFocus() })

  function emit<E extends keyof CallHubEvents>(event: E, value: CallHubEvents[E]): void {
    for (const listener of [...listeners[event]]) {
      try {
        listener(value)
      } catch (error) {
        console.error(`[callhub] a ${event} listener threw:`, error)
      }
    }
  }

  function setStatus(next: Status): void {
    status = next
    emit('status', next)
  }

  // Web Locks exist only in secure contexts (https, localhost); SharedWorker is missing in some browsers.
  const missing = typeof SharedWorker === 'undefined' ? 'SharedWorker' : navigator.locks === undefined ? 'Web Locks (https or localhost only)' : null

  // The tab holds a Web Lock named for itself for its whole life; the worker waits for it to learn that the
  // tab is gone, since Chromium fires no MessagePort close event (whatwg/html#1766).
  let releaseTabLock: () => void = () => {}
  const tabLockHeld = new Promise<void>((resolve, reject) => {
    if (missing !== null) return
    navigator.locks
      .request(`callhub:tab:${tabId}`, () => {
        if (closed) return reject(new HubClosedError('[callhub] the hub was closed before it attached'))
        resolve()
        return new Promise<void>((release) => {
          releaseTabLock = release
        })
      })
      .catch((error: unknown) => reject(new Error(`[callhub] could not take this tab's Web Lock: ${String(error)}`)))
  })
  tabLockHeld.catch(() => {
    // Reported by the attach that awaits it.
  })

  /** Every call to the worker settles: with its answer, a timeout, the worker's death, or `close()`. */
  function settleWithin<T>(what: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer)
        pending.delete(fail)
        reject(error)
      }
      const timer = setTimeout(() => {
        fail(new HubTimeoutError(`[callhub] the worker did not answer ${what} within ${requestTimeout} ms`))
      }, requestTimeout)
      pending.add(fail)
      call().then(
        (value) => {
          clearTimeout(timer)
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

  const tabEvents: TabEvents = {
    deliver(events: HubEvent[]) {
      if (closed) return
      for (const event of events) receive(event)
    },
  }

  function receive(event: HubEvent): void {
    if (event.type === 'snapshot') applySnapshot(event.status, event.calls)
    else if (event.type === 'status') {
      if (identity.type === 'profile') setStatus(event.status)
    } else if (event.type === 'invitation') ring(event.invitation)
    else if (event.type === 'settled') settle(event.settled)
    else if (event.type === 'ringer') {
      ringer = event.ringer
      anyVisible = event.anyVisible
      updateAttention()
    } else console.info(`[callhub worker] ${event.line}`)
  }

  /**
   * The worker ends calls, but a tab must not ring forever if the worker is gone for good (a deploy removed
   * its script): each call also ends here a little after its expiry.
   */
  const localExpiry = new Map<string, ReturnType<typeof setTimeout>>()
  const LOCAL_EXPIRY_GRACE = 5_000

  function ring(invitation: Invitation): void {
    const key = callKey(invitation.callLogId)
    if (ringing.has(key)) return
    ringing.set(key, invitation)
    if (invitation.expiresAt !== null) {
      const wait = Math.min(Math.max(0, invitation.expiresAt - Date.now()) + LOCAL_EXPIRY_GRACE, 2 ** 31 - 1)
      localExpiry.set(key, setTimeout(() => settle({ callLogId: invitation.callLogId, reason: 'expired', here: false, invitation }), wait))
    }
    dialogs?.show(invitation)
    updateAttention()
    emit('invitation', invitation)
  }

  function settle(settled: Settled): void {
    const key = callKey(settled.callLogId)
    clearTimeout(localExpiry.get(key))
    localExpiry.delete(key)
    if (!ringing.delete(key)) return
    dialogs?.settle(settled)
    updateAttention()
    emit('settled', settled)
    if (settled.reason === 'expired') emit('missed', settled.invitation)
  }

  function applySnapshot(snapshotStatus: Status, calls: Invitation[]): void {
    if (identity.type === 'profile') setStatus(snapshotStatus)
    const current = new Set(calls.map((call) => callKey(call.callLogId)))
    for (const invitation of [...ringing.values()]) {
      // The worker no longer knows this call (it was restarted, or the tab was asleep): as far as we
      // can tell, it ended.
      if (!current.has(callKey(invitation.callLogId))) {
        settle({ callLogId: invitation.callLogId, reason: 'ended', here: false, invitation })
      }
    }
    for (const invitation of calls) ring(invitation)
  }

  function dropLink(current: Link): void {
    if (link === current) link = null
    current.watch.abort()
    current.api[releaseProxy]()
    current.events.close()
    current.port.close()
  }

  async function openLink(): Promise<Link> {
    await tabLockHeld
    const worker = startSharedWorker(workerSource)
    const channel = new MessageChannel()
    expose(tabEvents, channel.port1)
    const request = { tabId, identity, online: navigator.onLine, presence: presence(), settings }
    const current: Link = {
      api: wrap<HubApi>(worker.port), identity, port: worker.port, events: channel.port1, watch: new AbortController(),
    }
    let attached: { workerLock: string }
    try {
      attached = await settleWithin('attach', () => current.api.attach(request, transfer(channel.port2, [channel.port2])))
    } catch (error) {
      dropLink(current)
      throw error
    }
    if (closed) {
      dropLink(current)
      throw new HubClosedError('[callhub] the hub was closed while it attached')
    }
    link = current
    workerLosses = 0
    navigator.locks
      .request(attached.workerLock, { signal: current.watch.signal }, () => workerLost(current))
      .catch(() => {
        // Aborted: this link was dropped on purpose.
      })
    return current
  }

  function workerLost(lost: Link): void {
    if (closed || link !== lost) return
    console.warn('[callhub] the shared worker is gone: starting a new one')
    dropLink(lost)
    failPending(new HubWorkerLostError('[callhub] the shared worker died before it answered; try again'))
    // The new worker elects a ringer again; until then this tab stays quiet.
    ringer = false
    updateAttention()
    relink()
  }

  /** Starts a worker and attaches again, backing off while that fails: a worker that dies at start must
   * not be restarted in a tight loop. */
  function relink(): void {
    workerLosses += 1
    if (identity.type === 'profile') {
      setStatus({ type: 'connecting', attempt: workerLosses, profileKey: status.profileKey, tabs: 0, lastClose: status.lastClose })
    }
    const delay = workerLosses === 1 ? 0 : retryDelay(workerLosses, Math.random())
    setTimeout(() => {
      if (closed || link !== null) return
      connectWorker().catch((error: unknown) => {
        if (closed) return
        console.warn(`[callhub] could not attach to the shared worker (${String(error)}); trying again`)
        relink()
      })
    }, delay)
  }

  function connectWorker(): Promise<Link> {
    if (link !== null) return Promise.resolve(link)
    linking ??= openLink().finally(() => {
      linking = null
    })
    return linking
  }

  async function refresh(): Promise<void> {
    if (closed) return
    const attempt = ++resolving
    if (identityRetry !== null) clearTimeout(identityRetry)
    identityRetry = null
    let resolved
    try {
      resolved = await resolveIdentity(identityOptions)
    } catch (error) {
      if (attempt !== resolving || closed) return
      identityFailures += 1
      const delay = retryDelay(identityFailures, Math.random())
      console.warn(`[callhub] could not resolve the signed-in user (${String(error)}); retrying in ${delay} ms`)
      identityRetry = setTimeout(() => void refresh(), delay)
      setStatus({ type: 'waiting', attempt: identityFailures, retryAt: Date.now() + delay, profileKey: null, tabs: 0, lastClose: null })
      return
    }
    if (attempt !== resolving || closed) return
    identityFailures = 0
    // A rejected token is, for the worker, a signed-out tab: it closes that profile's socket.
    identity = resolved.type === 'unauthorized' ? { type: 'signed-out' } : resolved
    if (identity.type !== 'profile') {
      if (resolved.type === 'unauthorized') setStatus({ ...resolved, profileKey: null, tabs: 0, lastClose: null })
      else if (resolved.type === 'signed-out') setStatus({ type: 'signed-out', profileKey: null, tabs: 0, lastClose: null })
      else if (resolved.type === 'no-profile') setStatus({ ...resolved, profileKey: null, tabs: 0, lastClose: null })
      if (resolved.type !== 'no-profile') dialogs?.clear()
      for (const invitation of [...ringing.values()]) settle({ callLogId: invitation.callLogId, reason: 'signed-out', here: false, invitation })
    }
    if (link === null && linking === null && identity.type !== 'profile') return
    if (missing !== null) {
      console.warn(`[callhub] this page has no ${missing}: incoming calls cannot be shown here`)
      setStatus({ type: 'closed', reason: `this browser has no ${missing}`, profileKey: null, tabs: 0, lastClose: null })
      return
    }
    try {
      const current = link ?? (await connectWorker())
      if (current.identity !== identity) {
        const next = identity
        await settleWithin('identify', () => current.api.identify(next))
        // Only once the worker has it: after a failure the next refresh sends it again.
        current.identity = next
      }
    } catch (error) {
      if (error instanceof HubWorkerLostError || closed) return
      console.warn(`[callhub] could not reach the shared worker (${String(error)}); trying again`)
      if (link === null) relink()
    }
  }

  async function call<T>(what: string, use: (api: Remote<HubApi>) => Promise<T>): Promise<T> {
    if (closed) throw new HubClosedError('[callhub] this hub was closed; call connectCallHub() again')
    if (link === null && (identity.type !== 'profile' || missing !== null)) {
      throw Object.assign(new Error('[callhub] no call rings in this tab: it has no connected profile'), { name: 'CallNotRingingError' })
    }
    const current = link ?? (await connectWorker())
    return settleWithin(what, () => use(current.api))
  }

  function accept(callLogId: CallLogId): Promise<Invitation> {
    return call('accept', (api) => api.accept(callLogId))
  }

  function decline(callLogId: CallLogId): Promise<void> {
    return call('decline', (api) => api.decline(callLogId))
  }

  const onStorage = (event: StorageEvent) => {
    if (event.key === null || identityKeys.includes(event.key)) void refresh()
  }
  const onIdentity = () => void refresh()
  const onNetwork = () => {
    const current = link
    if (current) void settleWithin('setOnline', () => current.api.setOnline(navigator.onLine)).catch(() => {})
  }
  const onPresence = () => {
    const current = link
    if (current) void settleWithin('setPresence', () => current.api.setPresence(presence())).catch(() => {})
  }
  const onPageHide = (event: PageTransitionEvent) => {
    // Only a hint (the Web Lock is the truth), but it lets the worker start the linger at once.
    if (!event.persisted && link !== null) void link.api.detach().catch(() => {})
  }
  addEventListener('storage', onStorage)
  addEventListener('callhub:identity', onIdentity)
  addEventListener('online', onNetwork)
  addEventListener('offline', onNetwork)
  addEventListener('pagehide', onPageHide)
  addEventListener('focus', onPresence)
  addEventListener('blur', onPresence)
  document.addEventListener('visibilitychange', onPresence)

  void refresh()

  return {
    get status() {
      return status
    },
    get calls() {
      return [...ringing.values()]
    },
    get ringsHere() {
      return ringer && ringing.size > 0
    },
    get sound() {
      return sound
    },
    subscribe(listener) {
      listeners.status.add(listener)
      listener(status)
      return () => void listeners.status.delete(listener)
    },
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>
      set.add(listener)
      return () => void set.delete(listener)
    },
    accept,
    decline,
    refresh,
    close() {
      if (closed) return
      closed = true
      removeEventListener('storage', onStorage)
      removeEventListener('callhub:identity', onIdentity)
      removeEventListener('online', onNetwork)
      removeEventListener('offline', onNetwork)
      removeEventListener('pagehide', onPageHide)
      removeEventListener('focus', onPresence)
      removeEventListener('blur', onPresence)
      document.removeEventListener('visibilitychange', onPresence)
      attention.dispose()
      if (identityRetry !== null) clearTimeout(identityRetry)
      failPending(new HubClosedError('[callhub] the hub was closed before the worker answered'))
      const current = link
      if (current !== null) {
        void settleWithin('detach', () => current.api.detach()).catch(() => {}).finally(() => dropLink(current))
      }
      releaseTabLock()
      dialogs?.dispose()
      for (const timer of localExpiry.values()) clearTimeout(timer)
      localExpiry.clear()
      ringing.clear()
      setStatus({ type: 'closed', reason: 'closed by the page', profileKey: null, tabs: 0, lastClose: null })
    },
  }
}
