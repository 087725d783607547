/**
 * The reference backend: the HTTP API and WebSocket of ../shared/DESIGN.md, in memory. The demo, the
 * browser tests and the benchmarks all drive it. `/api/dev/*` exists for tests: never expose it.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { WebSocket, WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { demoPassword, demoUsers, meOf, ownerOf, profileType, roleOf } from './users'
import type { DemoUser, Role } from './users'

export interface ServerOptions {
  /** @default 8000; 0 picks a free port */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** Folder of built demo pages to serve; null serves none. @default null */
  staticDir?: string | null
  /** How long a call rings before it is `missed`, in ms. @default 45000 */
  ringTimeout?: number
  /** How long a new socket may take to send its `auth` frame, in ms. @default 10000 */
  authTimeout?: number
  /** @default console.log */
  log?: (line: string) => void
}

export interface ReferenceServer {
  url: string
  port: number
  close(): Promise<void>
}

type CallStatus = 'ringing' | 'accepted' | 'declined' | 'cancelled' | 'missed'

interface Call {
  call_log_id: number
  conversation_id: number
  call_type: 'voice' | 'video'
  offer: unknown
  caller: DemoUser
  from_profile_id: number
  from_profile_type: string
  to_profile_id: number
  to_profile_type: string
  toKey: string
  status: CallStatus
  created_at: string
  expires_at: string
  ended_at: string | null
  expiry: NodeJS.Timeout
}

interface Peer {
  ws: WebSocket
  /** `Tutor:1` once the socket has authenticated. */
  key: string | null
}

/** Room for a 1 MiB dev frame even when JSON escapes every byte (\u0000 is 6 bytes). */
const MAX_BODY = 8 * 1024 * 1024
const MAX_DEV_FRAME = 1024 * 1024
/** The hub drops frames over 64 KiB: an invitation must fit. */
const MAX_INVITATION_BYTES = 64 * 1024
const mimeTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

/** Percent-decodes URL parts; null for malformed escapes (a request must never crash the server). */
function safeDecode(...parts: string[]): string[] | null {
  try {
    return parts.map((part) => decodeURIComponent(part))
  } catch {
    return null
  }
}

function avatarSvg(user: DemoUser): string {
  const initials = user.name.split(' ').map((part) => part[0]).join('')
  const hue = (user.id * 137) % 360
  return `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96"><rect width="96" height="96" fill="hsl(${hue} 55% 45%)"/><text x="48" y="60" font-family="sans-serif" font-size="36" fill="#fff" text-anchor="middle">${initials}</text></svg>`
}

