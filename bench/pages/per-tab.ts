/**
 * Comparator "per-tab sockets", the platform's old design: every page resolves the user and opens its own
 * WebSocket, and its chat widget opens one more. When the call socket closes, the page starts over 5 s
 * later (`/api/me`, then a new socket), as the old page code did (platform-previous-fix.md, "Connection
 * Drops"); the chat socket is the chat widget's, opened and closed by the bench.
 */
import { benchWindow, createChatHandler, createFrameHandler, resolveSocket } from './page'
import type { SocketIdentity } from './page'

/** The old page code's fixed reconnect delay. */
const RECONNECT_DELAY = 5_000

const page = benchWindow()
const probe = page.benchProbe
// No hub here; the engine drivers wait for `window.callHub` to be defined before they hand over a tab.
page.callHub = null

function openSocket({ url, token }: SocketIdentity, onFrame: (raw: unknown) => void, onOpen: () => void): WebSocket {
  const socket = new WebSocket(url)
  socket.onopen = () => {
    socket.send(JSON.stringify({ type: 'auth', token }))
    onOpen()
  }
  socket.onmessage = (event) => onFrame(event.data)
  return socket
}

const handleCallFrame = createFrameHandler(page, { messages: false })
let identity: SocketIdentity | null = null
async function connectCalls(): Promise<void> {
  identity = await resolveSocket()
  const socket = openSocket(identity, handleCallFrame, () => probe.opened())
  socket.onclose = reconnectLater
}
function reconnectLater(): void {
  setTimeout(() => void connectCalls().catch(reconnectLater), RECONNECT_DELAY)
}
await connectCalls()

// The chat widget's socket carries chat messages; call frames that reach it are not its business.
let chat: WebSocket | null = null
probe.openChat = () => {
  if (identity !== null) chat ??= openSocket(identity, createChatHandler(probe), () => {})
}
probe.closeChat = () => {
  chat?.close()
  chat = null
}
