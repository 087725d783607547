import { callKey, hubErrorNames, profileKey } from '../protocol'
import type {
  AttachRequest, CallLogId, HubEvent, HubSettings, Invitation, Presence, Profile, ServerFrame, SettleReason,
  Status, TabIdentity,
} from '../protocol'
import { createConnection } from './connection'
import type { Clock, Connection, SocketLike, Timer } from './connection'

/** A tab as the hub sees it: an id and a way to push events that never blocks and never throws. */
export interface TabHandle {
  readonly id: string
  push(event: HubEvent): void
}

export interface HubDeps {
  createSocket: (url: string) => SocketLike
  clock: Clock
  random: () => number
  log: (line: string) => void
}

export class CallNotRingingError extends Error {
  override name = hubErrorNames.notRinging
}
export class HubNotConnectedError extends Error {
  override name = hubErrorNames.notConnected
}
export class TabNotAttachedError extends Error {
  override name = hubErrorNames.notAttached
}

export const defaultSettings: Required<HubSettings> = {
  linger: 3_000,
  ringTimeout: 45_000,
  retryBase: 500,
  maxRetryDelay: 30_000,
  pingAfter: 25_000,
  pongTimeout: 10_000,
  debug: false,
}

const MAX_TIMER = 2 ** 31 - 1

/** Calls remembered after they settle, so a late duplicate frame does not ring again. */
const SETTLED_MEMORY = 512

interface RingingCall {
  invitation: Invitation
  expiry: Timer
}

interface Session {
  key: string
  profile: Profile
  url: string
  token: string
  tabs: Set<TabState>
  connection: Connection
  ringing: Map<string, RingingCall>
  settled: Set<string>
  linger: Timer | null
  /** The one tab that plays the ringtone while calls ring (null when none rings). */
  ringer: TabState | null
  anyVisible: boolean
}

interface TabState {
  handle: TabHandle
  identity: TabIdentity
  session: Session | null
  debug: boolean
  presence: Presence
  /** Order of the last moment the tab was in view (higher is later): the most recently seen rings when none is. */
  seenOrder: number
}

/** Why a tab leaves its profile's session. */
type Leave = 'gone' | 'identity' | 'signed-out'

export interface Hub {
  /** Registers a tab; its first event is a `snapshot`. */
  attach(handle: TabHandle, request: AttachRequest): void
  /** The tab's identity changed; a `snapshot` follows. */
  identify(tabId: string, identity: TabIdentity): void
  setPresence(tabId: string, presence: Presence): void
  /** Sends a tab a fresh snapshot (its event backlog was dropped). */
  resync(tabId: string): void
  accept(tabId: string, callLogId: CallLogId): Invitation
  decline(tabId: string, callLogId: CallLogId): void
  setOnline(online: boolean): void
  /** The tab closed its hub, navigated away, or died (its Web Lock was granted to the worker). */
  detach(tabId: string): void
  counters(): { tabs: number; sessions: number; ringing: number }
}

/**
 * The worker's logic, free of Comlink and browser globals: sessions per profile, the tabs of each, and the
 * calls that ring for them.
 */
