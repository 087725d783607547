import { parseServerFrame } from '../protocol'
import type { ConnectionState, HubFrame, LastClose, ServerFrame } from '../protocol'
import { FIRST_RETRY_EXPONENT, classifyClose, retryDelay } from './backoff'

/** A handler type checked bivariantly, so the DOM's WebSocket (with its richer event types) fits. */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack']

/** The part of the browser's WebSocket the connection uses; tests pass a fake. */
export interface SocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: Handler<unknown> | null
  onmessage: Handler<{ data: unknown }> | null
  onclose: Handler<{ code: number; reason: string }> | null
  onerror: Handler<unknown> | null
}

export type Timer = ReturnType<typeof setTimeout>

/** Injected time, so tests drive it with fakes instead of patching globals. */
export interface Clock {
  now(): number
  setTimeout(callback: () => void, ms: number): Timer
  clearTimeout(timer: Timer): void
}

export interface ConnectionTiming {
  retryBase: number
  maxRetryDelay: number
  pingAfter: number
  pongTimeout: number
}

/** The states a connection can be in (the tab-side identity states are never its own). */
export type SocketState = Exclude<ConnectionState, { type: 'signed-out' } | { type: 'no-profile' }>

export interface ConnectionOptions {
  /** Read at every connect, so a tab's new URL is used by the next connection. */
  url: () => string
  /** Read at every connect, so a new token is used by the next connection. */
  token: () => string
  createSocket: (url: string) => SocketLike
  clock: Clock
  random: () => number
  /** Read at use, so the latest settings from the tabs apply. */
  timing: () => ConnectionTiming
  online: boolean
  onFrame: (frame: ServerFrame) => void
  onState: (state: SocketState) => void
  log: (line: string) => void
}

export interface Connection {
  readonly state: SocketState
  readonly lastClose: LastClose | null
  /** Sends a frame if the socket is open; false otherwise. */
  send(frame: HubFrame): boolean
  setOnline(online: boolean): void
  /** The identity changed: leave `unauthorized` / `waiting` and connect now. */
  retryNow(): void
  /** Final: closes the socket, cancels every timer, never reconnects. */
  close(reason: string): void
}

const OPEN = 1
/** The attempt count resets only once a socket has stayed open this long. */
export const STABLE_AFTER = 10_000

