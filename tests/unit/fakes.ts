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
  /** What `send` took while closing or closed: a browser discards it without an error. */
  discarded: string[] = []
  closedWith: { code?: number; reason?: string } | null = null
  onopen: SocketLike['onopen'] = null
  onmessage: SocketLike['onmessage'] = null
  onclose: SocketLike['onclose'] = null
  onerror: SocketLike['onerror'] = null

  constructor(readonly url: string) {}

  /** As the WebSocket standard has it: an error only before the socket opens, silence once it closes. */
  send(data: string): void {
    if (this.readyState === 0) throw new DOMException('socket not open yet', 'InvalidStateError')
    if (this.readyState === 1) this.sent.push(data)
    else this.discarded.push(data)
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

interface LockRequest {
  owner: string
  ifAvailable: boolean
  signal: AbortSignal | undefined
  callback: (lock: unknown) => Promise<unknown> | unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * An in-memory Web Locks manager shared by several fake hosts or tabs: exclusive locks granted in request
 * order, `ifAvailable`, abort signals, and `kill(owner)`, which drops everything an owner held or waited for,
 * as a browser does when a tab or worker dies.
 */
export function createFakeLocks() {
  const held = new Map<string, { owner: string; release: () => void; steal: () => void }>()
  const queues = new Map<string, LockRequest[]>()
  const dead = new Set<string>()

  function grant(name: string): void {
    if (held.has(name)) return
    const queue = queues.get(name) ?? []
    const next = queue.shift()
    if (next === undefined) return
    let released = false
    const release = () => {
      if (released) return
      released = true
      if (held.get(name)?.release === release) held.delete(name)
      grant(name)
    }
    // Stolen: the holder's request rejects with an AbortError, as in browsers.
    const steal = () => {
      if (released) return
      released = true
      if (held.get(name)?.release === release) held.delete(name)
      next.reject(new DOMException('the lock was stolen', 'AbortError'))
    }
    held.set(name, { owner: next.owner, release, steal })
    Promise.resolve()
      .then(() => next.callback({ name }))
      .then((value) => {
        release()
        next.resolve(value)
      }, (error: unknown) => {
        release()
        next.reject(error)
      })
  }

  function scope(owner: string) {
    return {
      request(name: string, options: { signal?: AbortSignal; ifAvailable?: boolean; steal?: boolean }, callback: (lock: unknown) => Promise<unknown> | unknown): Promise<unknown> {
        if (dead.has(owner)) return new Promise(() => {})
        return new Promise((resolve, reject) => {
          if (options.steal) {
            held.get(name)?.steal()
            const queue = queues.get(name) ?? []
            queue.unshift({ owner, ifAvailable: false, signal: undefined, callback, resolve, reject })
            queues.set(name, queue)
            grant(name)
            return
          }
          if (options.ifAvailable && (held.has(name) || (queues.get(name)?.length ?? 0) > 0)) {
            Promise.resolve().then(() => callback(null)).then(resolve, reject)
            return
          }
          const request: LockRequest = { owner, ifAvailable: options.ifAvailable === true, signal: options.signal, callback, resolve, reject }
          options.signal?.addEventListener('abort', () => {
            const queue = queues.get(name) ?? []
            const index = queue.indexOf(request)
            if (index >= 0) {
              queue.splice(index, 1)
              reject(new DOMException('aborted', 'AbortError'))
            }
          })
          const queue = queues.get(name) ?? []
          queue.push(request)
          queues.set(name, queue)
          grant(name)
        })
      },
    }
  }

  return {
    scope,
    /** The owner died: its locks are released and its waiting requests dropped. */
    kill(owner: string) {
      dead.add(owner)
      for (const [name, queue] of queues) queues.set(name, queue.filter((request) => request.owner !== owner))
      for (const lock of [...held.values()]) if (lock.owner === owner) lock.release()
    },
    holder: (name: string) => held.get(name)?.owner ?? null,
    /** Who waits for `name`, in the order they would be granted it (what `navigator.locks.query()` lists as pending). */
    waiting: (name: string) => (queues.get(name) ?? []).map((request) => request.owner),
  }
}

/** BroadcastChannels that can all be closed at once, as when the host that opened them dies. */
export function channelScope() {
  const opened: BroadcastChannel[] = []
  return {
    open: (name: string) => {
      const channel = new BroadcastChannel(name)
      opened.push(channel)
      return channel as unknown as import('../../protocol/hosts').ChannelLike
    },
    closeAll: () => {
      for (const channel of opened.splice(0)) channel.close()
    },
  }
}
