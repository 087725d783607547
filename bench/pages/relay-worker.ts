/**
 * The raw relay's SharedWorker: one WebSocket, every frame string posted as is to every tab that said
 * hello. No parsing, no Comlink, no per-call state, no tab liveness (tabs are never forgotten): the least a
 * shared worker can do, and so the floor for callhub's fan-out.
 */
import type { SocketIdentity } from './page'

/** The root tsconfig gives bench/ the DOM lib, which lacks SharedWorkerGlobalScope: this is all we use of it. */
interface SharedWorkerScope {
  addEventListener(type: 'connect', listener: (event: MessageEvent) => void): void
}

const OPEN_MESSAGE = { type: 'open' }
const tabs = new Set<MessagePort>()
let socket: WebSocket | null = null
let open = false

function connect({ url, token }: SocketIdentity): void {
  const current = new WebSocket(url)
  socket = current
  current.onopen = () => {
    current.send(JSON.stringify({ type: 'auth', token }))
    open = true
    for (const tab of tabs) tab.postMessage(OPEN_MESSAGE)
  }
  current.onmessage = (event: MessageEvent<unknown>) => {
    for (const tab of tabs) tab.postMessage(event.data)
  }
}

;(globalThis as unknown as SharedWorkerScope).addEventListener('connect', (event) => {
  const port = event.ports[0]
  if (port === undefined) return
  port.onmessage = (message: MessageEvent<SocketIdentity>) => {
    tabs.add(port)
    if (socket === null) connect(message.data)
    else if (open) port.postMessage(OPEN_MESSAGE)
  }
})
