/**
 * The page side of callhub: one import (or one script tag) on every page.
 *
 *   const hub = connectCallHub()
 *   const off = hub.on('invitation', (call) => …)
 *
 * It resolves who is signed in, links the tab to the host that runs the hub (the shared worker), mirrors
 * what the hub decides, and renders the incoming-call dialog from that mirror. It never opens a socket.
 */
import { CallNotRingingError, HubClosedError, InvalidInputError } from '../protocol/errors'
import type { HostMode, HubEvent, HubSettings, HubStatus, Interests, Presence, Status } from '../protocol/port'
import { isObject, profileKey } from '../protocol/wire'
import type { CallLogId, Invitation } from '../protocol/wire'
import { retryDelay } from '../core/backoff'
import { newId } from '../core/ids'
import { OUTBOX_WAIT } from '../core/limits'
import type { Sound } from '../ui/attention'
import type { DialogStrings } from '../ui/dialog'
import type { Ui } from '../ui'
import { identityKeys, resolveIdentity } from './identity'
import type { IdentityOptions, ResolvedIdentity } from './identity'
import { createLink, holdTabLock } from './link'
import type { Connector, Link, LinkState } from './link'
import { emptyMirror, leaveProfile, reduceAll } from '../core/mirror'
import type { Mirror, MirrorEvent } from '../core/mirror'
import { sharedWorkerConnector } from './shared-worker'
import { HubSocket } from './socket'
import { createSession } from './session'
import type { CallSession, SessionHandle } from './session'
import { describeWorker, startSharedWorker } from './worker'
import type { WorkerSource } from './worker'

export {
  CallNotRingingError, HubClosedError, HubNotConnectedError, HubTimeoutError, HubWorkerLostError, InvalidInputError,
  MessageDroppedError, TabNotAttachedError, TokenRejectedError,
} from '../protocol/errors'
export type { CallLogId, Invitation } from '../protocol/wire'
export type { BackendOptions, HubSettings, HostMode, Settled, SettleReason, Status } from '../protocol/port'
export type { DialogStrings } from '../ui/dialog'
export type { Sound } from '../ui/attention'
export type { IdentityOptions, Me } from './identity'
export type { WorkerSource } from './worker'
export { HubSocket } from './socket'
export type { CallEnd, CallSession } from './session'
export type { Profile } from '../protocol/port'

export interface CallHubOptions extends IdentityOptions, HubSettings {
  /** Render the built-in dialog. `false` for apps that render their own from `subscribeCalls`. @default true */
  modal?: boolean
  /** Replace any of the dialog's strings (localisation). */
  strings?: Partial<DialogStrings>
  /** Where the dialog's host element goes. @default document.body */
  container?: HTMLElement
  /** Relative caller avatars resolve against this URL (the backend's origin). @default the page's URL */
  avatarBase?: string
  /** How long a call to the host may take before it rejects with `HubTimeoutError`, in ms. @default 5000 */
  requestTimeout?: number
  /** A ringtone URL, or false for silence. Exactly one tab of a profile rings. @default a generated tone */
  ringtone?: string | false
  /** A system notification when no tab is visible, if the page already has permission (never asked). @default true */
  notifications?: boolean
  /** The host's log lines appear in this tab's console. @default false */
  debug?: boolean
  /**
   * The worker script, for apps that serve `callhub/worker` themselves (see `WorkerSource`).
   * @default the `worker.js` beside this module, found by the app's bundler
   */
  worker?: WorkerSource
  /**
   * Runs after every reconnect, for backends that do not re-send the calls that still ring: returns those
   * calls (invitation frames, or objects like them). The hub rings the ones it did not know, keeps those it
   * did without ringing twice, and ends the ones not returned. One tab with the hook is asked each time.
   */
  recoverCalls?: () => Promise<unknown[]>
}

