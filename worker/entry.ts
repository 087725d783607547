/// <reference lib="webworker" />
/**
 * The SharedWorker: one per origin, shared by every tab. Each tab's port gets the Comlink API below; the
 * hub behind it owns one WebSocket per signed-in profile.
 */
import { expose, releaseProxy, wrap } from 'comlink'
import type { Attached, AttachRequest, HubApi, HubEvent, TabEvents } from '../protocol'
import { TabNotAttachedError, createHub } from './hub'
import type { TabHandle } from './hub'

declare const self: SharedWorkerGlobalScope

// The worker holds this lock for its whole life; a tab waiting for it is granted it when the worker dies.
const workerLock = `callhub:worker:${crypto.randomUUID()}`
const workerLockHeld = new Promise<void>((resolve) => {
  void navigator.locks.request(workerLock, () => {
    resolve()
    return new Promise<never>(() => {})
  })
})

const hub = createHub({
  createSocket: (url) => new WebSocket(url),
  clock: { now: () => Date.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (timer) => clearTimeout(timer) },
  random: Math.random,
  log: (line) => console.info(`[callhub worker] ${line}`),
})

/** Comlink proxies to tabs' event ports that have not been released: back to zero when every tab is gone. */
let liveProxies = 0

interface AttachedTab {
  handle: TabHandle & { queued(): number; release(): void }
  liveness: AbortController
  dispose(): void
}

/** Every attached tab by its id, whichever port it came through. */
const attachedTabs = new Map<string, AttachedTab>()

/**
 * Sends a tab its events with at most one `deliver` call in flight, never awaited by the hub: an event
 * after a quiet spell goes out at the end of the turn, and events that arrive while the tab is still taking
 * the previous batch wait and go together. A burst costs a few Comlink round trips, not one per frame.
 */
/** A tab that stops taking events (frozen, say) while it lives keeps at most this many queued. */
const MAX_BACKLOG = 1_000

function createTabHandle(id: string, events: MessagePort, onError: (error: unknown) => void): TabHandle & { queued(): number; release(): void } {
  const remote = wrap<TabEvents>(events)
  liveProxies += 1
  let queue: HubEvent[] = []
  let inFlight = false
  let scheduled = false
  let released = false
  const flush = () => {
    scheduled = false
    if (released || inFlight || queue.length === 0) return
    const batch = queue
    queue = []
    inFlight = true
    remote.deliver(batch).then(
      () => {
        inFlight = false
        flush()
      },
      (error: unknown) => {
        inFlight = false
        onError(error)
        flush()
      },
    )
  }
  return {
    id,
    push(event) {
      if (released) return
      if (queue.length >= MAX_BACKLOG) {
        // Old events are worth less than the present state: drop them, and let a snapshot say it all.
        queue = []
        hub.resync(id)
        if (queue.length > 0) return
      }
      queue.push(event)
      if (!scheduled && !inFlight) {
        scheduled = true
        queueMicrotask(flush)
      }
    },
    queued: () => queue.length,
    release() {
      if (released) return
      released = true
      liveProxies -= 1
      queue = []
      // Comlink never finalizes proxies in a SharedWorker, and a call to a dead port never settles:
      // release the proxy (dropping its pending calls) and close the port ourselves.
      remote[releaseProxy]()
      events.close()
    },
  }
}

function servePort(port: MessagePort): HubApi {
  let attached: AttachedTab | null = null

  function current(): TabHandle {
    if (attached === null) throw new TabNotAttachedError('[callhub] this tab is not attached to the hub: call attach first')
    return attached.handle
  }

  return {
    async attach(request: AttachRequest, events: MessagePort): Promise<Attached> {
      await workerLockHeld
      attached?.dispose()
      // The same tab may attach again through a new port (its first attach timed out): retire the old one.
      const stale = attachedTabs.get(request.tabId)
      if (stale !== undefined) {
        stale.liveness.abort()
        stale.handle.release()
      }
      const handle = createTabHandle(request.tabId, events, (error) => {
        console.warn(`[callhub worker] could not deliver to tab ${request.tabId}:`, error)
      })
      const liveness = new AbortController()
      const tab: AttachedTab = {
        handle,
        liveness,
        dispose() {
          if (attached !== tab) return
          attached = null
          liveness.abort()
          if (attachedTabs.get(handle.id) === tab) {
            attachedTabs.delete(handle.id)
            hub.detach(handle.id)
          }
          handle.release()
        },
      }
      attached = tab
      attachedTabs.set(request.tabId, tab)
      // Chromium fires no MessagePort close event (whatwg/html#1766): the tab holds a Web Lock named for
      // itself for its whole life, and this request is granted when the tab is gone.
      navigator.locks
        .request(`callhub:tab:${request.tabId}`, { signal: liveness.signal }, () => {
          tab.dispose()
          port.close()
        })
        .catch(() => {
          // Aborted: the tab detached first.
        })
      hub.attach(handle, request)
      return { workerLock }
    },
    identify: (identity) => hub.identify(current().id, identity),
    accept: (callLogId) => hub.accept(current().id, callLogId),
    decline: (callLogId) => hub.decline(current().id, callLogId),
    setOnline: (online) => hub.setOnline(online),
    setPresence: (presence) => hub.setPresence(current().id, presence),
    detach: () => attached?.dispose(),
  }
}

self.addEventListener('connect', (event) => {
  const port = event.ports[0]
  if (port === undefined) return
  expose(servePort(port), port)
})

/** For benchmarks and tests: the worker's counters, read through CDP on the shared_worker target. */
Object.assign(self, {
  callhubCounters: () => {
    let queued = 0
    for (const tab of attachedTabs.values()) queued += tab.handle.queued()
    return { ...hub.counters(), proxies: liveProxies, queued }
  },
})
