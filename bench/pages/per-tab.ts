/**
 * Comparator "per-tab sockets", the platform's old design: every page resolves the user and opens its own
 * WebSocket, and its chat widget opens one more. No worker, no reconnect logic (the old pages retried every
 * 5 s; nothing here drops).
 */
import { benchWindow, createFrameHandler, resolveSocket } from './page'
import type { SocketIdentity } from './page'

const page = benchWindow()
const probe = page.benchProbe

function openSocket({ url, token }: SocketIdentity, onFrame: (raw: unknown) => void, onOpen: () => void): WebSocket {
  const socket = new WebSocket(url)
  socket.onopen = () => {
    socket.send(JSON.stringify({ type: 'auth', token }))
    onOpen()
  }
  socket.onmessage = (event) => onFrame(event.data)
  return socket
}

const identity = await resolveSocket()
openSocket(identity, createFrameHandler(page), () => probe.opened())

// The chat widget's socket carries chat messages; call frames that reach it are not its business.
let chat: WebSocket | null = null
probe.openChat = () => {
  chat ??= openSocket(identity, () => {}, () => {})
}
probe.closeChat = () => {
  chat?.close()
  chat = null
}