export interface CallHubEvents {
  status: Status
  /** A call in progress started in this tab: answered here (the dialog's Accept, or `accept`), or placed here (`session`). */
  session: CallSession
  invitation: Invitation
  settled: import('../protocol/port').Settled
  /** A call rang out unanswered (also delivered as `settled` with reason `expired`). */
  missed: Invitation
  /** A frame that is not a call frame (chat, …), as the socket received it. Listening tells the host to send them. */
  message: string
}

export interface CallHub {
  /** The current status. */
  readonly status: Status
  /** Calls ringing now, oldest first. */
  readonly calls: Invitation[]
  /** Missed calls not yet dismissed in any tab of the profile, oldest first. */
  readonly missed: readonly Invitation[]
  /** This tab is the one that plays the ringtone (the focused visible tab, else the last one seen). */
  readonly ringsHere: boolean
  /** The ringtone in this tab: `blocked` when the browser refused autoplay (the dialog says how to fix it). */
  readonly sound: Sound
  /** Calls back at once with the current status, then on every change. Returns the unsubscribe. */
  subscribe(listener: (status: Status) => void): () => void
  /** Calls back at once with the ringing calls, then whenever they change. Returns the unsubscribe. */
  subscribeCalls(listener: (calls: Invitation[]) => void): () => void
  /**
   * Calls back at once with the missed calls not yet dismissed, then whenever they change (a call rang out,
   * or any tab of the profile dismissed one). Returns the unsubscribe.
   */
  subscribeMissed(listener: (missed: readonly Invitation[]) => void): () => void
  /** Returns the unsubscribe. */
  on<E extends keyof CallHubEvents>(event: E, listener: (value: CallHubEvents[E]) => void): () => void
  /**
   * Answers a ringing call; every other tab closes its dialog. Resolves once the backend confirmed the answer
   * (where it confirms), with the invitation (its offer) and the call's session in this tab; rejects with
   * `CallNotRingingError` if the call ended meanwhile or another tab or device answered first.
   */
  accept(callLogId: CallLogId): Promise<AcceptedCall>
  /** Holds a call this page placed (its id from the backend): its frames (the answer, candidates) come here. */
  session(callLogId: CallLogId): Promise<CallSession>
  decline(callLogId: CallLogId): Promise<void>
  /** Writes one frame (an object with a string `type`, or its JSON text) on the profile's socket. */
  send(frame: object | string): Promise<void>
  /** Changes the connection settings of this profile's session, for every tab of it. */
  configure(settings: HubSettings): Promise<void>
  /** Dismisses a missed-call notice in every tab of the profile. */
  dismissMissed(callLogId: CallLogId): Promise<void>
  /**
   * A WebSocket-compatible object on the profile's one socket, for code written for `new WebSocket(…)`
   * (`window.chatWebSocket = hub.socket()`): `message` events carry every frame that is not a call frame.
   */
  socket(): HubSocket
  /** Re-reads the identity (token, active role) now. */
  refresh(): Promise<void>
  /** Detaches this tab; its dialogs close. The hub cannot be reopened: call `connectCallHub` again. */
  close(): void
}

/** Where the tab stands with its own identity, before and besides anything the hub says. */
type Identity =
  | { type: 'resolving' }
  | { type: 'resolved'; resolved: ResolvedIdentity }
  /** `/api/me` could not be reached: a new attempt at `retryAt`. */
  | { type: 'waiting'; attempt: number; retryAt: number }

type Listener<T> = (value: T) => void

export interface AcceptedCall {
  invitation: Invitation
  session: CallSession
}

/** The status fields of a tab with no profile. */
const none = { profileKey: null, tabs: 0, lastClose: null }

/** Requests that wait on the backend (an ack, the outbox) get this much longer than `requestTimeout`. */
const BACKEND_WAIT = OUTBOX_WAIT

