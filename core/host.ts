/**
 * A host runs the hub core for the tabs attached to it: the shared worker, or a tab elected to do it. It
 * serves each tab's requests (answering every one with an `Outcome`), delivers the hub's events to the tab
 * without ever waiting on it, and notices when a tab is gone. How events travel (a Comlink port, a direct
 * call) is the caller's business.
 */
import { TabNotAttachedError, outcomeOf } from '../protocol/errors'
import type { Outcome } from '../protocol/errors'
import type { AttachRequest, Attached, HubApi, HubEvent } from '../protocol/port'
import { createDelivery } from './delivery'
import type { Clock, SocketLike } from './connection'
import { createHub } from './hub'
import type { Hub } from './hub'

/** The part of the Web Locks API a host uses (missing outside secure contexts). */
export interface Locks {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<unknown> | unknown): Promise<unknown>
}

export interface HostDeps {
  hostId: string
  createSocket: (url: string) => SocketLike
  clock: Clock
  random: () => number
  log: (line: string) => void
  /** Null where the platform has no Web Locks: tabs are then known alive by their pings. */
  locks: Locks | null
}

/** How often tabs ping a host that cannot watch their Web Locks, and how long a silent tab is kept. */
export const TAB_PING_INTERVAL = 5_000
export const TAB_SILENCE_LIMIT = 20_000

/** What a tab hands the host when it attaches: how to push its events, and how to let go of them. */
export interface TabLink {
  deliver(batch: HubEvent[]): Promise<void>
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
   * the host takes that tab for gone (its lock was granted, it detached, it attached again elsewhere).
   */
  connectTab(close?: () => void): TabApi
  counters(): { tabs: number; sessions: number; ringing: number; queued: number }
}

interface AttachedTab {
  id: string
  closeConnection: () => void
  delivery: ReturnType<typeof createDelivery>
  link: TabLink
  liveness: AbortController
  lastSeen: number
}

export function createHost(deps: HostDeps): Host {
  const { hostId, clock, locks, log } = deps
  const hub = createHub(deps)
  const attached = new Map<string, AttachedTab>()
  const hostLock = locks === null ? null : `callhub:host:${hostId}`
  // The host holds this lock for its whole life; a tab waiting for it is granted it when the host dies.
  const hostLockHeld = locks === null || hostLock === null
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
        void locks.request(hostLock, {}, () => {
          resolve()
          return new Promise<never>(() => {})
        })
      })

  /** The tab is gone, or attaches again: `keepConnection` when it does so through the same connection. */
  function dispose(tab: AttachedTab, keepConnection = false): void {
    if (attached.get(tab.id) !== tab) return
    attached.delete(tab.id)
    tab.liveness.abort()
    tab.delivery.release()
    tab.link.release()
    hub.detach(tab.id)
    if (!keepConnection) tab.closeConnection()
  }

  // Without Web Locks a dead tab is one that stopped pinging; a frozen one that thaws attaches again.
  if (locks === null) {
    const sweep = () => {
      const now = clock.now()
      for (const tab of [...attached.values()]) {
        if (now - tab.lastSeen > TAB_SILENCE_LIMIT) {
          log(`tab ${tab.id} has not pinged for ${TAB_SILENCE_LIMIT} ms: detaching it`)
          dispose(tab)
        }
      }
      clock.setTimeout(sweep, TAB_PING_INTERVAL)
    }
    clock.setTimeout(sweep, TAB_PING_INTERVAL)
  }

  function connectTab(close: () => void = () => {}): TabApi {
    let current: AttachedTab | null = null

    /** The tab this connection attached, refreshed as seen; throws if it never attached or was forgotten. */
    function tabId(): string {
      if (current === null || attached.get(current.id) !== current) {
        throw new TabNotAttachedError('[callhub] this tab is not attached to the hub (it restarted, or the tab was taken for gone): attach again')
      }
      current.lastSeen = clock.now()
      return current.id
    }

    return {
      attach: (request, link) => outcomeOf(async () => {
        await hostLockHeld
        if (current !== null) dispose(current, true)
        // The same tab may attach again through a new port (its first attach timed out): retire the old one.
        const stale = attached.get(request.tabId)
        if (stale !== undefined) dispose(stale)
        const tab: AttachedTab = {
          id: request.tabId,
          closeConnection: close,
          link,
          liveness: new AbortController(),
          lastSeen: clock.now(),
          delivery: createDelivery({
            deliver: (batch) => link.deliver(batch),
            resync: () => hub.resync(request.tabId),
            onError: (error) => log(`could not deliver to tab ${request.tabId}: ${String(error)}`),
          }),
        }
        current = tab
        attached.set(tab.id, tab)
        // Chromium fires no MessagePort close event (whatwg/html#1766): the tab holds a Web Lock named for
        // itself for its whole life, and this request is granted when the tab is gone.
        locks?.request(`callhub:tab:${tab.id}`, { signal: tab.liveness.signal }, () => dispose(tab)).catch(() => {
          // Aborted: the tab detached first.
        })
        hub.attach({ id: tab.id, push: (event) => tab.delivery.push(event) }, request)
        return { hostLock, hostId }
      }),
      identify: (identity) => outcomeOf(() => hub.identify(tabId(), identity)),
      accept: (callLogId) => outcomeOf(() => hub.accept(tabId(), callLogId)),
      decline: (callLogId) => outcomeOf(() => hub.decline(tabId(), callLogId)),
      send: (frame) => outcomeOf(() => hub.send(tabId(), frame)),
      configure: (settings) => outcomeOf(() => hub.configure(tabId(), settings)),
      dismissMissed: (callLogId) => outcomeOf(() => hub.dismissMissed(tabId(), callLogId)),
      setInterests: (interests) => outcomeOf(() => hub.setInterests(tabId(), interests)),
      setOnline: (online) => outcomeOf(() => {
        tabId()
        hub.setOnline(online)
      }),
      setPresence: (presence) => outcomeOf(() => hub.setPresence(tabId(), presence)),
      ping: () => outcomeOf(() => {
        let known = true
        try {
          tabId()
        } catch {
          known = false
        }
        return { hostId, attached: known }
      }),
      // The tab closes its side of the connection once it has this answer.
      detach: () => outcomeOf(() => {
        if (current !== null) dispose(current, true)
        current = null
      }),
      disconnect() {
        if (current !== null) dispose(current)
        current = null
      },
    }
  }

  return {
    hub,
    connectTab,
    counters() {
      let queued = 0
      for (const tab of attached.values()) queued += tab.delivery.queued()
      return { ...hub.counters(), queued }
    },
  }
}
