/**
 * A host runs the hub core for the tabs attached to it: the shared worker of one deployed version, or, where
 * there is none, a tab. For each signed-in profile exactly one host owns the socket: the one holding the
 * origin-wide Web Lock for that profile. A host that does not own it relays its tabs' requests to the owner
 * over a BroadcastChannel and hands them the owner's events, so every tab of the profile sees the same calls,
 * the same ringer and the same settle, whatever host it is attached to. When the owner dies (or gives its
 * socket up), a host waiting for the lock takes over with the calls its tabs show.
 *
 * How events reach a tab attached here (a Comlink port, a direct call) is the caller's business.
 */
import { HubTimeoutError, HubWorkerLostError, TabNotAttachedError, outcomeOf, toWire } from '../protocol/errors'
import type { Outcome } from '../protocol/errors'
import {
  HOST_PROTOCOL, announceChannel, hostChannel, isHostMessage, ownerChannel, ownerLock,
} from '../protocol/hosts'
import type { ChannelLike, HostMessage, RelayedMethod } from '../protocol/hosts'
import type { AttachRequest, Attached, HubApi, HubEvent, HubStatus, TabIdentity } from '../protocol/port'
import { callKey, profileKey } from '../protocol/wire'
import type { CallLogId, Invitation } from '../protocol/wire'
import type { Clock, SocketLike, Timer } from './connection'
import { OUTBOX_WAIT, TAB_PING_INTERVAL, TAB_SILENCE_LIMIT } from './limits'
import { createDelivery } from './delivery'
import type { Delivery } from './delivery'
import { createHub } from './hub'
import type { Hub, TabHandle } from './hub'

/** The part of the Web Locks API a host uses (missing outside secure contexts). */
export interface Locks {
  request(
    name: string,
    options: { signal?: AbortSignal; ifAvailable?: boolean; steal?: boolean },
    callback: (lock: unknown) => Promise<unknown> | unknown,
  ): Promise<unknown>
}

export interface HostDeps {
  hostId: string
  createSocket: (url: string) => SocketLike
  clock: Clock
  random: () => number
  log: (line: string) => void
  /** Null where the platform has no Web Locks: tabs are then known alive by their pings, and this host owns every profile it serves. */
  locks: Locks | null
  /** Opens a BroadcastChannel; null where there is none (this host then owns every profile it serves). */
  channel: ((name: string) => ChannelLike) | null
  /** The version of host messages this host speaks (tests of version skew set it). @default HOST_PROTOCOL */
  protocol?: number
}

export { TAB_PING_INTERVAL, TAB_SILENCE_LIMIT } from './limits'
/** A relayed request waits this long for the owner's answer (plus the backend's time for answers and frames). */
export const RELAY_TIMEOUT = 5_000
/** An owner whose own tabs of a profile are all gone hands the socket to a host that has some, after this. */
export const HANDOVER_AFTER = 3_000
/**
 * A follower checks this often that the owner answers, and takes the socket over (stealing its lock) when
 * it has not for `OWNER_SILENCE`: a frozen or hung owner tab still holds its lock, but serves nobody.
 */
export const OWNER_PING_INTERVAL = 250
export const OWNER_SILENCE = 750

/** What a tab hands the host when it attaches: how to push its events, and how to let go of them. */
export interface TabLink {
  deliver(batch: HubEvent[]): Promise<void>
  /** Runs the page's reconnect hook (see `TabEvents.recover`). */
  recover(): Promise<unknown[]>
  /** Frees the link's resources (a Comlink proxy, a port): the tab is gone or attached again elsewhere. */
  release(): void
}

/** The API one tab's connection to the host serves: `HubApi` with a `TabLink` instead of a port. */
export type TabApi = Omit<HubApi, 'attach'> & {
  attach(request: AttachRequest, link: TabLink): Promise<Outcome<Attached>>
  /** The connection to the tab is gone (its port closed): same as a detach. */
  disconnect(): void
}

export interface Host {
  readonly hub: Hub
  /**
   * One per tab connection (a port): requests from it act for the tab it attached. `close` is called when
   * the host takes that tab for gone (its lock was granted, it attached again elsewhere).
   */
  connectTab(close?: () => void): TabApi
  /** Gives up every socket this host owns (a tab host about to be frozen); other hosts take them over. */
  suspend(): void
  counters(): { tabs: number; sessions: number; ringing: number; queued: number; owned: number; relayed: number }
}

