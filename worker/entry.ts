/// <reference lib="webworker" />
/**
 * The SharedWorker host: one per origin (per worker URL), shared by every tab. Each tab's port gets the
 * host's API through Comlink; the hub behind it owns one WebSocket per signed-in profile.
 */
import { expose, releaseProxy, wrap } from 'comlink'
import type { HubApi, TabEvents } from '../protocol/port'
import { createHost } from '../core/host'
import { newId } from '../core/ids'

declare const self: SharedWorkerGlobalScope

const host = createHost({
  hostId: newId(),
  createSocket: (url) => new WebSocket(url),
  clock: { now: () => Date.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (timer) => clearTimeout(timer) },
  random: Math.random,
  log: (line) => console.info(`[callhub worker] ${line}`),
  // Web Locks exist only in secure contexts: elsewhere tabs prove they live by pinging.
  locks: typeof navigator.locks === 'undefined' ? null : navigator.locks,
  channel: typeof BroadcastChannel === 'undefined' ? null : (name) => new BroadcastChannel(name),
})

/** Comlink proxies to tabs' event ports that have not been released: back to zero when every tab is gone. */
let liveProxies = 0

self.addEventListener('connect', (event) => {
  const port = event.ports[0]
  if (port === undefined) return
  const tab = host.connectTab(() => port.close())
  const api: HubApi = {
    ...tab,
    attach(request, events) {
      const remote = wrap<TabEvents>(events)
      liveProxies += 1
      let released = false
      return tab.attach(request, {
        deliver: (batch) => remote.deliver(batch),
        recover: () => remote.recover(),
        release() {
          if (released) return
          released = true
          liveProxies -= 1
          // Comlink never finalizes proxies in a SharedWorker, and a call to a dead port never settles:
          // release the proxy (dropping its pending calls) and close its port ourselves.
          remote[releaseProxy]()
          events.close()
        },
      })
    },
  }
  expose(api, port)
})

/** For benchmarks and tests: the worker's counters, read through CDP on the shared_worker target. */
Object.assign(self, { callhubCounters: () => ({ ...host.counters(), proxies: liveProxies }) })
