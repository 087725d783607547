/**
 * `hub.socket()`: an object that behaves like the browser's WebSocket, carried by the hub's one socket, for
 * code written against `window.chatWebSocket = new WebSocket(…)`. Differences, by design:
 * - it reopens itself: the shared socket's drop is a `close` event, its return an `open` event, on the same
 *   object (code that makes a new one on `close` works too);
 * - `close()` detaches this facade only; the profile's socket carries on for the rest;
 * - a frame sent while the shared socket reconnects waits in the hub's outbox instead of being lost.
 */
import type { Status } from '../protocol/port'

/** What the facade needs of the hub (a subset of `CallHub`). */
export interface SocketSource {
  subscribe(listener: (status: Status) => void): () => void
  onMessage(listener: (text: string) => void): () => void
  send(text: string): Promise<void>
  url(): string
}

type Handler<E extends Event> = ((this: HubSocket, event: E) => unknown) | null

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

export class HubSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING
  static readonly OPEN = OPEN
  static readonly CLOSING = CLOSING
  static readonly CLOSED = CLOSED
  readonly CONNECTING = CONNECTING
  readonly OPEN = OPEN
  readonly CLOSING = CLOSING
  readonly CLOSED = CLOSED
  readonly protocol = ''
  readonly extensions = ''
  readonly bufferedAmount = 0
  binaryType: 'blob' | 'arraybuffer' = 'blob'
  onopen: Handler<Event> = null
  onmessage: Handler<MessageEvent<string>> = null
  onclose: Handler<CloseEvent> = null
  onerror: Handler<Event> = null
  #readyState = CONNECTING
  #detached = false
  readonly #source: SocketSource
  readonly #unsubscribe: Array<() => void>

  constructor(source: SocketSource) {
    super()
    this.#source = source
    this.#unsubscribe = [
      source.subscribe((status) => this.#status(status)),
      source.onMessage((text) => {
        if (this.#readyState === OPEN) this.#fire(new MessageEvent('message', { data: text, origin: this.#origin() }))
      }),
    ]
  }

  get readyState(): number {
    return this.#readyState
  }

  get url(): string {
    return this.#source.url()
  }

  /** Writes one frame on the shared socket. Throws `InvalidStateError` before the first open, as WebSocket does. */
  send(data: string): void {
    if (this.#readyState === CONNECTING) throw new DOMException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", 'InvalidStateError')
    if (this.#detached) {
      console.warn('[callhub] send() on a closed hub.socket(): the frame was not sent')
      return
    }
    this.#source.send(String(data)).catch((error: unknown) => {
      console.warn('[callhub] a frame sent through hub.socket() was dropped:', error)
      this.#fire(new Event('error'))
    })
  }

  /** Detaches this facade (a `close` event follows); the profile's socket stays for everything else. */
  close(code = 1000, reason = ''): void {
    if (this.#detached) return
    this.#detached = true
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    this.#readyState = CLOSING
    queueMicrotask(() => {
      this.#readyState = CLOSED
      this.#fire(closeEvent(code, reason, true))
    })
  }

  #origin(): string {
    try {
      return new URL(this.url).origin
    } catch {
      return ''
    }
  }

  #status(status: Status): void {
    if (this.#detached) return
    const open = status.type === 'open'
    if (open && this.#readyState !== OPEN) {
      this.#readyState = OPEN
      this.#fire(new Event('open'))
    } else if (!open && this.#readyState === OPEN) {
      this.#readyState = CLOSED
      const last = status.lastClose
      this.#fire(closeEvent(last?.code ?? 1006, last?.reason ?? status.type, false))
    }
  }

  #fire(event: Event): void {
    const handler = (this as unknown as Record<string, unknown>)[`on${event.type}`]
    if (typeof handler === 'function') {
      try {
        handler.call(this, event)
      } catch (error) {
        console.error(`[callhub] an on${event.type} handler of hub.socket() threw:`, error)
      }
    }
    this.dispatchEvent(event)
  }
}

function closeEvent(code: number, reason: string, wasClean: boolean): CloseEvent {
  // CloseEvent exists in browsers; elsewhere (Node tests) an Event with the same fields stands in.
  if (typeof CloseEvent === 'function') return new CloseEvent('close', { code, reason, wasClean })
  return Object.assign(new Event('close'), { code, reason, wasClean }) as CloseEvent
}