/**
 * Where a tab attached here is served: by this host's hub, by the owner of `key`, or nowhere (yet). Only a
 * remote route has a key, so `route.key === key` alone says the tab is relayed to `key`'s owner.
 */
type Route = { type: 'none'; key?: never } | { type: 'local'; key?: never } | { type: 'remote'; key: string }

interface LocalTab {
  id: string
  closeConnection: () => void
  link: TabLink
  liveness: AbortController
  lastSeen: number
  delivery: Delivery
  request: AttachRequest
  route: Route
  /** The calls the tab shows, kept from the events delivered to it: what it hands a new owner. */
  shows: Map<string, Invitation>
  /** Route changes and requests of one tab run one after another. */
  queue: Promise<unknown>
}

/** A tab of another host, attached to this host's hub because this host owns its profile's socket. */
interface RemoteTab {
  id: string
  key: string | null
  host: string
  delivery: Delivery
  liveness: AbortController
}

type Role =
  | { type: 'claiming'; ready: Promise<'owner' | 'follower'> }
  | { type: 'owner'; release: () => void; handover: Timer | null }
  | { type: 'follower'; waiting: AbortController; watch: Timer | null; lastHeard: number }

interface Pending {
  key: string
  resolve: (outcome: Outcome<unknown>) => void
  timer: Timer
}

const keyOf = (identity: TabIdentity): string | null => (identity.type === 'profile' ? profileKey(identity.profile) : null)

/** Keeps the calls a tab shows up to date, in place: a burst costs one step per event, not a copy per batch. */
function trackCalls(shows: Map<string, Invitation>, events: readonly HubEvent[]): void {
  for (const event of events) {
    if (event.type === 'snapshot') {
      shows.clear()
      for (const call of event.calls) shows.set(callKey(call.callLogId), call)
    } else if (event.type === 'invitation') shows.set(callKey(event.invitation.callLogId), event.invitation)
    else if (event.type === 'settled') shows.delete(callKey(event.settled.callLogId))
  }
}

