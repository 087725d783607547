/** Fakes passed to the worker logic as dependencies: no global is patched. */
import type { Clock, SocketLike, Timer } from '../../core/connection'

export interface FakeClock extends Clock {
  /** Runs every timer due within `ms`, in order, moving `now` along. */
  advance(ms: number): void
  pending(): number
}

export function createFakeClock(start = 1_000_000): FakeClock {
  let now = start
  let nextId = 1
  const timers = new Map<number, { at: number; callback: () => void }>()
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++
      // As in browsers and Node: a delay past 2^31 - 1 ms overflows and fires almost at once.
      const delay = ms > 2 ** 31 - 1 ? 1 : Math.max(0, ms)
      timers.set(id, { at: now + delay, callback })
      return id as unknown as Timer
    },
    clearTimeout(timer) {
      timers.delete(timer as unknown as number)
    },
    advance(ms) {
      const end = now + ms
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined
        for (const entry of timers) if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry
        if (due === undefined) break
        timers.delete(due[0])
        now = due[1].at
        due[1].callback()
      }
      now = end
    },
    pending: () => timers.size,
  }
}

export class FakeSocket implements SocketLike {
  readyState = 0
  sent: string[] = []
  closedWith: { code?: number; reason?: string } | null = null
  onopen: SocketLike['onopen'] = null
  onmessage: SocketLike['onmessage'] = null
  onclose: SocketLike['onclose'] = null
  onerror: SocketLike['onerror'] = null

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError: socket not open')
    this.sent.push(data)
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason }
    this.readyState = 3
  }
  /** The server accepts the connection. */
  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }
  /** The server sends a frame. */
  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) })
  }
  /** The connection ends from the server's side (or the network's). */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
  frames(): Array<Record<string, unknown>> {
    return this.sent.map((text) => JSON.parse(text) as Record<string, unknown>)
  }
}

/** Records the sockets a connection or hub creates, in order. */
export function socketFactory() {
  const sockets: FakeSocket[] = []
  return {
    sockets,
    createSocket: (url: string) => {
      const socket = new FakeSocket(url)
      sockets.push(socket)
      return socket
    },
    last: () => sockets[sockets.length - 1]!,
  }
}