/** One reconnecting WebSocket for one profile. */
export function createConnection(options: ConnectionOptions): Connection {
  const { url, token, createSocket, clock, random, timing, onFrame, onState, log } = options
  let online = options.online
  let state: SocketState = { type: 'connecting', attempt: 0 }
  let lastClose: LastClose | null = null
  let socket: SocketLike | null = null
  let openedAt: number | null = null
  let attempt = 0
  let timer: Timer | null = null
  /** The token the current socket authenticated with: a rejection of an older token is no verdict on a newer one. */
  let sentToken: string | null = null

  function setState(next: SocketState): void {
    state = next
    onState(next)
  }

  function setTimer(callback: () => void, ms: number): void {
    if (timer !== null) clock.clearTimeout(timer)
    timer = clock.setTimeout(() => {
      timer = null
      callback()
    }, ms)
  }

  function clearTimer(): void {
    if (timer !== null) clock.clearTimeout(timer)
    timer = null
  }

  let lastTraffic = 0

  /**
   * One timer serves the connect timeout, the silence before a ping, and the wait for an answer. Frames only
   * stamp `lastTraffic`; the timer re-arms itself for the rest of the silence, so a burst sets no timers.
   */
  function awaitTraffic(): void {
    lastTraffic = clock.now()
    const { pingAfter, pongTimeout } = timing()
    const checkSilence = () => {
      const quiet = clock.now() - lastTraffic
      if (quiet < pingAfter) return setTimer(checkSilence, pingAfter - quiet)
      send({ type: 'ping' })
      setTimer(() => {
        if (clock.now() - lastTraffic < pingAfter) return checkSilence()
        abandon(`no frame within ${pongTimeout} ms of a ping`)
      }, pongTimeout)
    }
    setTimer(checkSilence, pingAfter)
  }

  function release(current: SocketLike, code: number, reason: string): void {
    current.onopen = current.onmessage = current.onclose = current.onerror = null
    try {
      current.close(code, reason)
    } catch {
      // Closing a socket that never opened may throw; it is being dropped either way.
    }
  }

  /** Drops a socket that went silent: a half-open TCP connection may never fire `close`. */
  function abandon(reason: string): void {
    if (socket === null) return
    log(`${reason}: reconnecting`)
    release(socket, 4000, reason)
    closed(1006, reason)
  }

  function connect(): void {
    clearTimer()
    setState({ type: 'connecting', attempt })
    let current: SocketLike
    const target = url()
    try {
      current = createSocket(target)
    } catch (error) {
      log(`cannot open a socket to ${target}: ${String(error)}`)
      closed(1006, 'socket could not be created')
      return
    }
    socket = current
    setTimer(() => abandon('socket did not open in time'), timing().pongTimeout)
    current.onopen = () => {
      openedAt = clock.now()
      sentToken = token()
      current.send(JSON.stringify({ type: 'auth', token: sentToken } satisfies HubFrame))
      awaitTraffic()
      setState({ type: 'open', since: openedAt })
    }
    current.onmessage = (event) => {
      lastTraffic = clock.now()
      const frame = parseServerFrame(event.data)
      if (frame.type === 'rejected') log(`dropped a frame: ${frame.reason}`)
      else onFrame(frame)
    }
    current.onclose = (event) => {
      current.onopen = current.onmessage = current.onclose = current.onerror = null
      closed(event.code, event.reason)
    }
    // `error` is always followed by `close`, which carries the code.
    current.onerror = null
  }

  function closed(code: number, reason: string): void {
    clearTimer()
    socket = null
    const at = clock.now()
    lastClose = { code, reason, at }
    if (openedAt !== null && at - openedAt >= STABLE_AFTER) attempt = 0
    openedAt = null
    const closeClass = classifyClose(code, reason)
    if (closeClass.kind === 'credentials' && sentToken !== null && sentToken !== token()) {
      log(`credentials rejected (close ${code}), but a new token arrived meanwhile: retrying with it`)
      sentToken = null
      attempt = 0
      connect()
      return
    }
    if (closeClass.kind === 'credentials') {
      log(`credentials rejected (close ${code}${reason ? ` ${reason}` : ''}): waiting for a new identity`)
      setState({ type: 'unauthorized', code, reason })
      return
    }
    if (!online) {
      setState({ type: 'offline' })
      return
    }
    attempt += 1
    const { retryBase, maxRetryDelay } = timing()
    const jitter = retryDelay(attempt - 1 + FIRST_RETRY_EXPONENT, random(), { base: retryBase, cap: maxRetryDelay })
    const delay = closeClass.minDelay + jitter
    log(`socket closed (${code}${reason ? ` ${reason}` : ''}); retry ${attempt} in ${delay} ms`)
    setTimer(connect, delay)
    setState({ type: 'waiting', attempt, retryAt: at + delay })
  }

  function send(frame: HubFrame): boolean {
    if (socket === null || socket.readyState !== OPEN || state.type !== 'open') return false
    socket.send(JSON.stringify(frame))
    return true
  }

  connect()

  return {
    get state() {
      return state
    },
    get lastClose() {
      return lastClose
    },
    send,
    setOnline(next) {
      if (next === online) return
      online = next
      if (state.type === 'closed') return
      if (!online) {
        if (state.type === 'unauthorized') return
        clearTimer()
        if (socket !== null) release(socket, 1000, 'offline')
        socket = null
        openedAt = null
        setState({ type: 'offline' })
      } else if (state.type === 'offline') {
        connect()
      }
    },
    retryNow() {
      if (state.type === 'unauthorized') attempt = 0
      if (state.type === 'unauthorized' || state.type === 'waiting') {
        if (online) connect()
        else setState({ type: 'offline' })
      }
    },
    close(reason) {
      clearTimer()
      if (socket !== null) release(socket, 1000, reason)
      socket = null
      setState({ type: 'closed', reason })
    },
  }
}
