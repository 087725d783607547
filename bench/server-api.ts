/**
 * The bench's side of the reference server: its HTTP API, a pipelined sender for bursts, and the clock of
 * the server's sends.
 */
import { connect } from 'node:net'
import { WebSocket } from 'ws'
import { chatIdOf, invitationIdOf } from './frames'

/** Epoch milliseconds at sub-millisecond resolution, like the pages' `performance.timeOrigin + performance.now()`. */
export const now = (): number => performance.timeOrigin + performance.now()

export interface ServerApi {
  login(username: string): Promise<string>
  /** Open, authenticated sockets of one profile key (`Tutor:1`), from `/api/stats`. */
  connections(key: string): Promise<number>
  /** `/api/dev/send`: one frame to every socket of the profile; answers how many sockets it reached. */
  send(key: string, frame: string): Promise<number>
  /**
   * Many `/api/dev/send` requests pipelined on one keep-alive connection, so the server handles them in
   * order and as fast as it can, without the round trip per frame of awaiting each response.
   */
  sendAll(key: string, frames: readonly string[]): Promise<void>
  /** `POST /api/calls` as the caller whose token is given: the server rings every socket of the profile, now and as they authenticate. */
  placeCall(callerToken: string, key: string): Promise<string>
  cancelCall(callerToken: string, callLogId: string): Promise<void>
  /** `/api/dev/drop`: every socket terminated without a close frame. */
  dropAll(): Promise<void>
}

function profileOf(key: string): { profile_type: string; profile_id: number } {
  const [type, id] = key.split(':')
  return { profile_type: type!, profile_id: Number(id) }
}

export function createServerApi(baseUrl: string): ServerApi {
  async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const response = await fetch(baseUrl + path, { method: 'POST', headers, body: JSON.stringify(body) })
    if (!response.ok) throw new Error(`[bench] ${path} answered ${response.status}: ${await response.text()}`)
    return (await response.json()) as T
  }
  return {
    async login(username) {
      return (await post<{ access_token: string }>('/api/login', { username, password: 'demo' })).access_token
    },
    async connections(key) {
      const response = await fetch(`${baseUrl}/api/stats`)
      const { connections } = (await response.json()) as { connections: Record<string, number> }
      return connections[key] ?? 0
    },
    async send(key, frame) {
      return (await post<{ sent: number }>('/api/dev/send', { ...profileOf(key), frame })).sent
    },
    async placeCall(callerToken, key) {
      const { profile_type, profile_id } = profileOf(key)
      const body = { to_profile_type: profile_type, to_profile_id: profile_id, call_type: 'video' }
      return String((await post<{ call_log_id: number | string }>('/api/calls', body, callerToken)).call_log_id)
    },
    async cancelCall(callerToken, callLogId) {
      await post(`/api/calls/${callLogId}/cancel`, {}, callerToken)
    },
    async dropAll() {
      await post('/api/dev/drop', {})
    },
    sendAll: (key, frames) => pipeline(baseUrl, '/api/dev/send', frames.map((frame) => JSON.stringify({ ...profileOf(key), frame }))),
  }
}

/** Writes POST requests back to back on one connection, at most `window` unanswered, and checks each status. */
function pipeline(baseUrl: string, path: string, bodies: readonly string[], window = 256): Promise<void> {
  const { hostname, port } = new URL(baseUrl)
  const STATUS_LINE = /HTTP\/1\.1 (\d{3}) /g
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let written = 0
    let answered = 0
    let unread = ''
    const fail = (error: Error) => {
      socket.destroy()
      reject(error)
    }
    const pump = () => {
      while (written < bodies.length && written - answered < window) {
        const body = bodies[written++]!
        socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      }
    }
    socket.setEncoding('utf8')
    socket.on('connect', pump)
    socket.on('error', fail)
    socket.on('close', () => {
      if (answered < bodies.length) fail(new Error(`[bench] the server closed the pipeline after ${answered} of ${bodies.length} answers`))
    })
    socket.on('data', (chunk: string) => {
      // Responses are small JSON bodies that never contain a status line: count the status lines.
      const text = unread + chunk
      let consumed = 0
      for (const match of text.matchAll(STATUS_LINE)) {
        if (match[1] !== '200') return fail(new Error(`[bench] ${path} answered ${match[1]} in a pipeline`))
        answered += 1
        consumed = match.index + match[0].length
      }
      unread = text.slice(Math.max(consumed, text.length - 16))
      if (answered === bodies.length) {
        socket.end()
        resolve()
      } else pump()
    })
  })
}

export interface ServerSendClock {
  /** When the server first handed the bench invitation (by call id) or chat frame (by message id) to a socket. */
  sentAt(id: string): number | undefined
  /**
   * The server's own sockets of one profile, found by sending a marker frame to it through the API. The
   * burst writes to them directly: the HTTP API costs the server far more per frame than the socket does.
   */
  socketsOf(api: ServerApi, key: string): Promise<WebSocket[]>
  /** Drops the recorded times (between measurements, so a burst's 10,000 do not stay). */
  forget(): void
  /** Restores `ws`'s own `send`. */
  stop(): void
}

/**
 * Timestamps the reference server's sends. The server runs in this process, so wrapping `ws`'s
 * `WebSocket#send` sees the moment it hands a frame to a socket. Only the first socket's send of each bench
 * invitation or chat frame counts: per-tab sockets pay for the server's loop over their sockets, as they would
 * in production.
 */
export function recordServerSends(): ServerSendClock {
  const firstSends = new Map<string, number>()
  const markers = new Map<string, WebSocket[]>()
  const original = WebSocket.prototype.send
  const patched = function (this: WebSocket, ...args: Parameters<WebSocket['send']>): void {
    const [data] = args
    if (typeof data === 'string') {
      markers.get(data)?.push(this)
      const id = invitationIdOf(data) ?? chatIdOf(data)
      if (id !== null && !firstSends.has(id)) firstSends.set(id, now())
    }
    original.apply(this, args)
  }
  WebSocket.prototype.send = patched as WebSocket['send']
  return {
    sentAt: (id) => firstSends.get(id),
    async socketsOf(api, key) {
      const marker = JSON.stringify({ type: 'bench_marker', key, at: now() })
      const sockets: WebSocket[] = []
      markers.set(marker, sockets)
      try {
        const sent = await api.send(key, marker)
        if (sent !== sockets.length) throw new Error(`[bench] the server sent the marker to ${sent} sockets, ${sockets.length} seen`)
        return sockets
      } finally {
        markers.delete(marker)
      }
    },
    forget() {
      firstSends.clear()
    },
    stop() {
      WebSocket.prototype.send = original
    },
  }
}
