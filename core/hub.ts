/**
 * The hub core: one session per signed-in profile, the tabs of each, the calls that ring for them, and the
 * one connection that carries it all. It decides every fact a tab shows (calls, expiry, the ringer, the
 * status, missed calls); tabs only mirror what it pushes. Free of the DOM and of Comlink: it runs the same
 * in the shared worker, in a tab elected to host it, and in Node tests with a fake socket and clock.
 */
import {
  CallNotRingingError, HubNotConnectedError, HubTimeoutError, InvalidInputError, TabNotAttachedError,
} from '../protocol/errors'
import type {
  AttachRequest, Ended, HubEvent, HubSettings, HubStatus, Interests, Presence, Profile, SettleReason, TabIdentity,
} from '../protocol/port'
import { MAX_FRAME_BYTES, callKey, parseServerFrame, profileKey, utf8Length } from '../protocol/wire'
import type { CallLogId, HubFrame, Invitation, ServerFrame } from '../protocol/wire'
import { createConnection } from './connection'
import type { Clock, Connection, SocketLike, SocketState, Timer } from './connection'
import { resolveSettings } from './settings'
import type { Settings } from './settings'

/** A tab as the hub sees it: an id and a way to push events that never blocks and never throws. */
export interface TabHandle {
  readonly id: string
  push(event: HubEvent): void
  /** Runs the tab's reconnect hook: the calls that still ring, as frames or objects like them. */
  recover?(): Promise<unknown[]>
}

export interface HubDeps {
  createSocket: (url: string) => SocketLike
  clock: Clock
  random: () => number
  log: (line: string) => void
  /** A profile's session closed (its socket with it): the host may let go of owning it. */
  onSessionClosed?: (profileKey: string) => void
}

/** setTimeout overflows past 2^31 - 1 ms (and would fire at once): longer waits are cut to this. */
const MAX_TIMER = 2 ** 31 - 1
/** Calls remembered after they end, with their reason, so a late duplicate frame does not ring again. */
const ENDED_MEMORY = 512
/** Missed calls kept per profile until a tab dismisses them. */
const MISSED_MEMORY = 20
/** Frames of a ringing call kept for the tab that will answer it. */
const EARLY_FRAMES = 64
/**
 * Frames of a call that neither rings here nor is in progress here, kept a while: the tab that placed the
 * call holds it (`track`) only once `POST /api/calls` has answered, and the callee's side may be quicker (a
 * decline as busy, a cancel). At most this many, each for `UNHELD_FRAME_AGE` ms.
 */
const UNHELD_FRAMES = 64
const UNHELD_FRAME_AGE = 30_000

interface Answering {
  tabId: string
  kind: 'accepted' | 'declined'
  resolve: (invitation: Invitation) => void
  reject: (error: Error) => void
  timer: Timer
}

interface Call {
  invitation: Invitation & { expiresAt: number }
  expiry: Timer
  /**
   * The backend (re)sent this call since the socket was last accepted. False for calls a tab handed over
   * after a host restart, and for every call once the socket drops: the next auth ack tells which still ring.
   */
  confirmed: boolean
  /** An Accept or Decline written to the backend and waiting for its ack. */
  answering: Answering | null
  /**
   * Frames of this call that came before anyone answered (the caller's early ICE candidates): they are the
   * answering tab's, and reach it once the call is in progress there. Bounded by `EARLY_FRAMES`.
   */
  early: string[]
}

interface Session {
  key: string
  profile: Profile
  url: string
  token: string
  settings: Settings
  tabs: Set<Tab>
  connection: Connection
  calls: Map<string, Call>
  ended: Map<string, Ended>
  missed: Invitation[]
  /** The backend has told this session, at least once, every call that rings (auth ack after its re-sends). */
  reconciled: boolean
  linger: Timer | null
  /** The one tab that plays the ringtone while calls ring (null when none rings). */
  ringer: Tab | null
  anyVisible: boolean
  /** Calls in progress, each held by the tab that answered (or placed) it: their frames go there only. */
  inCalls: Map<string, InProgress>
  /** Recent frames of calls no tab holds, oldest first, for a `track` that comes after them. */
  unheld: Array<{ key: string; at: number; frame: Extract<ServerFrame, { type: 'end' | 'message' }> }>
}

interface InProgress {
  callLogId: CallLogId
  conversationId: CallLogId | null
  tabId: string
}

interface Tab {
  handle: TabHandle
  identity: TabIdentity
  session: Session | null
  interests: Interests
  presence: Presence
  /** Order of the last moment the tab was in view (higher is later): the most recently seen rings when none is. */
  seenOrder: number
}