export async function startServer(options: ServerOptions = {}): Promise<ReferenceServer> {
  const {
    port = 8000, host = '127.0.0.1', staticDir = null, ringTimeout = 45_000, authTimeout = 10_000,
    log = (line: string) => console.log(line),
  } = options
  const tokens = new Map<string, DemoUser>()
  const peers = new Set<Peer>()
  const calls = new Map<number, Call>()
  const conversations = new Map<string, number>()
  /** Per profile key: socket upgrades tried, and sockets that authenticated, since the server started. */
  const attempts = new Map<string, number>()
  const authenticated = new Map<string, number>()
  const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)
  let nextCallId = 1
  let stalledUntil = 0

  const stalled = () => Date.now() < stalledUntil

  function sendTo(key: string, frame: string, except: Peer | null = null): number {
    if (stalled()) return 0
    let sent = 0
    for (const peer of peers) {
      if (peer.key === key && peer !== except && peer.ws.readyState === WebSocket.OPEN) {
        peer.ws.send(frame)
        sent += 1
      }
    }
    return sent
  }

  function invitationFrame(call: Call): string {
    return JSON.stringify({
      type: 'call_invitation',
      call_log_id: call.call_log_id,
      conversation_id: call.conversation_id,
      call_type: call.call_type,
      from_name: call.caller.name,
      from_avatar: `/avatars/${call.caller.username}.svg`,
      from_profile_id: call.from_profile_id,
      from_profile_type: call.from_profile_type,
      offer: call.offer,
      expires_at: call.expires_at,
    })
  }

  function endCall(call: Call, status: Exclude<CallStatus, 'ringing'>): void {
    clearTimeout(call.expiry)
    call.status = status
    call.ended_at = new Date().toISOString()
  }

  function callView(call: Call) {
    const { caller, expiry, toKey, ...rest } = call
    return { ...rest, from_name: caller.name }
  }

  function userOf(request: IncomingMessage): DemoUser {
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')
    const user = match?.[1] ? tokens.get(match[1]) : undefined
    if (user === undefined) throw new HttpError(401, 'a valid Bearer token is required')
    return user
  }

  async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of request) {
      size += (chunk as Buffer).length
      if (size > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`)
      chunks.push(chunk as Buffer)
    }
    let body: unknown
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
    } catch {
      throw new HttpError(400, 'body is not JSON')
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object')
    return body as Record<string, unknown>
  }

  function targetKey(body: Record<string, unknown>, idField: string, typeField: string): { id: number; type: string; key: string; owner: DemoUser } {
    const rawType = body[typeField]
    const role = typeof rawType === 'string' ? roleOf(rawType) : null
    const rawId = body[idField]
    if (role === null || (typeof rawId !== 'number' && typeof rawId !== 'string')) {
      throw new HttpError(400, `${idField} and ${typeField} (tutor, student, parent or advertiser) are required`)
    }
    const owner = ownerOf(role, rawId)
    if (owner === null) throw new HttpError(404, `no ${profileType(role)} profile ${String(rawId)}`)
    const id = owner.profiles[role]!
    return { id, type: profileType(role), key: `${profileType(role)}:${id}`, owner }
  }

  function conversationOf(a: DemoUser, b: DemoUser): number {
    const pair = [a.id, b.id].sort((x, y) => x - y).join(':')
    let id = conversations.get(pair)
    if (id === undefined) {
      id = conversations.size + 1
      conversations.set(pair, id)
    }
    return id
  }

  function placeCall(caller: DemoUser, body: Record<string, unknown>): Call {
    const target = targetKey(body, 'to_profile_id', 'to_profile_type')
    const callType = body.call_type ?? 'voice'
    if (callType !== 'voice' && callType !== 'video') throw new HttpError(400, 'call_type must be "voice" or "video"')
    const fromRole: Role | null = typeof body.from_profile_type === 'string' ? roleOf(body.from_profile_type) : caller.roles[0] ?? null
    const fromId = fromRole === null ? undefined : caller.profiles[fromRole]
    if (fromRole === null || fromId === undefined) throw new HttpError(400, 'the caller has no such profile to call from')
    const expiresIn = body.expires_in ?? ringTimeout / 1000
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0 || expiresIn > 600) {
      throw new HttpError(400, 'expires_in must be a number of seconds from 0 to 600')
    }
    const now = Date.now()
    const call: Call = {
      call_log_id: nextCallId++,
      conversation_id: conversationOf(caller, target.owner),
      call_type: callType,
      offer: body.offer ?? null,
      caller,
      from_profile_id: fromId,
      from_profile_type: profileType(fromRole),
      to_profile_id: target.id,
      to_profile_type: target.type,
      toKey: target.key,
      status: 'ringing',
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + expiresIn * 1000).toISOString(),
      ended_at: null,
      expiry: setTimeout(() => {
        if (call.status === 'ringing') endCall(call, 'missed')
      }, expiresIn * 1000),
    }
    const frame = invitationFrame(call)
    if (Buffer.byteLength(frame) > MAX_INVITATION_BYTES) {
      clearTimeout(call.expiry)
      throw new HttpError(413, `the invitation would be over ${MAX_INVITATION_BYTES} bytes (the hub drops larger frames): send a smaller offer`)
    }
    calls.set(call.call_log_id, call)
    const sockets = sendTo(call.toKey, frame)
    log(`call ${call.call_log_id}: ${caller.username} → ${call.toKey} (${sockets} socket${sockets === 1 ? '' : 's'})`)
    return call
  }

  function callFor(user: DemoUser, rawId: string): Call {
    const call = calls.get(Number(rawId))
    if (call === undefined) throw new HttpError(404, `no call ${rawId}`)
    const calleeOwner = ownerOf(call.to_profile_type, call.to_profile_id)
    if (call.caller !== user && calleeOwner !== user) throw new HttpError(403, 'not your call')
    return call
  }

  async function serveStatic(pathname: string, response: ServerResponse): Promise<boolean> {
    const avatar = /^\/avatars\/([a-z]+)\.svg$/.exec(pathname)
    const avatarUser = avatar ? demoUsers.find((user) => user.username === avatar[1]) : undefined
    if (avatarUser) {
      response.writeHead(200, { 'content-type': mimeTypes['.svg']!, 'cache-control': 'max-age=3600' })
      response.end(avatarSvg(avatarUser))
      return true
    }
    if (staticDir === null) return false
    const candidates = pathname === '/' ? ['index.html'] : [pathname, `${pathname}.html`]
    for (const candidate of candidates) {
      const file = normalize(join(staticDir, candidate))
      if (!file.startsWith(normalize(staticDir) + sep)) return false
      const info = await stat(file).catch(() => null)
      if (info === null || !info.isFile()) continue
      const type = mimeTypes[extname(file)] ?? 'application/octet-stream'
      const cache = file.includes(`${sep}assets${sep}`) ? 'max-age=31536000, immutable' : 'no-cache'
      response.writeHead(200, { 'content-type': type, 'content-length': info.size, 'cache-control': cache })
      createReadStream(file).pipe(response)
      return true
    }
    return false
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const { pathname } = url
    const method = request.method ?? 'GET'
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      response.end(JSON.stringify(body))
    }

    if (method === 'POST' && pathname === '/api/login') {
      // Anything but a valid username and password is a 401, malformed bodies included.
      const body = await readJson(request).catch(() => ({}) as Record<string, unknown>)
      const user = demoUsers.find((candidate) => candidate.username === body.username)
      if (user === undefined || body.password !== demoPassword) throw new HttpError(401, 'wrong username or password')
      const token = randomBytes(24).toString('base64url')
      tokens.set(token, user)
      return json(200, { access_token: token, token_type: 'bearer' })
    }
    if (method === 'GET' && pathname === '/api/me') return json(200, meOf(userOf(request)))
    if (method === 'POST' && pathname === '/api/logout') {
      // Revokes the token: its sockets keep running until they reconnect, then get 4401.
      userOf(request)
      tokens.delete(/^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '')
      return json(200, { ok: true })
    }
    if (method === 'POST' && pathname === '/api/calls') {
      const caller = userOf(request)
      const call = placeCall(caller, await readJson(request))
      return json(201, { call_log_id: call.call_log_id, conversation_id: call.conversation_id, expires_at: call.expires_at })
    }
    const cancel = /^\/api\/calls\/([^/]+)\/cancel$/.exec(pathname)
    if (method === 'POST' && cancel) {
      const user = userOf(request)
      const call = callFor(user, cancel[1]!)
      if (call.caller !== user) throw new HttpError(403, 'only the caller can cancel a call')
      if (call.status !== 'ringing') return json(409, { error: `call is ${call.status}`, ...callView(call) })
      endCall(call, 'cancelled')
      sendTo(call.toKey, JSON.stringify({ type: 'call_cancelled', call_log_id: call.call_log_id }))
      return json(200, callView(call))
    }
    const single = /^\/api\/calls\/([^/]+)$/.exec(pathname)
    if (method === 'GET' && single) return json(200, callView(callFor(userOf(request), single[1]!)))
    if (method === 'GET' && pathname === '/api/stats') {
      const connections: Record<string, number> = {}
      for (const peer of peers) {
        if (peer.key !== null && peer.ws.readyState === WebSocket.OPEN) connections[peer.key] = (connections[peer.key] ?? 0) + 1
      }
      // `connections` is the contract; the totals are extras for tests and benchmarks.
      return json(200, { connections, attempts: Object.fromEntries(attempts), authenticated: Object.fromEntries(authenticated) })
    }
    if (method === 'POST' && pathname === '/api/dev/send') {
      const body = await readJson(request)
      const target = targetKey(body, 'profile_id', 'profile_type')
      if (typeof body.frame !== 'string') throw new HttpError(400, 'frame must be a string (sent as is)')
      if (Buffer.byteLength(body.frame) > MAX_DEV_FRAME) throw new HttpError(413, `frame over ${MAX_DEV_FRAME} bytes`)
      return json(200, { sent: sendTo(target.key, body.frame) })
    }
    if (method === 'POST' && pathname === '/api/dev/drop') {
      const dropping = [...peers].map((peer) => new Promise<void>((resolve) => {
        if (peer.ws.readyState === WebSocket.CLOSED) return resolve()
        peer.ws.once('close', () => resolve())
        peer.ws.terminate()
      }))
      await Promise.all(dropping)
      return json(200, { dropped: dropping.length })
    }
    if (method === 'POST' && pathname === '/api/dev/stall') {
      const body = await readJson(request)
      const ms = body.ms
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 600_000) throw new HttpError(400, 'ms must be a number from 0 to 600000')
      stalledUntil = Date.now() + ms
      return json(200, { stalled_until: new Date(stalledUntil).toISOString() })
    }
    if (method === 'GET' && !pathname.startsWith('/api/') && (await serveStatic(pathname, response))) return
    throw new HttpError(404, `no route for ${method} ${pathname}`)
  }

  const http = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500
      if (status === 500) log(`error on ${request.method} ${request.url}: ${String(error)}`)
      if (!response.headersSent) {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
      } else response.destroy()
    })
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_DEV_FRAME })
  http.on('upgrade', (request, socket, head) => {
    const match = /^\/ws\/([^/]+)\/([^/?]+)(?:\?.*)?$/.exec(request.url ?? '')
    const decoded = match ? safeDecode(match[1]!, match[2]!) : null
    const role = decoded ? roleOf(decoded[1]!) : null
    if (decoded === null || role === null) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n')
      return
    }
    const profileId = decoded[0]!
    bump(attempts, `${profileType(role)}:${profileId}`)
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, role, profileId))
  })

  function accept(ws: WebSocket, role: Role, profileId: string): void {
    const peer: Peer = { ws, key: null }
    peers.add(peer)
    // While stalled the server reads nothing: what a socket sends waits, as on a congested link.
    const held: Array<{ data: RawData; isBinary: boolean }> = []
    let releaseTimer: NodeJS.Timeout | null = null
    const authTimer = setTimeout(function expire() {
      if (stalled()) authTimer.refresh()
      // Not a credentials failure (4401/4403 mean only that): the client may simply retry.
      else if (peer.key === null) ws.close(4408, 'no auth frame in time')
    }, authTimeout)
    ws.on('close', () => {
      clearTimeout(authTimer)
      if (releaseTimer !== null) clearTimeout(releaseTimer)
      peers.delete(peer)
    })
    ws.on('error', () => ws.terminate())
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (stalled() || held.length > 0) {
        held.push({ data, isBinary })
        releaseTimer ??= setTimeout(function release() {
          if (stalled()) return void (releaseTimer = setTimeout(release, stalledUntil - Date.now()))
          releaseTimer = null
          for (const message of held.splice(0)) receive(message.data, message.isBinary)
        }, stalledUntil - Date.now())
        return
      }
      receive(data, isBinary)
    })

    function receive(data: RawData, isBinary: boolean): void {
      if (ws.readyState !== WebSocket.OPEN) return
      let frame: Record<string, unknown> | null = null
      try {
        const parsed: unknown = isBinary ? null : JSON.parse(data.toString())
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) frame = parsed as Record<string, unknown>
      } catch {
        frame = null
      }
      if (peer.key === null) {
        clearTimeout(authTimer)
        const user = frame?.type === 'auth' && typeof frame.token === 'string' ? tokens.get(frame.token) : undefined
        if (user === undefined) return ws.close(4401, 'invalid token')
        if (String(user.profiles[role]) !== profileId) return ws.close(4403, 'profile not yours')
        peer.key = `${profileType(role)}:${profileId}`
        bump(authenticated, peer.key)
        // A call that still rings reaches a socket that authenticates late: a dropped connection loses none.
        for (const call of calls.values()) {
          if (call.status === 'ringing' && call.toKey === peer.key) ws.send(invitationFrame(call))
        }
        // After the re-sends: a call the hub knew that was not re-sent has ended.
        ws.send(JSON.stringify({ type: 'ack', of: 'auth' }))
        return
      }
      if (frame === null) return
      if (frame.type === 'ping') return ws.send(JSON.stringify({ type: 'pong' }))
      if (frame.type === 'call_accepted' || frame.type === 'call_declined') {
        const call = calls.get(Number(frame.call_log_id))
        // Unknown or finished calls are refused; the socket stays open.
        if (call === undefined || call.status !== 'ringing' || call.toKey !== peer.key) {
          const why = call === undefined ? 'unknown call' : call.toKey !== peer.key ? 'not your call' : `call is ${call.status}`
          return ws.send(JSON.stringify({ type: 'nack', of: frame.type, call_log_id: frame.call_log_id, reason: why }))
        }
        ws.send(JSON.stringify({ type: 'ack', of: frame.type, call_log_id: frame.call_log_id }))
        const accepted = frame.type === 'call_accepted'
        endCall(call, accepted ? 'accepted' : 'declined')
        log(`call ${call.call_log_id}: ${call.status} by ${peer.key}`)
        // Other devices of the same profile stop ringing.
        sendTo(peer.key, JSON.stringify({ type: accepted ? 'call_taken' : 'call_ended', call_log_id: call.call_log_id }), peer)
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(port, host, () => resolve())
  })
  const address = http.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`

  return {
    url,
    port: address.port,
    async close() {
      for (const call of calls.values()) clearTimeout(call.expiry)
      for (const peer of peers) peer.ws.terminate()
      wss.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
