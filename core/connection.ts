import { MessageDroppedError } from '../protocol/errors'
import type { ConnectionState, LastClose } from '../protocol/port'
import { parseServerFrame } from '../protocol/wire'
import type { HubFrame, ServerFrame } from '../protocol/wire'
import { FIRST_RETRY_EXPONENT, classifyClose, retryDelay } from './backoff'
import { OUTBOX_BYTES, OUTBOX_FRAMES, OUTBOX_WAIT } from './limits'
import type { Settings } from './settings'

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

/** The states a connection can be in (the tab-side identity states are never its own). */
export type SocketState = Exclude<ConnectionState, { type: 'signed-out' } | { type: 'no-profile' }>

export interface ConnectionOptions {
  /** Read at every connect, so a tab's new URL is used by the next connection. */
  url: () => string
  /** Read at every connect, so a new token is used by the next connection. */
  token: () => string
  /** Read at use: a session's settings change only by an explicit `configure`. */
  settings: () => Settings
  createSocket: (url: string) => SocketLike
  clock: Clock
  random: () => number
  online: boolean
  /** Every frame but the ping's answer and the auth ack, in the order the socket received them. */
  onFrame: (frame: ServerFrame) => void
  onState: (state: SocketState) => void
  log: (line: string) => void
}

export interface Connection {
  readonly state: SocketState
  readonly lastClose: LastClose | null
  /** Writes a frame now if the backend has accepted the socket; false otherwise (answers are never queued). */
  sendNow(frame: HubFrame): boolean
  /**
   * Writes `text` through the outbox: at once when the socket is accepted, else in order once it is.
   * Resolves when written; rejects with `MessageDroppedError` when the outbox is full, the frame waited
   * longer than `OUTBOX_WAIT`, the credentials were rejected, or the connection closed for good.
   */
  send(text: string): Promise<void>
  setOnline(online: boolean): void
  /** The identity changed: leave `unauthorized` / `waiting` and connect now. */
  retryNow(): void
  /** Final: closes the socket, cancels every timer, drops the outbox, never reconnects. */
  close(reason: string): void
}

const OPEN = 1
/** Without acks, a socket that stays open this long (or carries a frame) counts as accepted by the backend. */
export const STABLE_AFTER = 10_000
export { OUTBOX_BYTES, OUTBOX_FRAMES, OUTBOX_WAIT } from './limits'

interface Queued {
  text: string
  queuedAt: number
  resolve: () => void
  reject: (error: Error) => void
}