/** Why a tab leaves its profile's session (`again`: the same tab attaching anew keeps its calls in progress). */
type Leave = 'gone' | 'identity' | 'signed-out' | 'again'

/** The reason sent with `call_ended` when a tab leaves with a call in progress. */
const leaveReasons: Record<Exclude<Leave, 'again'>, string> = { gone: 'tab_closed', identity: 'profile_changed', 'signed-out': 'signed_out' }

/** Frames that end the call in progress they name, after it hears them. */

export interface Hub {
  /** Registers a tab; its first event is a `snapshot`. */
  attach(handle: TabHandle, request: AttachRequest): void
  /** The tab's identity changed; a `snapshot` follows. */
  identify(tabId: string, identity: TabIdentity): void
  setPresence(tabId: string, presence: Presence): void
  setInterests(tabId: string, interests: Interests): void
  /** Sends a tab a fresh snapshot (its event backlog was dropped). */
  resync(tabId: string): void
  /** Resolves once the backend confirmed the answer (at once where it confirms nothing). */
  accept(tabId: string, callLogId: CallLogId): Promise<Invitation>
  decline(tabId: string, callLogId: CallLogId): Promise<void>
  /** Writes one frame on the tab's profile socket through its outbox. */
  send(tabId: string, text: string): Promise<void>
  /** The tab placed this call: its frames go to the tab from now on. */
  track(tabId: string, callLogId: CallLogId): void
  /** Writes a frame of the tab's call in progress, with the call's id set. */
  sessionSend(tabId: string, callLogId: CallLogId, text: string): Promise<void>
  /** Ends the tab's call in progress: `call_ended` with the reason goes to the backend. */
  hangup(tabId: string, callLogId: CallLogId, reason: string): Promise<void>
  /** Changes the settings of the tab's profile session, for all its tabs. */
  configure(tabId: string, settings: HubSettings): void
  dismissMissed(tabId: string, callLogId: CallLogId): void
  setOnline(online: boolean): void
  /**
   * The tab closed its hub, navigated away, or died (its Web Lock was granted to the host): its profile's
   * socket lingers. `identity`: it moved to another profile, and the socket closes at once if no tab is left.
   */
  detach(tabId: string, why?: 'gone' | 'identity'): void
  /**
   * Closes a profile's session at once for another host to take over: its tabs are let go without a word
   * and its calls are not settled (the tabs keep showing them; the next owner knows them). Returns the ids of
   * the tabs it let go.
   */
  handOver(profileKey: string): string[]
  /** The profile keys of the sessions open now. */
  sessionKeys(): string[]
  /** Whether the tab is attached (a tab that is not was forgotten by a restarted host, and attaches again). */
  knows(tabId: string): boolean
  counters(): { tabs: number; sessions: number; ringing: number }
}

