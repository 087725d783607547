/**
 * Comparator "raw relay", the floor: a SharedWorker owns one socket and posts every frame string to every
 * tab with plain `postMessage`. The page parses and renders each frame exactly as the per-tab page does, and
 * hands frames that are not calls to its message handler.
 */
import { benchWindow, createFrameHandler, resolveSocket } from './page'

const page = benchWindow()
const handleFrame = createFrameHandler(page, { messages: true })
const relay = new SharedWorker('/bench/relay-worker.js', { type: 'module', name: 'bench-relay' })
relay.port.onmessage = (event: MessageEvent<unknown>) => {
  // Frames arrive as the socket's strings; the worker's only other message says the socket is open.
  if (typeof event.data === 'string') handleFrame(event.data)
  else page.benchProbe.opened()
}
relay.port.postMessage(await resolveSocket())
