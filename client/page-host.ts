/**
 * The hub run by the page itself, where there is no shared worker (or it failed to start). With Web Locks and
 * BroadcastChannel every tab runs one, and the tab holding a profile's owner lock owns its socket for all
 * the others (`leader-tab`); with neither, each tab owns its own socket (`per-tab`, as before callhub).
 * Loaded only when needed.
 */
import type { ChannelLike } from '../protocol/hosts'
import { createHost } from '../core/host'
import type { Locks } from '../core/host'
import { newId } from '../core/ids'
import type { Connector } from './link'

export function pageHostConnector(
  locks: Locks | null, channel: ((name: string) => ChannelLike) | null, log: (line: string) => void,
  recover: () => Promise<unknown[]>,
): Connector {
  const host = createHost({
    hostId: `tab-${newId()}`,
    createSocket: (url) => new WebSocket(url),
    clock: { now: () => Date.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (timer) => clearTimeout(timer) },
    random: Math.random,
    log,
    locks,
    channel,
  })
  // A frozen tab cannot serve anyone: before the browser freezes it, it gives its sockets to the other tabs
  // (Page Lifecycle API; Chromium fires `freeze`, other engines do not freeze this way).
  document.addEventListener('freeze', () => host.suspend())
  return (deliver) => {
    const tab = host.connectTab()
    return {
      calls: tab,
      attach: (request) => tab.attach(request, {
        deliver: (batch) => {
          deliver(batch)
          return Promise.resolve()
        },
        release: () => {},
        recover,
      }),
      failed: new Promise<string>(() => {}),
      dispose: () => tab.disconnect(),
    }
  }
}