export function createHub(deps: HubDeps): Hub {
  const { clock } = deps
  const tabs = new Map<string, Tab>()
  const sessions = new Map<string, Session>()
  let online = true
  let seenCounter = 0

  function log(line: string): void {
    deps.log(line)
    for (const tab of tabs.values()) if (tab.interests.debug) tab.handle.push({ type: 'log', line })
  }

  function statusOf(tab: Tab): HubStatus {
    const { identity, session } = tab
    const none = { profileKey: null, tabs: 0, lastClose: null }
    if (identity.type === 'signed-out') return { type: 'signed-out', ...none }
    if (identity.type === 'no-profile') return { type: 'no-profile', role: identity.role, ...none }
    if (session === null) return { type: 'closed', reason: 'signed out', ...none, profileKey: profileKey(identity.profile) }
    const { connection } = session
    const status: HubStatus = { ...connection.state, profileKey: session.key, tabs: session.tabs.size, lastClose: connection.lastClose }
    if (session.inCalls.size > 0) {
      status.inCall = [...session.inCalls.values()].map((call) => ({ callLogId: call.callLogId, here: call.tabId === tab.handle.id }))
    }
    return status
  }

  function invitations(session: Session): Invitation[] {
    return [...session.calls.values()].map((call) => call.invitation)
  }

  function pushSnapshot(tab: Tab): void {
    const { session } = tab
    tab.handle.push({
      type: 'snapshot',
      status: statusOf(tab),
      calls: session ? invitations(session) : [],
      missed: session ? [...session.missed] : [],
      ended: session ? [...session.ended.values()] : [],
    })
    if (session !== null) electRinger(session, tab)
  }

  function toAll(session: Session, event: HubEvent): void {
    for (const tab of session.tabs) tab.handle.push(event)
  }

  /**
   * Exactly one tab rings: the focused visible tab, else a visible one, else the one seen most recently;
   * the latest seen wins ties. Tabs hear only about changes (`also` hears its state regardless).
   */
  function electRinger(session: Session, also: Tab | null = null): void {
    const rank = (tab: Tab) => (tab.presence.visible ? (tab.presence.focused ? 2 : 1) : 0)
    let ringer: Tab | null = null
    // Call waiting: a call that arrived during another shows, but nothing rings for it.
    let ringable = false
    for (const call of session.calls.values()) ringable ||= call.invitation.waiting !== true
    if (ringable) {
      for (const tab of session.tabs) {
        if (ringer === null || rank(tab) > rank(ringer) || (rank(tab) === rank(ringer) && tab.seenOrder > ringer.seenOrder)) ringer = tab
      }
    }
    let anyVisible = false
    for (const tab of session.tabs) anyVisible ||= tab.presence.visible
    const previous = session.ringer
    const visibilityChanged = anyVisible !== session.anyVisible
    session.ringer = ringer
    session.anyVisible = anyVisible
    const ringerChanged = previous !== ringer
    for (const tab of session.tabs) {
      if (visibilityChanged || tab === also || (ringerChanged && (tab === previous || tab === ringer))) {
        tab.handle.push({ type: 'ringer', ringer: tab === ringer, anyVisible })
      }
    }
  }

  function broadcastStatus(session: Session, except: Tab | null = null): void {
    for (const tab of session.tabs) if (tab !== except) tab.handle.push({ type: 'status', status: statusOf(tab) })
  }

  function openSession(profile: Profile, url: string, token: string, requested: HubSettings): Session {
    const key = profileKey(profile)
    const { settings, problems } = resolveSettings(requested)
    for (const problem of problems) log(`${key}: ${problem}`)
    const session: Session = {
      key, profile, url, token, settings, tabs: new Set(), calls: new Map(), ended: new Map(), missed: [],
      reconciled: false, linger: null, ringer: null, anyVisible: false, inCalls: new Map(), unheld: [],
      connection: undefined as unknown as Connection,
    }
    sessions.set(key, session)
    log(`${key}: opening its connection`)
    let wasOpen = false
    session.connection = createConnection({
      url: () => session.url,
      token: () => session.token,
      settings: () => session.settings,
      createSocket: deps.createSocket,
      clock,
      random: deps.random,
      online,
      onFrame: (frame) => receive(session, frame),
      onState: (state) => {
        const isOpen = state.type === 'open'
        if (isOpen && !wasOpen) connected(session)
        wasOpen = isOpen
        if (!isOpen) {
          // Only the socket the backend accepts next says which calls still ring (one it never accepted says
          // nothing), and an answer waits on the socket it was written to.
          for (const call of session.calls.values()) call.confirmed = false
          failAnswers(session, () => new HubNotConnectedError(`[callhub] the connection dropped (${state.type}) before the backend confirmed the answer; the call may still ring`))
        }
        broadcastStatus(session)
      },
      log: (line) => log(`${key}: ${line}`),
    })
    return session
  }

  /**
   * The backend accepted the socket. Where it re-sends the calls that still ring before its auth ack, or a
   * tab's reconnect hook says which still ring, a call it did not name has ended while the socket was down:
   * a cancel that never reached us.
   */
  function connected(session: Session): void {
    const { backend, pongTimeout } = session.settings
    const resent = backend.resends && backend.acks && backend.authFrame
    const hooked = [...session.tabs].filter((tab) => tab.interests.recover && tab.handle.recover !== undefined)
      .sort((a, b) => b.seenOrder - a.seenOrder)[0]
    if (hooked === undefined) {
      if (resent) reconcile(session, 'was not re-sent by the backend')
      return
    }
    const connection = session.connection
    let timer: Timer | null = null
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new Error(`no answer within ${pongTimeout} ms`)), pongTimeout)
    })
    Promise.race([hooked.handle.recover!(), timeout]).then(
      (frames) => {
        // A session that closed closed its connection too: an open connection is this session's, live.
        if (connection.state.type !== 'open') return
        if (!Array.isArray(frames)) throw new Error('it did not return an array')
        for (const item of frames) {
          const frame = parseServerFrame(typeof item === 'string' ? item : JSON.stringify(item))
          if (frame.type === 'invitation') ring(session, frame.invitation, true)
          else log(`${session.key}: the reconnect hook returned something that is not a call (${frame.type === 'rejected' ? frame.reason : frame.type})`)
        }
        reconcile(session, 'was not among the calls the reconnect hook returned')
      },
      // A `catch`, not the second argument of `then`: what the first callback throws (an answer that is not a
      // list) must end here too, not as an unhandled rejection.
    ).catch(
      (error: unknown) => log(`${session.key}: the reconnect hook failed (${error instanceof Error ? error.message : String(error)}): the calls keep ringing until they expire`),
    ).finally(() => {
      if (timer !== null) clock.clearTimeout(timer)
    })
  }

  function reconcile(session: Session, why: string): void {
    session.reconciled = true
    for (const [key, call] of [...session.calls]) {
      if (!call.confirmed) {
        log(`${session.key}: call ${key} ${why}: it ended while the socket was down`)
        settle(session, key, 'ended', null)
      }
    }
  }

  function closeSession(session: Session, why: string, reason: SettleReason | null): void {
    if (session.linger !== null) clock.clearTimeout(session.linger)
    if (reason !== null) for (const key of [...session.calls.keys()]) settle(session, key, reason, null)
    if (reason === 'signed-out') for (const key of [...session.inCalls.keys()]) logIfUntold(session, key, hangUp(session, key, leaveReasons['signed-out']))
    failAnswers(session, () => new CallNotRingingError(`[callhub] the profile's session closed (${why})`))
    for (const call of session.calls.values()) clock.clearTimeout(call.expiry)
    session.calls.clear()
    sessions.delete(session.key)
    session.connection.close(why)
    log(`${session.key}: connection closed (${why})`)
    deps.onSessionClosed?.(session.key)
  }

  function failAnswers(session: Session, error: () => Error): void {
    for (const call of session.calls.values()) {
      const answering = call.answering
      if (answering === null) continue
      call.answering = null
      clock.clearTimeout(answering.timer)
      answering.reject(error())
    }
  }

  function receive(session: Session, frame: ServerFrame): void {
    if ((frame.type === 'end' || frame.type === 'message') && frame.callLogId !== null && session.inCalls.has(callKey(frame.callLogId))) {
      return callFrame(session, callKey(frame.callLogId), frame)
    }
    if (frame.type === 'message' && frame.callLogId !== null) {
      const ringing = session.calls.get(callKey(frame.callLogId))
      if (ringing !== undefined) {
        if (ringing.early.length < EARLY_FRAMES) ringing.early.push(frame.text)
        else log(`${session.key}: dropped a frame of ringing call ${callKey(frame.callLogId)}: over ${EARLY_FRAMES} before an answer`)
        return
      }
    }
    if ((frame.type === 'end' || frame.type === 'message') && frame.callLogId !== null && !session.calls.has(callKey(frame.callLogId))) {
      keepUnheld(session, callKey(frame.callLogId), frame)
    }
    if (frame.type === 'invitation') ring(session, frame.invitation, true)
    else if (frame.type === 'end') {
      const key = callKey(frame.callLogId)
      if (session.calls.has(key)) settle(session, key, frame.reason, null)
      else remember(session, key, frame.callLogId, frame.reason)
    } else if ((frame.type === 'ack' || frame.type === 'nack') && (frame.of === 'call_accepted' || frame.of === 'call_declined')) {
      answered(session, frame)
    } else {
      // What is left is a message, or an ack or nack that answers no call.
      deliverMessage(session, frame.type === 'message' ? frame.text : JSON.stringify(frame))
    }
  }

  /** A frame of a call in progress goes to the tab that holds it, and only there; an ending frame ends it. */
  function callFrame(session: Session, key: string, frame: Extract<ServerFrame, { type: 'end' | 'message' }>): void {
    const call = session.inCalls.get(key)!
    const tab = tabs.get(call.tabId)
    tab?.handle.push({ type: 'call-frame', callLogId: call.callLogId, text: frame.text })
    // The parser makes `call_ended`, `call_cancelled` and `call_taken` end frames; a `call_declined` ends the
    // call this tab placed.
    if (frame.type === 'end') endInCall(session, key, frame.detail ?? frame.reason)
    else if (frame.frameType === 'call_declined') endInCall(session, key, reasonOf(frame.text) ?? 'call_declined')
  }

  function keepUnheld(session: Session, key: string, frame: Extract<ServerFrame, { type: 'end' | 'message' }>): void {
    session.unheld.push({ key, at: clock.now(), frame })
    if (session.unheld.length > UNHELD_FRAMES) session.unheld.shift()
  }

  /** A tab holds a call it placed: the frames of that call that came first reach it now, an end included. */
  function holdPlaced(session: Session, tabId: string, callLogId: CallLogId): void {
    const key = callKey(callLogId)
    startInCall(session, tabId, callLogId, null)
    const since = clock.now() - UNHELD_FRAME_AGE
    const kept = session.unheld.filter((entry) => entry.key === key && entry.at >= since)
    session.unheld = session.unheld.filter((entry) => entry.key !== key)
    for (const { frame } of kept) if (session.inCalls.has(key)) callFrame(session, key, frame)
  }

  function startInCall(session: Session, tabId: string, callLogId: CallLogId, conversationId: CallLogId | null, early: string[] = []): void {
    session.inCalls.set(callKey(callLogId), { callLogId, conversationId, tabId })
    const tab = tabs.get(tabId)
    for (const text of early) tab?.handle.push({ type: 'call-frame', callLogId, text })
    broadcastStatus(session)
  }

  function endInCall(session: Session, key: string, reason: string): void {
    const call = session.inCalls.get(key)
    if (call === undefined) return
    session.inCalls.delete(key)
    tabs.get(call.tabId)?.handle.push({ type: 'call-ended', callLogId: call.callLogId, reason })
    broadcastStatus(session)
    electRinger(session)
  }

  /** Ends a call in progress from this side: the backend (and through it the other party) hears why. */
  function hangUp(session: Session, key: string, reason: string): Promise<void> {
    const call = session.inCalls.get(key)
    if (call === undefined) return Promise.resolve()
    endInCall(session, key, reason)
    return sendEnded(session, call.callLogId, reason)
  }

  function sendEnded(session: Session, callLogId: CallLogId, reason: string): Promise<void> {
    const frame: HubFrame = { type: 'call_ended', call_log_id: callLogId, reason }
    return session.connection.send(JSON.stringify(frame))
  }

  /** An end the hub sends on its own (a tab left or signed out): nobody waits on it, so a failure is logged. */
  function logIfUntold(session: Session, key: string, sending: Promise<void>): void {
    sending.catch((error: unknown) => log(`${session.key}: could not tell the backend call ${key} ended: ${String(error)}`))
  }

  /** Message frames go, in order, only to the tabs that listen for them. */
  function deliverMessage(session: Session, text: string): void {
    for (const tab of session.tabs) if (tab.interests.messages) tab.handle.push({ type: 'message', text })
  }

  function answered(session: Session, frame: Extract<ServerFrame, { type: 'ack' | 'nack' }>): void {
    const key = frame.callLogId === null ? null : callKey(frame.callLogId)
    const call = key === null ? undefined : session.calls.get(key)
    const answering = call?.answering
    if (key === null || call === undefined || answering == null || frame.of !== `call_${answering.kind}`) {
      log(`${session.key}: ${frame.type} of ${frame.of} for call ${key ?? '?'} that no tab is answering`)
      return
    }
    call.answering = null
    clock.clearTimeout(answering.timer)
    if (frame.type === 'ack') {
      const invitation = settle(session, key, answering.kind, answering.tabId)
      if (invitation === null) return
      if (answering.kind === 'accepted') {
        if (tabs.get(answering.tabId)?.session === session) startInCall(session, answering.tabId, invitation.callLogId, invitation.conversationId, call.early)
        else {
          // The tab that accepted left before the backend confirmed: no tab holds the call, so it ends as the
          // calls of a tab that leaves do, and the other party does not wait on it.
          log(`${session.key}: the tab that accepted call ${key} left before the backend confirmed: ending the call`)
          logIfUntold(session, key, sendEnded(session, invitation.callLogId, leaveReasons.gone))
        }
      }
      answering.resolve(invitation)
      return
    }
    answering.reject(new CallNotRingingError(`[callhub] the backend refused to mark call ${key} ${answering.kind}: ${frame.reason}`))
    settle(session, key, 'ended', null)
  }

  function ring(session: Session, invitation: Invitation, fromBackend: boolean): void {
    const key = callKey(invitation.callLogId)
    // Keyed by call_log_id: a duplicate frame (a re-send after a reconnect, a second socket) is one call.
    const known = session.calls.get(key)
    if (known !== undefined) {
      if (fromBackend) known.confirmed = true
      return
    }
    if (session.ended.has(key)) return
    const now = clock.now()
    const expiresAt = invitation.expiresAt ?? now + session.settings.ringTimeout
    if (expiresAt <= now) {
      log(`${session.key}: call ${key} arrived after it expired`)
      remember(session, key, invitation.callLogId, 'expired')
      return
    }
    const busy = fromBackend && session.inCalls.size > 0
    const { whenBusy } = session.settings
    if (busy && whenBusy === 'decline') {
      const frame: HubFrame = { type: 'call_declined', call_log_id: invitation.callLogId, conversation_id: invitation.conversationId, reason: 'busy' }
      if (session.connection.sendNow(frame)) {
        log(`${session.key}: call ${key} declined: busy with another call`)
        remember(session, key, invitation.callLogId, 'declined')
        return
      }
    }
    const ringing = { ...invitation, expiresAt, ...(busy && whenBusy !== 'ring' ? { waiting: true } : {}) }
    const expiry = clock.setTimeout(() => expire(session, key), Math.min(expiresAt - now, MAX_TIMER))
    session.calls.set(key, { invitation: ringing, expiry, confirmed: fromBackend, answering: null, early: [] })
    toAll(session, { type: 'invitation', invitation: ringing })
    electRinger(session)
  }

  function expire(session: Session, key: string): void {
    const call = session.calls.get(key)
    if (call === undefined) return
    // A far-future expiry waits in steps of at most MAX_TIMER.
    const left = call.invitation.expiresAt - clock.now()
    if (left > 0) {
      call.expiry = clock.setTimeout(() => expire(session, key), Math.min(left, MAX_TIMER))
      return
    }
    const invitation = settle(session, key, 'expired', null)
    if (invitation === null) return
    session.missed.push(invitation)
    if (session.missed.length > MISSED_MEMORY) session.missed.shift()
    toAll(session, { type: 'missed', missed: [...session.missed] })
  }

  function remember(session: Session, key: string, callLogId: CallLogId, reason: SettleReason): void {
    session.ended.delete(key)
    session.ended.set(key, { callLogId, reason })
    if (session.ended.size > ENDED_MEMORY) {
      const oldest = session.ended.keys().next()
      if (!oldest.done) session.ended.delete(oldest.value)
    }
  }

  function settle(session: Session, key: string, reason: SettleReason, byTab: string | null): Invitation | null {
    const call = session.calls.get(key)
    if (call === undefined) return null
    clock.clearTimeout(call.expiry)
    session.calls.delete(key)
    if (call.answering !== null) {
      clock.clearTimeout(call.answering.timer)
      call.answering.reject(new CallNotRingingError(`[callhub] call ${key} is no longer ringing (${reason})`))
    }
    remember(session, key, call.invitation.callLogId, reason)
    const { invitation } = call
    for (const tab of session.tabs) {
      tab.handle.push({ type: 'settled', settled: { callLogId: invitation.callLogId, reason, here: tab.handle.id === byTab, invitation } })
    }
    electRinger(session)
    return invitation
  }

  function join(tab: Tab, settings: HubSettings, handedOver: Invitation[], inProgress: CallLogId[] = []): void {
    const { identity } = tab
    if (identity.type !== 'profile') return
    const key = profileKey(identity.profile)
    let session = sessions.get(key)
    if (session === undefined) session = openSession(identity.profile, identity.url, identity.token, settings)
    else {
      if (session.linger !== null) clock.clearTimeout(session.linger)
      session.linger = null
      const newToken = identity.token !== session.token
      session.url = identity.url
      session.token = identity.token
      if (newToken) session.connection.retryNow()
    }
    // Calls a tab still shows from a host that died keep ringing until the backend says otherwise. Once this
    // session has heard every ringing call from the backend, one it does not know has ended (the tab's
    // snapshot tells it so).
    if (!session.reconciled) for (const invitation of handedOver) ring(session, invitation, false)
    // The tab's calls in progress stay its own across a host restart or a move to another host.
    for (const callLogId of inProgress) {
      if (!session.inCalls.has(callKey(callLogId))) session.inCalls.set(callKey(callLogId), { callLogId, conversationId: null, tabId: tab.handle.id })
    }
    tab.session = session
    session.tabs.add(tab)
    // The joining tab learns its status from the snapshot that follows.
    broadcastStatus(session, tab)
  }

  function leave(tab: Tab, why: Leave): void {
    const session = tab.session
    if (session === null) return
    if (why !== 'again') {
      // The other party must not wait on a tab that is gone: its calls end, and the backend hears why.
      for (const [key, call] of [...session.inCalls]) {
        if (call.tabId !== tab.handle.id) continue
        log(`${session.key}: the tab holding call ${key} left (${why}): ending the call`)
        logIfUntold(session, key, hangUp(session, key, leaveReasons[why]))
      }
    }
    if (why === 'signed-out') {
      // Logout closes the profile's socket at once and every dialog of it, in every tab; nothing reconnects.
      const members = [...session.tabs]
      closeSession(session, 'signed out', 'signed-out')
      session.tabs.clear()
      for (const member of members) {
        member.session = null
        member.identity = { type: 'signed-out' }
        if (member !== tab) member.handle.push({ type: 'status', status: statusOf(member) })
      }
      return
    }
    tab.session = null
    session.tabs.delete(tab)
    if (session.ringer === tab) session.ringer = null
    if (session.tabs.size > 0) {
      broadcastStatus(session)
      electRinger(session)
    } else if (why === 'identity') closeSession(session, 'no tab uses this profile', null)
    else {
      // Moving between pages detaches and re-attaches within moments: keep the socket for a while.
      const { linger } = session.settings
      session.linger = clock.setTimeout(() => {
        session.linger = null
        if (session.tabs.size === 0) closeSession(session, `no tab for ${linger} ms`, null)
      }, linger)
    }
  }

  function tabOf(tabId: string): Tab {
    const tab = tabs.get(tabId)
    if (tab === undefined) throw new TabNotAttachedError('[callhub] this tab is not attached to the hub: call attach first')
    return tab
  }

  function sessionOf(tabId: string, what: string): Session {
    const session = tabOf(tabId).session
    if (session === null) throw new HubNotConnectedError(`[callhub] cannot ${what}: this tab has no signed-in profile`)
    return session
  }

  function answer(tabId: string, callLogId: CallLogId, kind: 'accepted' | 'declined'): Promise<Invitation> {
    const verb = kind === 'accepted' ? 'accept' : 'decline'
    const session = tabOf(tabId).session
    const key = callKey(callLogId)
    const call = session?.calls.get(key)
    if (session == null || call === undefined) {
      const ended = session?.ended.get(key)
      throw new CallNotRingingError(`[callhub] call ${key} is not ringing${ended ? ` (${ended.reason})` : ''}`)
    }
    if (call.answering !== null) {
      throw new CallNotRingingError(`[callhub] call ${key} is being ${call.answering.kind === 'accepted' ? 'answered' : 'declined'} in another tab`)
    }
    const { invitation } = call
    const frame = { call_log_id: invitation.callLogId, conversation_id: invitation.conversationId }
    const sent = session.connection.sendNow(kind === 'accepted' ? { type: 'call_accepted', ...frame } : { type: 'call_declined', ...frame })
    if (!sent) {
      throw new HubNotConnectedError(`[callhub] cannot ${verb} call ${key}: the connection is ${session.connection.state.type}; try again once it is open`)
    }
    const { backend, pongTimeout } = session.settings
    if (!backend.acks) {
      settle(session, key, kind, tabId)
      if (kind === 'accepted') startInCall(session, tabId, invitation.callLogId, invitation.conversationId, call.early)
      return Promise.resolve(invitation)
    }
    return new Promise<Invitation>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        if (call.answering?.timer !== timer) return
        call.answering = null
        reject(new HubTimeoutError(`[callhub] the backend did not confirm the ${verb} of call ${key} within ${pongTimeout} ms`))
      }, pongTimeout)
      call.answering = { tabId, kind, resolve, reject, timer }
    })
  }

  /** Runs a tab's request, turning a throw into a rejection so every caller sees one kind of failure. */
  function attempt<T>(work: () => Promise<T>): Promise<T> {
    try {
      return work()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  return {
    attach(handle, request) {
      // The same tab attaching again (after a timeout, through a new port) rejoins without closing anything.
      const previous = tabs.get(request.tabId)
      if (previous !== undefined) leave(previous, 'again')
      const tab: Tab = {
        handle, identity: request.identity, session: null, interests: request.interests, presence: request.presence,
        seenOrder: request.presence.visible ? ++seenCounter : 0,
      }
      tabs.set(handle.id, tab)
      if (request.online !== online) this.setOnline(request.online)
      join(tab, request.settings, request.calls, request.sessions)
      pushSnapshot(tab)
    },
    identify(tabId, identity) {
      const tab = tabOf(tabId)
      const before = tab.session
      const sameProfile = before !== null && identity.type === 'profile' && before.key === profileKey(identity.profile)
      tab.identity = identity
      if (!sameProfile) leave(tab, identity.type === 'signed-out' ? 'signed-out' : 'identity')
      join(tab, {}, [])
      pushSnapshot(tab)
    },
    resync(tabId) {
      const tab = tabs.get(tabId)
      if (tab !== undefined) pushSnapshot(tab)
    },
    setPresence(tabId, presence) {
      const tab = tabs.get(tabId)
      if (tab === undefined) return
      // A tab that is in view now, or was until now, is the most recently seen.
      if (presence.visible || tab.presence.visible) tab.seenOrder = ++seenCounter
      tab.presence = presence
      if (tab.session !== null) electRinger(tab.session)
    },
    setInterests(tabId, interests) {
      tabOf(tabId).interests = interests
    },
    accept: (tabId, callLogId) => attempt(() => answer(tabId, callLogId, 'accepted')),
    decline: (tabId, callLogId) => attempt(() => answer(tabId, callLogId, 'declined').then(() => undefined)),
    send(tabId, text) {
      return attempt(() => {
        const session = sessionOf(tabId, 'send a frame')
        const bytes = utf8Length(text)
        if (bytes > MAX_FRAME_BYTES) throw new InvalidInputError(`[callhub] a frame of ${bytes} bytes is over the ${MAX_FRAME_BYTES}-byte limit`)
        return session.connection.send(text)
      })
    },
    track(tabId, callLogId) {
      holdPlaced(sessionOf(tabId, 'hold a call'), tabId, callLogId)
    },
    sessionSend(tabId, callLogId, text) {
      return attempt(() => {
        const session = sessionOf(tabId, 'send a frame of a call')
        const call = session.inCalls.get(callKey(callLogId))
        if (call === undefined || call.tabId !== tabId) throw new CallNotRingingError(`[callhub] call ${callKey(callLogId)} is not in progress in this tab`)
        let frame: unknown
        try {
          frame = JSON.parse(text)
        } catch {
          throw new InvalidInputError('[callhub] a frame of a call must be a JSON object')
        }
        if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw new InvalidInputError('[callhub] a frame of a call must be a JSON object')
        const withId = JSON.stringify({ ...frame, call_log_id: call.callLogId })
        if (utf8Length(withId) > MAX_FRAME_BYTES) throw new InvalidInputError(`[callhub] a frame over ${MAX_FRAME_BYTES} bytes`)
        return session.connection.send(withId)
      })
    },
    hangup(tabId, callLogId, reason) {
      return attempt(() => {
        const session = sessionOf(tabId, 'hang up')
        const key = callKey(callLogId)
        const call = session.inCalls.get(key)
        if (call === undefined || call.tabId !== tabId) throw new CallNotRingingError(`[callhub] call ${key} is not in progress in this tab`)
        return hangUp(session, key, reason.slice(0, 100) || 'hangup')
      })
    },
    configure(tabId, requested) {
      const session = sessionOf(tabId, 'configure')
      const { settings, problems } = resolveSettings(requested, session.settings)
      for (const problem of problems) log(`${session.key}: ${problem}`)
      session.settings = settings
      log(`${session.key}: settings changed by tab ${tabId}`)
    },
    dismissMissed(tabId, callLogId) {
      const session = sessionOf(tabId, 'dismiss a missed call')
      const key = callKey(callLogId)
      const left = session.missed.filter((call) => callKey(call.callLogId) !== key)
      if (left.length === session.missed.length) return
      session.missed = left
      toAll(session, { type: 'missed', missed: [...left] })
    },
    setOnline(next) {
      if (next === online) return
      online = next
      log(next ? 'a tab reports the network is back' : 'a tab reports the network is gone')
      for (const session of sessions.values()) session.connection.setOnline(next)
    },
    detach(tabId, why = 'gone') {
      const tab = tabs.get(tabId)
      if (tab === undefined) return
      tabs.delete(tabId)
      leave(tab, why)
    },
    handOver(key) {
      const session = sessions.get(key)
      if (session === undefined) return []
      const handed = [...session.tabs].map((tab) => tab.handle.id)
      for (const tab of session.tabs) {
        tabs.delete(tab.handle.id)
        tab.session = null
      }
      session.tabs.clear()
      session.ringer = null
      // With no tab left in the session, closing it tells nobody: the tabs hear from the next owner.
      closeSession(session, 'handed over to another host', null)
      return handed
    },
    sessionKeys: () => [...sessions.keys()],
    knows: (tabId) => tabs.has(tabId),
    counters() {
      let ringing = 0
      for (const session of sessions.values()) ringing += session.calls.size
      return { tabs: tabs.size, sessions: sessions.size, ringing }
    },
  }
}

/** The `reason` a frame carries, if any (`call_declined` with `busy`, say). */
function reasonOf(text: string): string | null {
  try {
    const frame: unknown = JSON.parse(text)
    const reason = typeof frame === 'object' && frame !== null ? (frame as Record<string, unknown>).reason : undefined
    return typeof reason === 'string' ? reason.slice(0, 100) : null
  } catch {
    return null
  }
}

export type { SocketState }