export function createHost(deps: HostDeps): Host {
  const { hostId, clock, locks, log, protocol = HOST_PROTOCOL } = deps
  // Relaying needs both: the lock says who owns a socket, the channel carries the requests.
  const channel = deps.locks !== null ? deps.channel : null
  const roles = new Map<string, Role>()
  const locals = new Map<string, LocalTab>()
  const remotes = new Map<string, RemoteTab>()
  const pending = new Map<number, Pending>()
  const senders = new Map<string, ChannelLike>()
  const listeners = new Map<string, ChannelLike>()
  let nextRid = 0
  let outdated: string | null = null

  const hub = createHub({ ...deps, onSessionClosed: (key) => released(key) })

  const hostLockName = `callhub:host:${hostId}`
  const hostLock = locks === null ? null : hostLockName
  // The host holds this lock for its whole life; a tab waiting for it is granted it when the host dies.
  const hostLockHeld = locks === null
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
        void locks.request(hostLockName, {}, () => {
          resolve()
          return new Promise<never>(() => {})
        })
      })

  // ----- channels

  function listen(name: string, onMessage: (message: HostMessage) => void): void {
    if (channel === null || listeners.has(name)) return
    const opened = channel(name)
    opened.onmessage = (event) => {
      const message = event.data
      if (!isHostMessage(message)) return
      // A newer host's message may mean something this host cannot know: give way rather than misread it.
      if (message.v > protocol) return giveWay(`a host speaking version ${message.v} of the host protocol appeared (this one speaks ${protocol})`)
      if (message.v < protocol) return
      onMessage(message)
    }
    listeners.set(name, opened)
  }

  function unlisten(name: string): void {
    listeners.get(name)?.close()
    listeners.delete(name)
  }

  function post(name: string, message: Omit<HostMessage, 'v' | 'from'> & Record<string, unknown>): void {
    if (channel === null) return
    let sender = senders.get(name)
    if (sender === undefined) {
      sender = channel(name)
      senders.set(name, sender)
    }
    try {
      sender.postMessage({ ...message, v: protocol, from: hostId })
    } catch (error) {
      log(`could not post to ${name}: ${String(error)}`)
    }
  }

  listen(hostChannel(hostId), (message) => {
    if (message.type === 'reply') {
      const waiting = pending.get(message.rid)
      if (waiting === undefined) return
      pending.delete(message.rid)
      clock.clearTimeout(waiting.timer)
      heard(waiting.key)
      waiting.resolve(message.outcome)
    } else if (message.type === 'events') {
      const tab = locals.get(message.tabId)
      if (tab?.route.type !== 'remote') return
      heard(tab.route.key)
      for (const event of message.events) told(tab, event)
    }
  })

  listen(announceChannel, (message) => {
    if (message.type !== 'owner' || message.from === hostId) return
    const role = roles.get(message.key)
    if (role?.type === 'owner') return log(`${message.key}: host ${message.from} says it owns the socket this host owns`)
    // Requests sent to the previous owner will not be answered: fail them now, and attach the tabs anew.
    failPending(message.key, 'the host that owned the socket went away')
    for (const tab of locals.values()) {
      if (tab.route.key === message.key) void changeRoute(tab, () => place(tab))
    }
  })

  // ----- ownership

  /** Which role this host plays for `key`, claiming the socket if nobody owns it. */
  function claim(key: string): Promise<'owner' | 'follower'> {
    const role = roles.get(key)
    if (role !== undefined) return role.type === 'claiming' ? role.ready : Promise.resolve(role.type)
    // No channel where there are no locks either (see `channel`).
    if (channel === null) {
      roles.set(key, owning(key, () => {}))
      return Promise.resolve('owner')
    }
    let resolve!: (role: 'owner' | 'follower') => void
    const ready = new Promise<'owner' | 'follower'>((done) => (resolve = done))
    roles.set(key, { type: 'claiming', ready })
    takeLock(key, { ifAvailable: true }, (granted) => {
      // A host that gave way while it claimed follows nobody: its tab is told to reload (`place`).
      if (!granted && outdated === null) follow(key)
      resolve(granted ? 'owner' : 'follower')
    })
    return ready
  }

  /**
   * Requests `key`'s owner lock and, once granted, holds it while this host owns the socket. `decided` hears
   * whether it was granted (false: `ifAvailable` and someone holds it, or the host gave way before the grant
   * came, and lets the lock go, or before the request failed). A lock stolen from this host (it looked frozen to a follower) ends its ownership.
   */
  function takeLock(key: string, options: { ifAvailable?: boolean; steal?: boolean; signal?: AbortSignal }, decided: (granted: boolean) => void): void {
    let role: Role | null = null
    locks!
      .request(ownerLock(key), options, (lock) => {
        if (lock === null || outdated !== null) return decided(false)
        return new Promise<void>((release) => {
          role = owning(key, release)
          roles.set(key, role)
          decided(true)
        })
      })
      .catch((error: unknown) => {
        if (roles.get(key) === role) {
          log(`${key}: another host took the socket over (this one looked unresponsive)`)
          handOver(key)
        } else if (outdated !== null) {
          // A host that gave way owns nothing: its tabs are told to reload.
          decided(false)
        } else if (!(error instanceof Error && error.name === 'AbortError')) {
          // A lock that cannot be taken must not cost the calls: own the socket (one per host at worst).
          log(`${key}: could not take the owner lock (${String(error)}): owning the socket anyway`)
          roles.set(key, owning(key, () => {}))
          decided(true)
        }
      })
  }

  function owning(key: string, release: () => void): Role {
    listen(ownerChannel(key), (message) => void serveFollower(key, message))
    return { type: 'owner', release, handover: null }
  }

  /** Another host owns `key`: wait for its lock, to take the socket over when it goes; check it answers. */
  function follow(key: string): void {
    const role: Extract<Role, { type: 'follower' }> = { type: 'follower', waiting: new AbortController(), watch: null, lastHeard: clock.now() }
    roles.set(key, role)
    // Not granted: this host gave way before the grant came.
    const takeOverIfGranted = (granted: boolean) => {
      if (granted) takeOver(key)
    }
    takeLock(key, { signal: role.waiting.signal }, takeOverIfGranted)
    const check = () => {
      if (roles.get(key) !== role) return
      if (clock.now() - role.lastHeard > OWNER_SILENCE) {
        log(`${key}: the owner has not answered for ${OWNER_SILENCE} ms: taking the socket over`)
        role.waiting.abort()
        takeLock(key, { steal: true }, takeOverIfGranted)
        return
      }
      const relaying = [...locals.values()].some((tab) => tab.route.key === key)
      if (relaying) void relay(key, { type: 'ping' })
      else role.lastHeard = clock.now()
      role.watch = clock.setTimeout(check, OWNER_PING_INTERVAL)
    }
    role.watch = clock.setTimeout(check, OWNER_PING_INTERVAL)
  }

  function heard(key: string): void {
    const role = roles.get(key)
    if (role?.type === 'follower') role.lastHeard = clock.now()
  }

  /** This host's lock for `key` was just granted (it was waiting, or stole it): it owns the socket now. */
  function takeOver(key: string): void {
    // Only a granted lock (or one that could not be taken, owned anyway) leads here, and neither while this
    // host is outdated: the role is `owner`.
    log(`${key}: the owner went away; this host owns the socket now`)
    failPending(key, 'the host that owned the socket went away')
    post(announceChannel, { type: 'owner', key })
    for (const tab of locals.values()) {
      if (tab.route.key === key) void changeRoute(tab, () => place(tab))
    }
    // Its last tab of the profile may have left as the lock came: then it lets the lock go again.
    checkHandover(key)
  }

  /** Lets go of owning `key`: its session closed, or it is handed over. A role other than the owner's stays. */
  function released(key: string): void {
    const role = roles.get(key)
    if (role?.type !== 'owner') return
    if (role.handover !== null) clock.clearTimeout(role.handover)
    unlisten(ownerChannel(key))
    roles.delete(key)
    role.release()
  }

  /** No tab of this host uses `key` any more: stop waiting for its lock. */
  function forget(key: string): void {
    const role = roles.get(key)
    if (role?.type !== 'follower') return
    const stillUsed = [...locals.values()].some((tab) => tab.route.type === 'remote' && tab.route.key === key)
    if (stillUsed) return
    role.waiting.abort()
    if (role.watch !== null) clock.clearTimeout(role.watch)
    roles.delete(key)
  }

  /**
   * An owner whose own tabs of `key` are gone while other hosts' tabs remain gives the socket to one of them
   * (a newer deploy's worker takes over once the older one's tabs are closed).
   */
  function checkHandover(key: string): void {
    const role = roles.get(key)
    // Without a channel no host relays here (`remotes` stays empty): the timer finds nobody to hand over to.
    if (role?.type !== 'owner') return
    const ownTabs = [...locals.values()].some((tab) => tab.route.type === 'local' && keyOf(tab.request.identity) === key)
    if (role.handover !== null) clock.clearTimeout(role.handover)
    role.handover = null
    if (ownTabs) return
    // A tab of this host placed on `key` meanwhile came through here again, and cleared this timer.
    role.handover = clock.setTimeout(() => {
      role.handover = null
      if ([...remotes.values()].some((remote) => remote.key === key)) {
        log(`${key}: no tab of this host uses the socket; handing it over`)
        handOver(key)
      } else if (!hub.sessionKeys().includes(key)) {
        // It took the lock for a tab that left meanwhile, and no session was ever opened: let the lock go.
        log(`${key}: no tab uses this profile's socket here; letting the lock go`)
        released(key)
      }
    }, HANDOVER_AFTER)
  }

  /**
   * Closes `key`'s session at once, quietly, and lets go of owning it, for a host waiting for its lock to take
   * it over. An owner without a session (it claimed the profile for a tab that left) lets go all the same.
   */
  function handOver(key: string): void {
    for (const remote of [...remotes.values()]) if (remote.key === key) disposeRemote(remote, false)
    const handed = hub.handOver(key)
    released(key)
    // A host that gives way tells its tabs to reload instead (`giveWay`).
    if (outdated !== null) return
    // Tabs of this host the hub let go (a suspended tab host's own) follow whoever takes it over.
    for (const id of handed) {
      const tab = locals.get(id)
      if (tab === undefined) continue
      tab.route = { type: 'none' }
      void changeRoute(tab, () => place(tab))
    }
  }

  function giveWay(why: string): void {
    if (outdated !== null) return
    outdated = `[callhub] a newer version of this site runs in another tab, and this page's version cannot work with it: reload this page to get calls here (${why})`
    log(outdated)
    for (const [key, role] of [...roles]) {
      if (role.type === 'follower') {
        role.waiting.abort()
        if (role.watch !== null) clock.clearTimeout(role.watch)
      }
      // What it owns is closed for the next owner; a profile it follows or claims has no session here.
      handOver(key)
    }
    roles.clear()
    for (const tab of locals.values()) {
      // Its signed-out tabs are still in the hub; a tab relayed elsewhere never was.
      hub.detach(tab.id)
      tab.route = { type: 'none' }
      tab.delivery.push({ type: 'status', status: outdatedStatus(tab) })
    }
    for (const name of [...listeners.keys()]) unlisten(name)
  }

  function outdatedStatus(tab: LocalTab): HubStatus {
    return { type: 'closed', reason: outdated ?? 'outdated', profileKey: keyOf(tab.request.identity), tabs: 0, lastClose: null }
  }

  // ----- relaying a follower's requests

  function relay(key: string, message: Record<string, unknown> & { type: 'attach' | 'call' | 'ping' }, extraTime = 0): Promise<Outcome<unknown>> {
    const rid = ++nextRid
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        pending.delete(rid)
        resolve({ ok: false, error: toWire(new HubTimeoutError(`[callhub] the host that owns ${key}'s socket did not answer within ${RELAY_TIMEOUT + extraTime} ms`)) })
      }, RELAY_TIMEOUT + extraTime)
      pending.set(rid, { key, resolve, timer })
      post(ownerChannel(key), { ...message, key, rid })
    })
  }

  function failPending(key: string, why: string): void {
    for (const [rid, waiting] of [...pending]) {
      if (waiting.key !== key) continue
      pending.delete(rid)
      clock.clearTimeout(waiting.timer)
      waiting.resolve({ ok: false, error: toWire(new HubWorkerLostError(`[callhub] ${why} before it answered; try again`)) })
    }
  }

  /** The owner's side: a follower attaches a tab, or relays one of its requests. */
  async function serveFollower(key: string, message: HostMessage): Promise<void> {
    if (message.type === 'ping') return post(hostChannel(message.from), { type: 'reply', rid: message.rid, outcome: { ok: true, value: null } })
    if (message.type === 'attach') {
      const outcome = await outcomeOf(() => {
        if (roles.get(key)?.type !== 'owner') throw new HubWorkerLostError(`[callhub] this host no longer owns ${key}'s socket`)
        servesOnly(key, message.request.identity)
        attachRemote(message.from, message.request)
        return null
      })
      post(hostChannel(message.from), { type: 'reply', rid: message.rid, outcome })
    } else if (message.type === 'call') {
      const outcome = await outcomeOf(() => {
        if (!remotes.has(message.tabId)) throw new TabNotAttachedError('[callhub] this tab is not attached to the owner: attach again')
        if (message.method === 'identify') servesOnly(key, message.args[0] as TabIdentity)
        return callHub(message.tabId, message.method, message.args)
      })
      if (message.method === 'detach') {
        const remote = remotes.get(message.tabId)
        if (remote !== undefined) disposeRemote(remote, false)
      }
      post(hostChannel(message.from), { type: 'reply', rid: message.rid, outcome })
    }
  }

  /**
   * An owner serves, on `key`'s channel, only tabs of `key` (or signing out): a follower moves a tab to another
   * profile by detaching it and attaching it where that profile's socket is, so this hub never opens a session
   * it does not hold the lock for.
   */
  function servesOnly(key: string, identity: TabIdentity): void {
    const wanted = keyOf(identity)
    if (wanted !== null && wanted !== key) throw new TabNotAttachedError(`[callhub] ${key}'s owner does not serve ${wanted}: attach to its owner`)
  }

  function attachRemote(host: string, request: AttachRequest): void {
    const stale = remotes.get(request.tabId)
    if (stale !== undefined) disposeRemote(stale, false)
    const remote: RemoteTab = {
      id: request.tabId,
      key: keyOf(request.identity),
      host,
      liveness: new AbortController(),
      delivery: createDelivery({
        deliver: (events) => {
          post(hostChannel(host), { type: 'events', tabId: request.tabId, events })
          return Promise.resolve()
        },
        resync: () => hub.resync(request.tabId),
        onError: () => {},
      }),
    }
    remotes.set(remote.id, remote)
    // A tab of another host is watched like one of ours: by its Web Lock.
    locks?.request(`callhub:tab:${remote.id}`, { signal: remote.liveness.signal }, () => disposeRemote(remote)).catch(() => {})
    hub.attach({ id: remote.id, push: (event) => remote.delivery.push(event) }, request)
  }

  function disposeRemote(remote: RemoteTab, detach = true): void {
    if (remotes.get(remote.id) !== remote) return
    remotes.delete(remote.id)
    remote.liveness.abort()
    remote.delivery.release()
    if (detach) hub.detach(remote.id)
  }

  /** One request of a tab, on this host's hub. Answers that wait on the backend resolve later. */
  function callHub(tabId: string, method: RelayedMethod, args: unknown[]): unknown {
    const [first] = args
    switch (method) {
      case 'identify': return hub.identify(tabId, first as TabIdentity)
      case 'accept': return hub.accept(tabId, first as CallLogId)
      case 'decline': return hub.decline(tabId, first as CallLogId)
      case 'send': return hub.send(tabId, first as string)
      case 'track': return hub.track(tabId, first as CallLogId)
      case 'sessionSend': return hub.sessionSend(tabId, first as CallLogId, args[1] as string)
      case 'hangup': return hub.hangup(tabId, first as CallLogId, args[1] as string)
      case 'configure': return hub.configure(tabId, first as Parameters<Hub['configure']>[1])
      case 'dismissMissed': return hub.dismissMissed(tabId, first as CallLogId)
      case 'setInterests': return hub.setInterests(tabId, first as Parameters<Hub['setInterests']>[1])
      case 'setOnline': return hub.setOnline(first as boolean)
      case 'setPresence': return hub.setPresence(tabId, first as Parameters<Hub['setPresence']>[1])
      case 'detach': return hub.detach(tabId, first === 'identity' ? 'identity' : 'gone')
      case 'resync': return hub.resync(tabId)
    }
  }

  // ----- this host's own tabs

  /** Route changes of one tab run one after another; its requests wait for the one under way. */
  function changeRoute<T>(tab: LocalTab, work: () => Promise<T>): Promise<T> {
    const next = tab.queue.then(work, work)
    tab.queue = next.catch(() => {})
    return next
  }

  function handleOf(tab: LocalTab): TabHandle {
    return { id: tab.id, push: (event) => told(tab, event), recover: () => tab.link.recover() }
  }

  /**
   * An event of the hub for the tab, on its way in (this hub's or the owner's, in the hub's order): the calls in
   * progress it holds, which the next owner gives back to it, are those its last status names.
   */
  function told(tab: LocalTab, event: HubEvent): void {
    if (event.type === 'status' || event.type === 'snapshot') {
      const held = event.status.inCall?.filter((call) => call.here).map((call) => call.callLogId) ?? []
      tab.request = { ...tab.request, sessions: held }
    }
    tab.delivery.push(event)
  }

  /** Attaches the tab where its identity says: this hub, or the owner of its profile's socket. */
  async function place(tab: LocalTab, retried = false): Promise<Outcome<null>> {
    if (locals.get(tab.id) !== tab) return { ok: true, value: null }
    if (outdated !== null) {
      tab.route = { type: 'none' }
      tab.delivery.push({ type: 'status', status: outdatedStatus(tab) })
      return { ok: true, value: null }
    }
    const key = keyOf(tab.request.identity)
    // Calls this tab shows keep ringing at the hub it attaches to, until the backend says otherwise.
    const request = { ...tab.request, calls: [...tab.shows.values()] }
    // A signed-out tab needs no socket: this hub keeps it, to hear of a sign-in.
    if (key === null) {
      attachHere(tab, request)
      return { ok: true, value: null }
    }
    const role = await claim(key)
    if (locals.get(tab.id) !== tab) {
      // It left while the socket was claimed for it: an owner with nobody to serve lets the lock go, a follower
      // stops waiting for it.
      checkHandover(key)
      forget(key)
      return { ok: true, value: null }
    }
    // The host gave way while it claimed the socket.
    if (outdated !== null) return place(tab)
    // The profile changed hands while it was claimed (the lock was taken from this host, or the owner went): ask again.
    if (roles.get(key)?.type !== role) return place(tab, retried)
    if (role === 'owner') {
      attachHere(tab, request)
      checkHandover(key)
      return { ok: true, value: null }
    }
    tab.route = { type: 'remote', key }
    const outcome = await relay(key, { type: 'attach', request })
    if (outcome.ok) return { ok: true, value: null }
    // The owner went away meanwhile: attach where the socket is now (here, if this host took it over).
    if (outcome.error.name === 'HubWorkerLostError' && !retried) return place(tab, true)
    return outcome
  }

  function attachHere(tab: LocalTab, request: AttachRequest): void {
    tab.route = { type: 'local' }
    hub.attach(handleOf(tab), request)
  }

  /**
   * Takes the tab off its route, from profile `key`. `identity`: it moves to another profile; `gone`: it left or
   * signed out.
   */
  async function unplace(tab: LocalTab, why: 'gone' | 'identity', key: string | null): Promise<void> {
    const route = tab.route
    tab.route = { type: 'none' }
    if (route.type === 'local') {
      hub.detach(tab.id, why)
      if (key !== null) checkHandover(key)
    } else if (route.type === 'remote') {
      await relay(route.key, { type: 'call', tabId: tab.id, method: 'detach', args: [why] })
      forget(route.key)
    }
  }

  /** A request of the tab, where its route leads. */
  async function onRoute<T>(tab: LocalTab, method: RelayedMethod, args: unknown[], extraTime = 0): Promise<Outcome<T>> {
    await tab.queue
    const route = tab.route
    if (route.type === 'remote') return (await relay(route.key, { type: 'call', tabId: tab.id, method, args }, extraTime)) as Outcome<T>
    if (route.type === 'none') {
      return { ok: false, error: toWire(outdated !== null ? new HubWorkerLostError(outdated) : new TabNotAttachedError('[callhub] this tab is between hosts: try again')) }
    }
    return outcomeOf(() => callHub(tab.id, method, args) as T)
  }

  async function identify(tab: LocalTab, identity: TabIdentity): Promise<Outcome<void>> {
    return changeRoute(tab, async () => {
      const before = tab.request.identity
      const [oldKey, newKey] = [keyOf(before), keyOf(identity)]
      tab.request = { ...tab.request, identity }
      const route = tab.route
      // This hub's own rules: a new token reconnects, a sign-out closes the session for every tab (and so this
      // host's ownership of it: nothing is left to hand over). A tab whose session another tab's sign-out closed
      // is placed anew: the profile's socket is claimed again.
      if (route.type === 'local' && (newKey === null || (oldKey === newKey && roles.get(newKey)?.type === 'owner'))) {
        return outcomeOf(() => hub.identify(tab.id, identity))
      }
      if (route.type === 'remote' && oldKey === newKey) {
        return (await relay(route.key, { type: 'call', tabId: tab.id, method: 'identify', args: [identity] })) as Outcome<void>
      }
      if (route.type === 'remote' && identity.type === 'signed-out') {
        // A sign-out closes the profile's socket wherever it is, and signs out every tab of it.
        await relay(route.key, { type: 'call', tabId: tab.id, method: 'identify', args: [identity] })
      }
      // Its calls in progress stay with the profile it leaves (the hub ends them there).
      tab.request = { ...tab.request, sessions: [] }
      await unplace(tab, identity.type === 'signed-out' ? 'gone' : 'identity', oldKey)
      return (await place(tab)) as Outcome<never>
    })
  }

  function disposeLocal(tab: LocalTab, keepConnection = false): void {
    if (locals.get(tab.id) !== tab) return
    locals.delete(tab.id)
    tab.liveness.abort()
    tab.delivery.release()
    tab.link.release()
    void unplace(tab, 'gone', keyOf(tab.request.identity))
    if (!keepConnection) tab.closeConnection()
  }

  // Without Web Locks a dead tab is one that stopped pinging; a frozen one that thaws attaches again.
  if (locks === null) {
    const sweep = () => {
      const now = clock.now()
      for (const tab of [...locals.values()]) {
        if (now - tab.lastSeen > TAB_SILENCE_LIMIT) {
          log(`tab ${tab.id} has not pinged for ${TAB_SILENCE_LIMIT} ms: detaching it`)
          disposeLocal(tab)
        }
      }
      clock.setTimeout(sweep, TAB_PING_INTERVAL)
    }
    clock.setTimeout(sweep, TAB_PING_INTERVAL)
  }

  function connectTab(close: () => void = () => {}): TabApi {
    let current: LocalTab | null = null

    /** The tab this connection attached, refreshed as seen; throws if it never attached or was forgotten. */
    function attached(): LocalTab {
      if (current === null || locals.get(current.id) !== current) {
        throw new TabNotAttachedError('[callhub] this tab is not attached to the hub (it restarted, or the tab was taken for gone): attach again')
      }
      current.lastSeen = clock.now()
      return current
    }

    function routed<T>(method: RelayedMethod, args: unknown[], extraTime = 0): Promise<Outcome<T>> {
      let tab: LocalTab
      try {
        tab = attached()
      } catch (error) {
        return Promise.resolve({ ok: false, error: toWire(error) })
      }
      return onRoute<T>(tab, method, args, extraTime)
    }

    return {
      async attach(request, link) {
        await hostLockHeld
        if (current !== null) disposeLocal(current, true)
        // The same tab may attach again through a new port (its first attach timed out): retire the old one.
        const stale = locals.get(request.tabId)
        if (stale !== undefined) disposeLocal(stale)
        const tab: LocalTab = {
          id: request.tabId,
          closeConnection: close,
          link,
          liveness: new AbortController(),
          lastSeen: clock.now(),
          request,
          route: { type: 'none' },
          // The calls the tab says it shows are what it hands a new owner until its first snapshot.
          shows: new Map(request.calls.map((call) => [callKey(call.callLogId), call])),
          queue: Promise.resolve(),
          delivery: createDelivery({
            deliver: (batch) => {
              trackCalls(tab.shows, batch)
              return link.deliver(batch)
            },
            resync: () => {
              if (tab.route.type === 'local') hub.resync(tab.id)
              // The owner holds a relayed tab's state: its snapshot comes with the next events it posts.
              else void onRoute(tab, 'resync', [])
            },
            onError: (error) => log(`could not deliver to tab ${request.tabId}: ${String(error)}`),
          }),
        }
        current = tab
        locals.set(tab.id, tab)
        // Chromium fires no MessagePort close event (whatwg/html#1766): the tab holds a Web Lock named for
        // itself for its whole life, and this request is granted when the tab is gone.
        locks?.request(`callhub:tab:${tab.id}`, { signal: tab.liveness.signal }, () => disposeLocal(tab)).catch(() => {
          // Aborted: the tab detached first.
        })
        const placed = await changeRoute(tab, () => place(tab))
        if (!placed.ok) return placed
        return { ok: true, value: { hostLock, hostId } }
      },
      identify: (identity) => {
        try {
          return identify(attached(), identity)
        } catch (error) {
          return Promise.resolve({ ok: false, error: toWire(error) })
        }
      },
      accept: (callLogId) => routed('accept', [callLogId], OUTBOX_WAIT),
      decline: (callLogId) => routed('decline', [callLogId], OUTBOX_WAIT),
      send: (frame) => routed('send', [frame], OUTBOX_WAIT),
      track: (callLogId) => routed('track', [callLogId]),
      sessionSend: (callLogId, frame) => routed('sessionSend', [callLogId, frame], OUTBOX_WAIT),
      hangup: (callLogId, reason) => routed('hangup', [callLogId, reason], OUTBOX_WAIT),
      configure: (settings) => routed('configure', [settings]),
      dismissMissed: (callLogId) => routed('dismissMissed', [callLogId]),
      setInterests: (interests) => {
        if (current !== null) current.request = { ...current.request, interests }
        return routed('setInterests', [interests])
      },
      setOnline: (online) => {
        if (current !== null) current.request = { ...current.request, online }
        return routed('setOnline', [online])
      },
      setPresence: (presence) => {
        if (current !== null) current.request = { ...current.request, presence }
        return routed('setPresence', [presence])
      },
      ping: () => outcomeOf(() => {
        let known = true
        try {
          attached()
        } catch {
          known = false
        }
        return { hostId, attached: known }
      }),
      // The tab closes its side of the connection once it has this answer.
      detach: () => outcomeOf(() => {
        if (current !== null) disposeLocal(current, true)
        current = null
      }),
      disconnect() {
        if (current !== null) disposeLocal(current)
        current = null
      },
    }
  }

  return {
    hub,
    connectTab,
    suspend() {
      for (const [key, role] of [...roles]) {
        if (role.type !== 'owner') continue
        log(`${key}: this host is being suspended; handing the socket over`)
        handOver(key)
      }
    },
    counters() {
      let queued = 0
      for (const tab of locals.values()) queued += tab.delivery.queued()
      for (const tab of remotes.values()) queued += tab.delivery.queued()
      let owned = 0
      for (const role of roles.values()) if (role.type === 'owner') owned += 1
      const relayed = [...locals.values()].filter((tab) => tab.route.type === 'remote').length
      return { ...hub.counters(), queued, owned, relayed }
    },
  }
}