export function createHub(deps: HubDeps): Hub {
  const { clock } = deps
  const tabs = new Map<string, TabState>()
  const sessions = new Map<string, Session>()
  let settings: Required<HubSettings> = { ...defaultSettings }
  let online = true
  let seenCounter = 0

  function log(line: string): void {
    deps.log(line)
    for (const tab of tabs.values()) if (tab.debug) tab.handle.push({ type: 'log', line })
  }

  function statusOf(tab: TabState): Status {
    const { identity, session } = tab
    if (identity.type === 'signed-out') return { type: 'signed-out', profileKey: null, tabs: 0, lastClose: null }
    if (identity.type === 'no-profile') {
      return { type: 'no-profile', role: identity.role, profileKey: null, tabs: 0, lastClose: null }
    }
    if (session === null) {
      return { type: 'closed', reason: 'signed out', profileKey: profileKey(identity.profile), tabs: 0, lastClose: null }
    }
    const { connection } = session
    return { ...connection.state, profileKey: session.key, tabs: session.tabs.size, lastClose: connection.lastClose }
  }

  function pushSnapshot(tab: TabState): void {
    const calls = tab.session ? [...tab.session.ringing.values()].map((call) => call.invitation) : []
    tab.handle.push({ type: 'snapshot', status: statusOf(tab), calls })
    if (tab.session !== null) electRinger(tab.session, tab)
  }

  /**
   * Exactly one tab rings: the focused visible tab, else a visible one, else the one seen most recently;
   * the latest seen wins ties. Tabs hear only about changes (`also` hears its state regardless).
   */
  function electRinger(session: Session, also: TabState | null = null): void {
    const rank = (tab: TabState) => (tab.presence.visible ? (tab.presence.focused ? 2 : 1) : 0)
    let ringer: TabState | null = null
    if (session.ringing.size > 0) {
      for (const tab of session.tabs) {
        if (ringer === null || rank(tab) > rank(ringer) || (rank(tab) === rank(ringer) && tab.seenOrder > ringer.seenOrder)) ringer = tab
      }
    }
    const anyVisible = [...session.tabs].some((tab) => tab.presence.visible)
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

  function broadcastStatus(session: Session, except: TabState | null = null): void {
    for (const tab of session.tabs) if (tab !== except) tab.handle.push({ type: 'status', status: statusOf(tab) })
  }

  function openSession(profile: Profile, url: string, token: string): Session {
    const key = profileKey(profile)
    const session: Session = {
      key, profile, url, token, tabs: new Set(), ringing: new Map(), settled: new Set(), linger: null,
      ringer: null, anyVisible: false, connection: undefined as unknown as Connection,
    }
    sessions.set(key, session)
    log(`${key}: opening its connection`)
    session.connection = createConnection({
      url: () => session.url,
      token: () => session.token,
      createSocket: deps.createSocket,
      clock,
      random: deps.random,
      timing: () => settings,
      online,
      onFrame: (frame) => receive(session, frame),
      onState: () => broadcastStatus(session),
      log: (line) => log(`${key}: ${line}`),
    })
    return session
  }

  function closeSession(session: Session, why: string, reason: SettleReason | null): void {
    if (session.linger !== null) clock.clearTimeout(session.linger)
    if (reason !== null) for (const key of [...session.ringing.keys()]) settle(session, key, reason, null)
    for (const call of session.ringing.values()) clock.clearTimeout(call.expiry)
    session.ringing.clear()
    sessions.delete(session.key)
    session.connection.close(why)
    log(`${session.key}: connection closed (${why})`)
  }

  function receive(session: Session, frame: ServerFrame): void {
    if (frame.type === 'invitation') ring(session, frame.invitation)
    else if (frame.type === 'end') {
      const key = callKey(frame.callLogId)
      if (session.ringing.has(key)) settle(session, key, frame.reason, null)
      else remember(session, key)
    } else if (frame.type === 'other') log(`${session.key}: ignored a frame of type ${JSON.stringify(frame.frameType)}`)
  }

  function ring(session: Session, invitation: Invitation): void {
    const key = callKey(invitation.callLogId)
    // Keyed by call_log_id: a duplicate frame (a re-send after a reconnect, a second socket) is one call.
    if (session.ringing.has(key) || session.settled.has(key)) return
    const now = clock.now()
    const expiresAt = invitation.expiresAt ?? now + settings.ringTimeout
    if (expiresAt <= now) {
      log(`${session.key}: call ${key} arrived after it expired`)
      remember(session, key)
      return
    }
    const ringing = { ...invitation, expiresAt }
    // setTimeout overflows past 2^31 - 1 ms (and would fire at once): a far-future expiry waits at most that.
    const expiry = clock.setTimeout(() => settle(session, key, 'expired', null), Math.min(expiresAt - now, MAX_TIMER))
    session.ringing.set(key, { invitation: ringing, expiry })
    for (const tab of session.tabs) tab.handle.push({ type: 'invitation', invitation: ringing })
    electRinger(session)
  }

  function remember(session: Session, key: string): void {
    session.settled.add(key)
    if (session.settled.size > SETTLED_MEMORY) {
      const oldest = session.settled.values().next()
      if (!oldest.done) session.settled.delete(oldest.value)
    }
  }

  function settle(session: Session, key: string, reason: SettleReason, byTab: string | null): Invitation | null {
    const call = session.ringing.get(key)
    if (call === undefined) return null
    clock.clearTimeout(call.expiry)
    session.ringing.delete(key)
    remember(session, key)
    const { invitation } = call
    for (const tab of session.tabs) {
      const settled = { callLogId: invitation.callLogId, reason, here: tab.handle.id === byTab, invitation }
      tab.handle.push({ type: 'settled', settled })
    }
    electRinger(session)
    return invitation
  }

  function join(tab: TabState): void {
    const { identity } = tab
    if (identity.type !== 'profile') return
    const key = profileKey(identity.profile)
    let session = sessions.get(key)
    if (session === undefined) session = openSession(identity.profile, identity.url, identity.token)
    else {
      if (session.linger !== null) clock.clearTimeout(session.linger)
      session.linger = null
      const newToken = identity.token !== session.token
      session.url = identity.url
      session.token = identity.token
      if (newToken) session.connection.retryNow()
    }
    tab.session = session
    session.tabs.add(tab)
    // The joining tab learns its status from the snapshot that follows.
    broadcastStatus(session, tab)
  }

  function leave(tab: TabState, why: Leave): void {
    const session = tab.session
    if (session === null) return
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
      session.linger = clock.setTimeout(() => {
        session.linger = null
        if (session.tabs.size === 0) closeSession(session, `no tab for ${settings.linger} ms`, null)
      }, settings.linger)
    }
  }

  function requireSession(tabId: string): Session {
    const tab = tabs.get(tabId)
    if (tab === undefined) throw new TabNotAttachedError('[callhub] this tab is not attached to the hub: call attach first')
    if (tab.session === null) throw new CallNotRingingError('[callhub] this tab has no signed-in profile, so no call rings here')
    return tab.session
  }

  function answer(tabId: string, callLogId: CallLogId, reason: 'accepted' | 'declined'): Invitation {
    const session = requireSession(tabId)
    const key = callKey(callLogId)
    const call = session.ringing.get(key)
    if (call === undefined) throw new CallNotRingingError(`[callhub] call ${key} is not ringing (answered, ended or expired)`)
    const { invitation } = call
    const frame = {
      type: reason === 'accepted' ? 'call_accepted' : 'call_declined',
      call_log_id: invitation.callLogId,
      conversation_id: invitation.conversationId,
    } as const
    if (!session.connection.send(frame)) {
      throw new HubNotConnectedError(`[callhub] cannot ${reason === 'accepted' ? 'accept' : 'decline'} call ${key}: the connection is ${session.connection.state.type}; try again once it is open`)
    }
    settle(session, key, reason, tabId)
    return invitation
  }

  return {
    attach(handle, request) {
      // The same tab attaching again (after a timeout, through a new port) rejoins without closing anything.
      const previous = tabs.get(request.tabId)
      if (previous !== undefined) leave(previous, 'gone')
      settings = mergeSettings(request.settings)
      const tab: TabState = {
        handle, identity: request.identity, session: null, debug: settings.debug, presence: request.presence,
        seenOrder: request.presence.visible ? ++seenCounter : 0,
      }
      tabs.set(handle.id, tab)
      if (request.online !== online) this.setOnline(request.online)
      join(tab)
      pushSnapshot(tab)
    },
    identify(tabId, identity) {
      const tab = tabs.get(tabId)
      if (tab === undefined) throw new TabNotAttachedError('[callhub] this tab is not attached to the hub: call attach first')
      const before = tab.session
      const sameProfile = before !== null && identity.type === 'profile' && before.key === profileKey(identity.profile)
      tab.identity = identity
      if (!sameProfile) leave(tab, identity.type === 'signed-out' ? 'signed-out' : 'identity')
      join(tab)
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
    accept: (tabId, callLogId) => answer(tabId, callLogId, 'accepted'),
    decline(tabId, callLogId) {
      answer(tabId, callLogId, 'declined')
    },
    setOnline(next) {
      if (next === online) return
      online = next
      log(next ? 'a tab reports the network is back' : 'a tab reports the network is gone')
      for (const session of sessions.values()) session.connection.setOnline(next)
    },
    detach(tabId) {
      const tab = tabs.get(tabId)
      if (tab === undefined) return
      tabs.delete(tabId)
      leave(tab, 'gone')
    },
    counters() {
      let ringing = 0
      for (const session of sessions.values()) ringing += session.ringing.size
      return { tabs: tabs.size, sessions: sessions.size, ringing }
    },
  }
}

/** Keeps the settings a tab passed that make sense; a bad value falls back to its default. */
function mergeSettings(requested: HubSettings): Required<HubSettings> {
  const merged = { ...defaultSettings }
  for (const name of ['linger', 'ringTimeout', 'retryBase', 'maxRetryDelay', 'pingAfter', 'pongTimeout'] as const) {
    const value = requested[name]
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) merged[name] = value
  }
  merged.debug = requested.debug === true
  return merged
}