/** One reconnecting WebSocket for one profile, with its outbox. */
export function createConnection(options: ConnectionOptions): Connection {
  const { url, token, settings, createSocket, clock, random, onFrame, onState, log } = options
  let online = options.online
  let state: SocketState = { type: 'connecting', attempt: 0 }
  let lastClose: LastClose | null = null
  let socket: SocketLike | null = null
  /** The backend accepted the current socket: its drop starts again from the first backoff window. */
  let accepted = false
  let openedAt: number | null = null
  let attempt = 0
  let timer: Timer | null = null
  /** The token the current socket authenticated with: a rejection of an older token is no verdict on a newer one. */
  let sentToken: string | null = null
  let lastTraffic = 0
  const outbox: Queued[] = []
  let outboxBytes = 0
  let outboxTimer: Timer | null = null

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

  function write(text: string): boolean {
    if (socket === null || socket.readyState !== OPEN) return false
    try {
      socket.send(text)
      return true
    } catch (error) {
      log(`could not write a frame: ${String(error)}`)
      return false
    }
  }

  /** The backend accepted the socket: report `open` and write what waited. */
  function accept(): void {
    if (accepted) return
    accepted = true
    watchSilence()
    setState({ type: 'open', since: openedAt ?? clock.now() })
    flushOutbox()
  }

  /**
   * One timer serves the silence before a ping and the wait for an answer; it first fires `pingAfter` after
   * the socket counts as open. Frames only stamp `lastTraffic`; the timer re-arms itself for the rest of the
   * silence, so a burst sets no timers. Without an application ping there is nothing to do: the backend
   * chose to rely on TCP.
   */
  function watchSilence(): void {
    const { pingAfter, pongTimeout, backend } = settings()
    if (backend.ping === null) {
      clearTimer()
      return
    }
    const ping = backend.ping.frame
    const checkSilence = () => {
      const quiet = clock.now() - lastTraffic
      if (quiet < pingAfter) return setTimer(checkSilence, pingAfter - quiet)
      write(ping)
      const pingedAt = clock.now()
      setTimer(() => {
        // Any frame since the ping answers it (a `pongTimeout` longer than `pingAfter` included).
        if (lastTraffic >= pingedAt) return checkSilence()
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
    accepted = false
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
    const { pongTimeout, backend } = settings()
    setTimer(() => abandon('socket did not open in time'), pongTimeout)
    current.onopen = () => {
      openedAt = clock.now()
      if (backend.authFrame) {
        sentToken = token()
        write(JSON.stringify({ type: 'auth', token: sentToken } satisfies HubFrame))
      }
      if (backend.authFrame && backend.acks) {
        setTimer(() => abandon(`the backend did not acknowledge auth within ${pongTimeout} ms`), pongTimeout)
      } else {
        // Nothing will confirm this socket: it is open now, and counts as accepted once it proves stable.
        setState({ type: 'open', since: openedAt })
        watchSilence()
        flushOutbox()
      }
    }
    current.onmessage = (event) => {
      lastTraffic = clock.now()
      const frame = parseServerFrame(event.data)
      if (frame.type === 'rejected') return log(`dropped a frame: ${frame.reason}`)
      const { backend: now } = settings()
      if (frame.type === 'ack' && frame.of === 'auth' && now.authFrame && now.acks) return accept()
      if (frame.type === 'message' && now.ping !== null && frame.frameType === now.ping.answer) return
      // Without acks, traffic on the socket is the backend's acceptance (it is open from `onopen` on).
      if (!(now.authFrame && now.acks)) accepted = true
      onFrame(frame)
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
    const stable = openedAt !== null && at - openedAt >= STABLE_AFTER
    // Backoff by outcome: a connection the backend accepted starts again from the first window.
    if (accepted || stable) attempt = 0
    accepted = false
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
      dropOutbox(`the backend rejected this profile's credentials (close ${code})`)
      setState({ type: 'unauthorized', code, reason })
      return
    }
    if (!online) {
      setState({ type: 'offline' })
      return
    }
    attempt += 1
    const { retryBase, maxRetryDelay } = settings()
    const jitter = retryDelay(attempt - 1 + FIRST_RETRY_EXPONENT, random(), { base: retryBase, cap: maxRetryDelay })
    const delay = closeClass.minDelay + jitter
    log(`socket closed (${code}${reason ? ` ${reason}` : ''}); retry ${attempt} in ${delay} ms`)
    setTimer(connect, delay)
    setState({ type: 'waiting', attempt, retryAt: at + delay })
  }

  function flushOutbox(): void {
    while (outbox.length > 0 && state.type === 'open') {
      const next = outbox[0]!
      if (!write(next.text)) return
      outbox.shift()
      outboxBytes -= next.text.length
      next.resolve()
    }
    armOutboxTimer()
  }

  /** One timer, for the oldest frame's deadline: frames that waited too long are dropped, by name. */
  function armOutboxTimer(): void {
    if (outboxTimer !== null) clock.clearTimeout(outboxTimer)
    outboxTimer = null
    const oldest = outbox[0]
    if (oldest === undefined) return
    outboxTimer = clock.setTimeout(() => {
      outboxTimer = null
      const now = clock.now()
      while (outbox.length > 0 && now - outbox[0]!.queuedAt >= OUTBOX_WAIT) {
        const expired = outbox.shift()!
        outboxBytes -= expired.text.length
        expired.reject(new MessageDroppedError(`[callhub] a frame waited ${OUTBOX_WAIT} ms for the socket (${state.type}) and was dropped`))
      }
      armOutboxTimer()
    }, Math.max(0, oldest.queuedAt + OUTBOX_WAIT - clock.now()))
  }

  function dropOutbox(why: string): void {
    for (const queued of outbox.splice(0)) queued.reject(new MessageDroppedError(`[callhub] a frame was dropped: ${why}`))
    outboxBytes = 0
    armOutboxTimer()
  }

  connect()

  return {
    get state() {
      return state
    },
    get lastClose() {
      return lastClose
    },
    sendNow(frame) {
      return state.type === 'open' && write(JSON.stringify(frame))
    },
    send(text) {
      if (state.type === 'closed') return Promise.reject(new MessageDroppedError(`[callhub] the connection is closed (${state.reason})`))
      if (state.type === 'unauthorized') {
        return Promise.reject(new MessageDroppedError('[callhub] the backend rejected this profile\'s credentials: sign in again'))
      }
      if (outbox.length === 0 && state.type === 'open' && write(text)) return Promise.resolve()
      if (outbox.length >= OUTBOX_FRAMES || outboxBytes + text.length > OUTBOX_BYTES) {
        return Promise.reject(new MessageDroppedError(`[callhub] the outbox is full (${OUTBOX_FRAMES} frames or ${OUTBOX_BYTES} bytes wait for the socket, now ${state.type})`))
      }
      return new Promise<void>((resolve, reject) => {
        outbox.push({ text, queuedAt: clock.now(), resolve, reject })
        outboxBytes += text.length
        if (outbox.length === 1) armOutboxTimer()
      })
    },
    setOnline(next) {
      if (next === online) return
      online = next
      if (state.type === 'closed') return
      if (!online) {
        if (state.type === 'unauthorized') return
        clearTimer()
        if (socket !== null) release(socket, 1000, 'offline')
        socket = null
        accepted = false
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
      dropOutbox(`the connection closed (${reason})`)
      setState({ type: 'closed', reason })
    },
  }
}
