/** The connector to a shared worker host: Comlink over the worker's port, events back on a port of their own. */
import { expose, releaseProxy, transfer, wrap } from 'comlink'
import type { HubApi, TabEvents } from '../protocol/port'
import type { Connector } from './link'

export function sharedWorkerConnector(start: () => SharedWorker, describe: string, recover: () => Promise<unknown[]>): Connector {
  return (deliver) => {
    const worker = start()
    const channel = new MessageChannel()
    const events: TabEvents = { deliver, recover }
    expose(events, channel.port1)
    const api = wrap<HubApi>(worker.port)
    // A script that fails to load (a 404 after a deploy, a blocked URL) fires `error` on the SharedWorker.
    const failed = new Promise<string>((resolve) => {
      worker.addEventListener('error', () => resolve(`the shared worker ${describe} failed to load`), { once: true })
    })
    return {
      calls: api,
      attach: (request) => api.attach(request, transfer(channel.port2, [channel.port2])),
      failed,
      dispose() {
        api[releaseProxy]()
        channel.port1.close()
        worker.port.close()
      },
    }
  }
}