export function connectCallHub(options: CallHubOptions = {}): CallHub {
  const {
    modal = true, strings, container, avatarBase, requestTimeout = 5_000, ringtone, notifications, debug = false,
    getToken, getActiveRole, fetchMe, socketUrl, apiBase, worker: workerSource, recoverCalls,
    linger, ringTimeout, retryBase, maxRetryDelay, pingAfter, pongTimeout, backend, whenBusy,
  } = options
  const identityOptions: IdentityOptions = { getToken, getActiveRole, fetchMe, socketUrl, apiBase }
  const settings: HubSettings = { linger, ringTimeout, retryBase, maxRetryDelay, pingAfter, pongTimeout, backend, whenBusy }
  const tabId = newId()
  const listeners: { [E in keyof CallHubEvents]: Set<Listener<CallHubEvents[E]>> } = {
    status: new Set(), invitation: new Set(), settled: new Set(), missed: new Set(), message: new Set(), session: new Set(),
  }
  /** Calls in progress in this tab, by call key. */
  const sessions = new Map<string, SessionHandle>()
  /**
   * Frames (and ends) of a call that reach the tab before its session object exists: the hub's events and
   * the answer to `accept` travel on different ports, so the first ICE candidates can overtake the answer.
   */
  const early = new Map<string, { frames: string[]; ended: string | null }>()
  const callListeners = new Set<Listener<Invitation[]>>()
  const missedListeners = new Set<Listener<readonly Invitation[]>>()
  let mirror: Mirror = emptyMirror
  let identity: Identity = { type: 'resolving' }
  let resolving = 0
  let identityRetry: ReturnType<typeof setTimeout> | null = null
  let identityFailures = 0
  let closed = false
  let sound: Sound = 'off'
  // SharedWorker is missing in some browsers (Android WebViews, some privacy modes), Web Locks outside secure
  // contexts: the page then runs the hub itself, and the tab holding a profile's lock owns its socket.
  const locks = typeof navigator !== 'undefined' && navigator.locks !== undefined ? navigator.locks : null
  const channel = typeof BroadcastChannel === 'function' ? (name: string) => new BroadcastChannel(name) : null
  let mode: HostMode = 'shared-worker'
  let modeReason: string | null = null
  if (typeof SharedWorker === 'undefined') fallBack('this browser has no SharedWorker')
  let status: Status = computeStatus()
  let interests: Interests = { messages: false, debug, recover: recoverCalls !== undefined }
  /** The dialog and the ringtone, loaded once the hub is up (or a call arrives): null until then. */
  let ui: Ui | null = null
  let uiLoading: Promise<void> | null = null


  /** Runs the hub in this page from now on: elected among the tabs where it can be, else for this tab alone. */
  function fallBack(reason: string): void {
    const alone = locks === null || channel === null
    mode = alone ? 'per-tab' : 'leader-tab'
    modeReason = alone ? `${reason}, and no ${locks === null ? 'Web Locks (https or localhost only)' : 'BroadcastChannel'}: this tab has a socket of its own` : reason
    console.warn(`[callhub] ${modeReason}: running the hub in this page (${mode})`)
  }

  let tabLock = holdTabLock(locks, tabId, (line) => console.warn(`[callhub] ${line}`))

  function startLink(): Link {
    return createLink({
      tabLockHeld: tabLock.held,
      locks,
      requestTimeout,
      connect: mode === 'shared-worker'
        ? sharedWorkerConnector(() => startSharedWorker(workerSource), describeWorker(workerSource), recover)
        : async (deliver) => (await pageHost())(deliver),
      attachRequest: () => ({
        tabId,
        identity: hostIdentity(),
        online: navigator.onLine,
        presence: presence(),
        settings,
        interests,
        calls: [...mirror.calls.values()],
        sessions: [...sessions.values()].map((handle) => handle.session.callLogId),
      }),
      onEvents: (events) => apply(events),
      onState: (state) => linkChanged(state),
      log: (line) => console.warn(`[callhub] ${line}`),
    })
  }

  let pageHostConnector: Promise<Connector> | null = null
  function pageHost(): Promise<Connector> {
    pageHostConnector ??= import('./page-host').then((module) => module.pageHostConnector(locks, channel, (line) => {
      if (debug) console.info(`[callhub host] ${line}`)
    }, recover))
    return pageHostConnector
  }

  let link: Link = startLink()
  /** The identity the host last heard from this tab (attach carries it; identify changes it). */
  let toldHost: ReturnType<typeof hostIdentity> | null = null

  function hostIdentity() {
    if (identity.type !== 'resolved') return { type: 'signed-out' } as const
    const { resolved } = identity
    // A rejected token is, for the host, a signed-out tab: it closes that profile's socket.
    return resolved.type === 'unauthorized' ? ({ type: 'signed-out' } as const) : resolved
  }

  function presence(): Presence {
    return { visible: document.visibilityState === 'visible', focused: document.hasFocus() }
  }

  /** The tab's status: the hub's while the tab is linked to it with a profile, else what the tab knows itself. */
  function computeStatus(): Status {
    const hostMode = { mode, modeReason }
    if (closed) return { type: 'closed', reason: 'closed by the page', ...none, ...hostMode }
    if (identity.type === 'resolving') return { type: 'connecting', attempt: 0, ...none, ...hostMode }
    if (identity.type === 'waiting') return { type: 'waiting', attempt: identity.attempt, retryAt: identity.retryAt, ...none, ...hostMode }
    const { resolved } = identity
    if (resolved.type !== 'profile') return { ...resolved, ...none, ...hostMode }
    const key = profileKey(resolved.profile)
    const state = link.state
    if (state.type === 'attached' && mirror.status.profileKey === key) return { ...mirror.status, ...hostMode }
    if (state.type === 'failed') return { type: 'closed', reason: state.reason, ...none, profileKey: key, ...hostMode }
    const attempt = state.type === 'lost' || state.type === 'attaching' ? state.attempt : 0
    return { type: 'connecting', attempt, profileKey: key, tabs: 0, lastClose: mirror.status.lastClose, ...hostMode }
  }

  function emit<E extends keyof CallHubEvents>(event: E, value: CallHubEvents[E]): void {
    for (const listener of [...listeners[event]]) {
      try {
        listener(value)
      } catch (error) {
        console.error(`[callhub] a ${event} listener threw:`, error)
      }
    }
  }

  function tellStore<T>(store: Set<Listener<T>>, value: T, what: string): void {
    for (const listener of [...store]) {
      try {
        listener(value)
      } catch (error) {
        console.error(`[callhub] a ${what} listener threw:`, error)
      }
    }
  }

  function updateStatus(): void {
    const next = computeStatus()
    if (sameStatus(next, status)) return
    status = next
    emit('status', next)
  }

  /** Renders the mirror, then tells the page's listeners what changed, in order. */
  function publish(before: Mirror, emitted: MirrorEvent[]): void {
    updateStatus()
    render()
    if (mirror.calls !== before.calls && callListeners.size > 0) tellStore(callListeners, [...mirror.calls.values()], 'calls')
    // A snapshot brings a new array each time: only a different list is news.
    if (!sameCalls(mirror.missed, before.missed)) tellStore(missedListeners, mirror.missed, 'missed')
    for (const event of emitted) {
      if (event.type === 'invitation') emit('invitation', event.invitation)
      else if (event.type === 'settled') {
        ui?.notice(event.settled)
        emit('settled', event.settled)
        if (event.settled.reason === 'expired') emit('missed', event.settled.invitation)
      } else if (event.type === 'message') emit('message', event.text)
      else if (event.type === 'call-frame' || event.type === 'call-ended') callEvent(event)
      else console.info(`[callhub host] ${event.line}`)
    }
  }

  function callEvent(event: Extract<MirrorEvent, { type: 'call-frame' | 'call-ended' }>): void {
    const key = String(event.callLogId)
    const handle = sessions.get(key)
    if (handle === undefined) {
      const kept = early.get(key) ?? { frames: [], ended: null }
      if (event.type === 'call-frame' && kept.frames.length < 64) kept.frames.push(event.text)
      if (event.type === 'call-ended') kept.ended = event.reason
      early.set(key, kept)
      if (early.size > 16) early.delete(early.keys().next().value!)
      return
    }
    if (event.type === 'call-frame') return handle.receive(event.text)
    handle.end(event.reason)
    sessions.delete(key)
  }

  function apply(events: HubEvent[]): void {
    if (closed) return
    const before = mirror
    const step = reduceAll(mirror, events)
    mirror = step.mirror
    publish(before, step.emitted)
  }

  function render(): void {
    if (ui === null) {
      if (mirror.calls.size > 0 || mirror.missed.length > 0) loadUi()
      return
    }
    ui.render({ calls: mirror.calls, missed: mirror.missed, ringer: mirror.ringer, anyVisible: mirror.anyVisible, sound })
  }

  function linkChanged(state: LinkState): void {
    if (state.type === 'failed' && mode === 'shared-worker' && !closed) {
      // The shared worker cannot run (its script failed to load, or it never answered): run the hub here.
      fallBack(state.reason)
      link.close()
      link = startLink()
      link.start()
      updateStatus()
      return
    }
    if (state.type === 'attached') {
      toldHost = hostIdentity()
      loadUi()
    }
    else if (mirror.ringer) {
      // Until a host elects a ringer again, this tab stays quiet.
      mirror = { ...mirror, ringer: false }
      render()
    }
    if (state.type === 'attached') void tellHost()
    updateStatus()
  }

  /** Brings the host up to date with this tab's identity (after a change, or an attach that raced one). */
  async function tellHost(): Promise<void> {
    const next = hostIdentity()
    if (link.state.type !== 'attached' || toldHost === next) return
    try {
      await link.call('identify', (calls) => calls.identify(next))
      toldHost = next
    } catch (error) {
      if (!closed) console.warn(`[callhub] could not tell the host who is signed in (${String(error)}); it will hear on the next attach`)
    }
  }

  function leaveLocally(hubStatus: HubStatus): void {
    const before = mirror
    const step = leaveProfile(mirror, hubStatus)
    mirror = step.mirror
    publish(before, step.emitted)
  }

  async function refresh(): Promise<void> {
    if (closed) return
    const attempt = ++resolving
    if (identityRetry !== null) clearTimeout(identityRetry)
    identityRetry = null
    let resolved: ResolvedIdentity
    try {
      resolved = await resolveIdentity(identityOptions)
    } catch (error) {
      if (attempt !== resolving || closed) return
      identityFailures += 1
      const delay = retryDelay(identityFailures, Math.random())
      console.warn(`[callhub] could not resolve the signed-in user (${String(error)}); retrying in ${delay} ms`)
      identityRetry = setTimeout(() => void refresh(), delay)
      identity = { type: 'waiting', attempt: identityFailures, retryAt: Date.now() + delay }
      updateStatus()
      return
    }
    if (attempt !== resolving || closed) return
    identityFailures = 0
    identity = { type: 'resolved', resolved }
    if (resolved.type !== 'profile') {
      if (mirror.calls.size > 0 || mirror.missed.length > 0) leaveLocally({ ...mirror.status, ...none })
      if (link.state.type !== 'idle') void tellHost()
      updateStatus()
      return
    }
    if (link.state.type === 'idle') link.start()
    else void tellHost()
    updateStatus()
  }

  function requireProfile(what: string): void {
    if (closed) throw new HubClosedError('[callhub] this hub was closed; call connectCallHub() again')
    if (identity.type !== 'resolved' || identity.resolved.type !== 'profile') {
      throw new CallNotRingingError(`[callhub] cannot ${what}: this tab has no connected profile`)
    }
  }

  async function accept(callLogId: CallLogId): Promise<AcceptedCall> {
    requireProfile(`accept call ${String(callLogId)}`)
    const invitation = await link.call('accept', (calls) => calls.accept(callLogId), BACKEND_WAIT)
    return { invitation, session: openSession(callLogId, invitation) }
  }

  /** The tab's object for a call in progress here, created once. */
  function openSession(callLogId: CallLogId, invitation: Invitation | null): CallSession {
    const key = String(callLogId)
    const existing = sessions.get(key)
    if (existing !== undefined) return existing.session
    const handle = createSession(callLogId, invitation, {
      send: (id, text) => link.call('sessionSend', (calls) => calls.sessionSend(id, text), BACKEND_WAIT),
      hangup: (id, reason) => link.call('hangup', (calls) => calls.hangup(id, reason), BACKEND_WAIT),
    })
    sessions.set(key, handle)
    emit('session', handle.session)
    // What came before the session existed, in order, once the page had the chance to listen.
    const kept = early.get(key)
    early.delete(key)
    if (kept !== undefined) {
      queueMicrotask(() => {
        for (const text of kept.frames) handle.receive(text)
        if (kept.ended !== null) callEvent({ type: 'call-ended', callLogId, reason: kept.ended })
      })
    }
    return handle.session
  }

  async function decline(callLogId: CallLogId): Promise<void> {
    requireProfile(`decline call ${String(callLogId)}`)
    return link.call('decline', (calls) => calls.decline(callLogId), BACKEND_WAIT)
  }

  async function send(frame: object | string): Promise<void> {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new InvalidInputError('[callhub] send takes an object, or its JSON text: this is not JSON')
    }
    if (!isObject(parsed) || typeof parsed.type !== 'string') {
      throw new InvalidInputError('[callhub] send takes a JSON object with a string "type"')
    }
    if (closed) throw new HubClosedError('[callhub] this hub was closed; call connectCallHub() again')
    return link.call('send', (calls) => calls.send(text), BACKEND_WAIT)
  }

  /** The host asks this tab to run the page's reconnect hook. */
  async function recover(): Promise<unknown[]> {
    if (recoverCalls === undefined) return []
    const calls = await recoverCalls()
    // Structured clone carries plain data only: the frames travel as JSON.
    return Array.isArray(calls) ? calls.map((call) => (typeof call === 'string' ? call : JSON.stringify(call))) : []
  }

  function setInterests(next: Interests): void {
    if (next.messages === interests.messages && next.debug === interests.debug) return
    interests = next
    if (link.state.type === 'attached') void link.call('setInterests', (calls) => calls.setInterests(next)).catch(() => {})
  }

  const onStorage = (event: StorageEvent) => {
    if (event.key === null || identityKeys.includes(event.key)) void refresh()
  }
  const onIdentity = () => void refresh()
  const onNetwork = () => {
    if (link.state.type === 'attached') void link.call('setOnline', (calls) => calls.setOnline(navigator.onLine)).catch(() => {})
  }
  const onPresence = () => {
    if (link.state.type === 'attached') void link.call('setPresence', (calls) => calls.setPresence(presence())).catch(() => {})
  }
  // Leaving (or entering the back/forward cache): let the host go at once. A cached page holds nothing
  // (WebKit releases its Web Locks there anyway, and the host would drop it), and attaches anew if it comes back.
  const onPageHide = () => {
    link.close()
    tabLock.release()
  }
  const onPageShow = (event: PageTransitionEvent) => {
    if (!event.persisted || closed) return
    tabLock = holdTabLock(locks, tabId, (line) => console.warn(`[callhub] ${line}`))
    link = startLink()
    if (identity.type === 'resolved' && identity.resolved.type === 'profile') link.start()
    void refresh()
  }

  /** Loads the dialog and the attention code; a page that never has a profile never loads them. */
  function loadUi(): void {
    if (uiLoading !== null || closed) return
    uiLoading = import('../ui').then(
      ({ createUi }) => {
        if (closed) return
        ui = createUi({
          modal, strings, container, ringtone, notifications, avatarBase: avatarBase ?? apiBase,
          onAccept: accept,
          onDecline: decline,
          onDismissMissed: (callLogId) => link.call('dismissMissed', (calls) => calls.dismissMissed(callLogId)),
          onSound: (next) => {
            sound = next
            render()
          },
        })
        render()
      },
      (error: unknown) => console.error('[callhub] could not load the dialog:', error),
    )
  }

  try {
    addEventListener('storage', onStorage)
    addEventListener('callhub:identity', onIdentity)
    addEventListener('online', onNetwork)
    addEventListener('offline', onNetwork)
    addEventListener('pagehide', onPageHide)
    addEventListener('pageshow', onPageShow)
    addEventListener('focus', onPresence)
    addEventListener('blur', onPresence)
    document.addEventListener('visibilitychange', onPresence)
  } catch (error) {
    // A page without the DOM we expect still gets a hub that reports why it shows nothing.
    console.error('[callhub] could not set up the page side:', error)
  }

  void refresh()

  const hub: CallHub = {
    get status() {
      return status
    },
    get calls() {
      return [...mirror.calls.values()]
    },
    get missed() {
      return mirror.missed
    },
    get ringsHere() {
      return mirror.ringer && mirror.calls.size > 0
    },
    get sound() {
      return sound
    },
    subscribe(listener) {
      listeners.status.add(listener)
      listener(status)
      return () => void listeners.status.delete(listener)
    },
    subscribeCalls(listener) {
      callListeners.add(listener)
      listener([...mirror.calls.values()])
      return () => void callListeners.delete(listener)
    },
    subscribeMissed(listener) {
      missedListeners.add(listener)
      listener(mirror.missed)
      return () => void missedListeners.delete(listener)
    },
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>
      set.add(listener)
      if (event === 'message') setInterests({ ...interests, messages: true })
      return () => {
        set.delete(listener)
        if (event === 'message' && set.size === 0) setInterests({ ...interests, messages: false })
      }
    },
    accept,
    decline,
    send,
    async session(callLogId) {
      requireProfile(`hold call ${String(callLogId)}`)
      await link.call('track', (calls) => calls.track(callLogId))
      return openSession(callLogId, null)
    },
    async configure(next) {
      requireProfile('configure the connection')
      await link.call('configure', (calls) => calls.configure(next))
    },
    async dismissMissed(callLogId) {
      requireProfile('dismiss a missed call')
      await link.call('dismissMissed', (calls) => calls.dismissMissed(callLogId))
    },
    refresh,
    socket() {
      return new HubSocket({
        subscribe: (listener) => hub.subscribe(listener),
        onMessage: (listener) => hub.on('message', listener),
        send: (text) => send(text),
        url: () => (identity.type === 'resolved' && identity.resolved.type === 'profile' ? identity.resolved.url : ''),
      })
    },
    close() {
      if (closed) return
      closed = true
      removeEventListener('storage', onStorage)
      removeEventListener('callhub:identity', onIdentity)
      removeEventListener('online', onNetwork)
      removeEventListener('offline', onNetwork)
      removeEventListener('pagehide', onPageHide)
      removeEventListener('pageshow', onPageShow)
      removeEventListener('focus', onPresence)
      removeEventListener('blur', onPresence)
      document.removeEventListener('visibilitychange', onPresence)
      if (identityRetry !== null) clearTimeout(identityRetry)
      link.close()
      tabLock.release()
      for (const handle of sessions.values()) handle.end('closed')
      sessions.clear()
      ui?.dispose()
      mirror = { ...emptyMirror, status: { ...mirror.status, ...none } }
      updateStatus()
    },
  }
  return hub
}

function sameCalls(a: readonly Invitation[], b: readonly Invitation[]): boolean {
  return a === b || (a.length === b.length && a.every((call, index) => call.callLogId === b[index]!.callLogId))
}

function sameStatus(a: Status, b: Status): boolean {
  if (a === b) return true
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof Status>
  for (const key of keys) {
    const [x, y] = [a[key], b[key]] as unknown[]
    if (x === y) continue
    if (key === 'lastClose' && x !== null && y !== null && (x as { at: number }).at === (y as { at: number }).at) continue
    return false
  }
  return true
}
