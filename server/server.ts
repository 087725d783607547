/**
 * The reference backend: the HTTP API and WebSocket of ../shared/DESIGN.md, in memory, on Fastify. The demo,
 * the browser tests and the benchmarks all drive it. `/api/dev/*` exists for tests: never expose it.
 */
import { realpath, stat } from 'node:fs/promises'
import type { AddressInfo, Socket } from 'node:net'
import { relative, resolve, sep } from 'node:path'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { CallBookFullError, createCallBook } from './calls'
import type { Call } from './calls'
import { MAX_DEPTH } from './frames'
import { depthWithin } from './limits'
import { bearerOf, createTokens } from './tokens'
import { demoPassword, demoUsers, meOf, profileOf, profileType, roleOf } from './users'
import type { DemoUser, Role } from './users'
import { createWire } from './wire'

export interface ServerOptions {
  /** @default 8000; 0 picks a free port */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** Folder of built demo pages to serve; null serves none. @default null */
  staticDir?: string | null
  /** Origins whose pages may call the API and open sockets (`https://app.example`); same-origin always may. @default [] */
  corsOrigins?: string[]
  /**
   * `'callhub'`: the reference behaviour (socket auth, pong, acks, ringing calls re-sent after auth).
   * `'platform'`: like the platform's own backend, each of those off; the four switches below override one each.
   * @default 'callhub'
   */
  backend?: 'callhub' | 'platform'
  /** The first frame must be `auth`; without it the URL alone names the profile. @default true for 'callhub' */
  socketAuth?: boolean
  /** Answer `{"type":"ping"}` with `{"type":"pong"}`. @default true for 'callhub' */
  pong?: boolean
  /** Send `ack` / `nack` for auth, answers and refused frames. @default true for 'callhub' */
  acks?: boolean
  /** Re-send calls still ringing to a socket that authenticates later. @default true for 'callhub' */
  resendRinging?: boolean
  /** How long a call rings before it is `missed`, in ms (`expires_in` overrides it per call). @default 45000 */
  ringTimeout?: number
  /** How long a new socket may take to send its `auth` frame, in ms. @default 10000 */
  authTimeout?: number
  /** Calls one user may place per `callRateWindow`; past it `POST /api/calls` answers 429 with retry-after. @default 60 */
  callRateMax?: number
  /**
   * In ms. 60 per 10 s lets a call every 300 ms through forever, and a test's burst of 40, but refuses most of
   * 300 placed in 2 s (a fixed window: at most 2 × 60 pass across a window's edge). @default 10000
   */
  callRateWindow?: number
  /** Calls of one user ringing at once; past it 429. @default 200 (a call every 300 ms rings 45 s: 150) */
  maxRingingPerCaller?: number
  /** Calls remembered at most; when all are live, new calls answer 503. @default 10000 */
  maxCalls?: number
  /** A settled call is forgotten (404) this long after it ended, in ms. @default 600000 */
  forgetAfter?: number
  /** An accepted call nobody hung up ends by itself (`end_reason: "max_duration"`) after this, in ms. @default 14400000 */
  maxCallDuration?: number
  /** Largest WebSocket message a client may send, in bytes; larger closes with 1009. @default 65536 */
  maxFrameBytes?: number
  /** Bytes waiting to be written to one socket before it is cut off (1013 `retry-after`). @default 2097152 */
  maxBufferedBytes?: number
  /** The wait, in ms, a cut-off reader is told in its close reason (`retry-after=5000`). @default 5000 */
  slowReaderRetryAfter?: number
  /** How long a close may take to reach a reader that does not read before the socket is dropped, in ms. @default 2000 */
  closeGrace?: number
  /** WebSocket protocol pings this often; a socket that answered none since the last is terminated, in ms. @default 30000 */
  heartbeatInterval?: number
  /** Chat messages one socket may send per second (a second's burst); past it they are nacked. @default 50 */
  chatRate?: number
  /** Call frames (answer, ICE candidates, hang-up) one socket may send per second. @default 200 */
  signalRate?: number
  /** TCP connections at once, HTTP and WebSocket together; more are closed as they arrive. @default 4096 */
  maxConnections?: number
  /** Largest request body in bytes (`/api/dev/send`: 8 MiB, room for a 1 MiB frame however JSON escapes it). @default 1048576 */
  bodyLimit?: number
  /** Request bodies being read at once may hold this many bytes together; past it 503 with retry-after. @default 16777216 (two of the largest) */
  maxBodyBytesInFlight?: number
  /** A request must arrive whole within this, and a connection that sends nothing for this long is closed, in ms. @default 30000 */
  requestTimeout?: number
  /** Tokens one user may hold; logging in past it revokes that user's oldest. @default 1000 */
  maxTokensPerUser?: number
  /** Profile keys kept in the `attempts` / `authenticated` totals; the least recently counted go first. @default 1000 */
  maxTotalsKeys?: number
  /** @default console.log */
  log?: (line: string) => void
}

export interface ReferenceServer {
  url: string
  port: number
  close(): Promise<void>
}

/** A request refused with a status and a reason (`{"error": reason}`), never a 500. */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  constructor(readonly statusCode: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
  }
}

const SOCKET_ROUTE = '/ws/:profileId/:profileType'
const MAX_DEV_FRAME = 1024 * 1024
/** Room for a 1 MiB dev frame even when JSON escapes every byte (\u0000 is 6 bytes). */
const MAX_DEV_BODY = 8 * 1024 * 1024
/** The hub drops frames over 64 KiB: an invitation must fit. */
const MAX_INVITATION_BYTES = 64 * 1024
/** The digits a call id adds to an invitation sized before the id exists. */
const MAX_ID_DIGITS = 16

const profileIdSchema = { type: ['integer', 'string'] } as const
const placeCallSchema = {
  type: 'object',
  required: ['to_profile_id', 'to_profile_type'],
  properties: {
    to_profile_id: profileIdSchema,
    to_profile_type: { type: 'string', maxLength: 64 },
    from_profile_type: { type: 'string', maxLength: 64 },
    call_type: { enum: ['voice', 'video'] },
    expires_in: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
    offer: {},
  },
} as const
const callIdSchema = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } } as const

interface PlaceCallBody {
  to_profile_id: number | string
  to_profile_type: string
  from_profile_type?: string
  call_type?: 'voice' | 'video'
  expires_in?: number
  offer?: unknown
}

function avatarSvg(user: DemoUser): string {
  const initials = user.name.split(' ').map((part) => part[0]).join('')
  const hue = (user.id * 137) % 360
  return `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96"><rect width="96" height="96" fill="hsl(${hue} 55% 45%)"/><text x="48" y="60" font-family="sans-serif" font-size="36" fill="#fff" text-anchor="middle">${initials}</text></svg>`
}

export async function startServer(options: ServerOptions = {}): Promise<ReferenceServer> {
  const {
    port = 8000, host = '127.0.0.1', staticDir = null, corsOrigins = [], backend = 'callhub',
    socketAuth = backend === 'callhub', pong = backend === 'callhub', acks = backend === 'callhub', resendRinging = backend === 'callhub',
    ringTimeout = 45_000, authTimeout = 10_000, callRateMax = 60, callRateWindow = 10_000, maxRingingPerCaller = 200,
    maxCalls = 10_000, forgetAfter = 600_000, maxCallDuration = 4 * 3_600_000, maxFrameBytes = 64 * 1024,
    maxBufferedBytes = 2 * 1024 * 1024, slowReaderRetryAfter = 5_000, closeGrace = 2_000, heartbeatInterval = 30_000,
    chatRate = 50, signalRate = 200, maxConnections = 4_096, bodyLimit = 1024 * 1024, maxBodyBytesInFlight = 16 * 1024 * 1024,
    requestTimeout = 30_000, maxTokensPerUser = 1_000, maxTotalsKeys = 1_000, log = (line: string) => console.log(line),
  } = options

  const conversations = new Map<string, number>()
  const calls = createCallBook({
    forgetAfter, maxCalls, maxCallDuration,
    onMissed: (call) => log(`call ${call.call_log_id}: missed`),
    onTimedOut(call) {
      const ended = JSON.stringify({ type: 'call_ended', call_log_id: call.call_log_id, reason: 'max_duration' })
      for (const key of [call.from.key, call.to.key]) wire.sendToProfile(key, ended)
    },
  })
  const tokens = createTokens(maxTokensPerUser, (token) => wire.closeToken(token))
  const wire = createWire({
    calls, tokens, invitationOf: (call) => JSON.stringify(invitation(call)), socketAuth, pong, acks, resendRinging,
    authTimeout, heartbeatInterval, maxBufferedBytes, slowReaderRetryAfter, closeGrace, chatRate, signalRate, maxTotalsKeys, log,
  })

  function invitation(call: Call) {
    return {
      type: 'call_invitation',
      call_log_id: call.call_log_id,
      conversation_id: call.conversation_id,
      call_type: call.call_type,
      from_name: call.from.owner.name,
      from_avatar: `/avatars/${call.from.owner.username}.svg`,
      from_profile_id: call.from.id,
      from_profile_type: call.from.type,
      offer: call.offer,
      expires_at: call.expires_at,
    }
  }

  function callView(call: Call) {
    const { from, to, offer, ...rest } = call
    return {
      ...rest,
      from_profile_id: from.id, from_profile_type: from.type, from_name: from.owner.name,
      to_profile_id: to.id, to_profile_type: to.type,
      // The offer is for answering: only a ringing call still carries it.
      ...(call.status === 'ringing' ? { offer } : {}),
    }
  }

  function userOf(request: FastifyRequest): DemoUser {
    const token = bearerOf(request.headers.authorization)
    const user = token === null ? undefined : tokens.userOf(token)
    if (user === undefined) throw new HttpError(401, 'a valid Bearer token is required')
    return user
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

  function targetOf(type: string, id: number | string) {
    if (roleOf(type) === null) throw new HttpError(400, `no profile type ${JSON.stringify(type)}: tutor, student, parent or advertiser`)
    const profile = profileOf(type, id)
    if (profile === null) throw new HttpError(404, `no ${type} profile ${String(id)}`)
    return profile
  }

  function placeCall(caller: DemoUser, body: PlaceCallBody): Call {
    const to = targetOf(body.to_profile_type, body.to_profile_id)
    const fromRole: Role | null = body.from_profile_type === undefined ? caller.roles[0] ?? null : roleOf(body.from_profile_type)
    const from = fromRole === null ? null : profileOf(fromRole, caller.profiles[fromRole] ?? '')
    if (from === null) throw new HttpError(400, 'the caller has no such profile to call from')
    if (from.key === to.key) throw new HttpError(400, 'a profile cannot call itself')
    if (body.offer !== undefined && !depthWithin(body.offer, MAX_DEPTH)) throw new HttpError(400, `offer nested deeper than ${MAX_DEPTH} levels`)
    if (calls.ringingFrom(caller) >= maxRingingPerCaller) {
      throw new HttpError(429, `${maxRingingPerCaller} of your calls are ringing: cancel some first`, { 'retry-after': String(Math.ceil(ringTimeout / 1000)) })
    }
    const ringFor = (body.expires_in ?? ringTimeout / 1000) * 1000
    const now = Date.now()
    const fields = {
      conversation_id: conversationOf(caller, to.owner), call_type: body.call_type ?? 'voice', offer: body.offer ?? null,
      from, to, status: 'ringing' as const, end_reason: null, ended_by: null, media: { caller: null, callee: null },
      created_at: new Date(now).toISOString(), expires_at: new Date(now + ringFor).toISOString(), answered_at: null, ended_at: null,
    }
    if (Buffer.byteLength(JSON.stringify(invitation({ call_log_id: 0, ...fields }))) + MAX_ID_DIGITS > MAX_INVITATION_BYTES) {
      throw new HttpError(413, `the invitation would be over ${MAX_INVITATION_BYTES} bytes (the hub drops larger frames): send a smaller offer`)
    }
    const call = addCall(fields, ringFor)
    const sockets = wire.sendToProfile(to.key, JSON.stringify(invitation(call)))
    log(`call ${call.call_log_id}: ${from.key} → ${to.key} (${sockets} socket${sockets === 1 ? '' : 's'})`)
    return call
  }

  function addCall(fields: Omit<Call, 'call_log_id'>, ringFor: number): Call {
    try {
      return calls.add(fields, ringFor)
    } catch (error) {
      if (error instanceof CallBookFullError) throw new HttpError(503, error.message, { 'retry-after': String(Math.ceil(ringTimeout / 1000)) })
      throw error
    }
  }

  function callFor(user: DemoUser, id: string): Call {
    const call = calls.get(Number(id))
    if (call === undefined) throw new HttpError(404, `no call ${id}`)
    if (call.from.owner !== user && call.to.owner !== user) throw new HttpError(403, 'not your call')
    return call
  }

  function originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
    // Browsers always send Origin on a WebSocket upgrade; other clients (tests, tools) need not.
    if (origin === undefined || corsOrigins.includes(origin)) return true
    return URL.canParse(origin) && new URL(origin).host === hostHeader
  }

  /** The file under `staticDir` that `pathname` names, relative to its real path; null for none or one outside it. */
  async function staticFile(pathname: string): Promise<{ root: string; file: string } | null> {
    const root = await realpath(staticDir!).catch(() => null)
    if (root === null) return null
    const candidates = pathname === '/' ? ['/index.html'] : [pathname, `${pathname}.html`]
    for (const candidate of candidates) {
      // realpath resolves symlinks: a link that leads out of the folder is no file of ours.
      const real = await realpath(resolve(root, `.${candidate}`)).catch(() => null)
      if (real === null || !real.startsWith(root + sep)) continue
      const info = await stat(real).catch(() => null)
      if (info?.isFile()) return { root, file: relative(root, real) }
    }
    return null
  }

  const app = Fastify({
    logger: false,
    bodyLimit,
    requestTimeout,
    // Node times out requests once they start; a connection that never sends a byte needs this.
    connectionTimeout: requestTimeout,
    forceCloseConnections: true,
    // Bodies are checked as sent: a number where a string belongs is a 400, not silently converted.
    ajv: { customOptions: { coerceTypes: false, allowUnionTypes: true } },
    frameworkErrors(error, request, reply) {
      // An upgrade request refused before routing has no hook that would close its socket afterwards.
      if (request.headers.upgrade !== undefined) reply.raw.once('finish', () => request.raw.socket.destroy())
      void (reply as FastifyReply).code(400).send({ error: error.message })
    },
  })
  app.server.maxConnections = maxConnections
  // Upgraded sockets leave the HTTP server's own tracking: close() must still be able to end every one.
  const connections = new Set<Socket>()
  app.server.on('connection', (socket: Socket) => {
    connections.add(socket)
    socket.once('close', () => connections.delete(socket))
  })

  app.setErrorHandler((error: Error & { statusCode?: number; headers?: Record<string, string> }, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500
    if (status >= 500 && status !== 503) log(`error on ${request.method} ${request.url}: ${error.stack ?? String(error)}`)
    if (error.headers) void reply.headers(error.headers)
    return reply.code(status).header('cache-control', 'no-store').send({ error: status === 500 ? 'internal error' : error.message })
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` }))

  // Bodies being read hold memory until answered: past a budget, refuse at once instead of reading more.
  let bodyBytesInFlight = 0
  app.addHook('onRequest', async (request, reply) => {
    const limit = request.routeOptions.bodyLimit ?? bodyLimit
    const length = Number(request.headers['content-length'] ?? 0)
    // Chunked bodies may grow to the limit; a declared length over it is refused (413) before it is read.
    const reserved = request.headers['transfer-encoding'] !== undefined ? limit : length > limit ? 0 : length
    if (reserved === 0) return
    if (bodyBytesInFlight + reserved > maxBodyBytesInFlight) {
      throw new HttpError(503, `${bodyBytesInFlight} bytes of request bodies are being read: try again shortly`, { 'retry-after': '1', connection: 'close' })
    }
    bodyBytesInFlight += reserved
    reply.raw.once('close', () => (bodyBytesInFlight -= reserved))
  })

  await app.register(websocket, {
    options: { maxPayload: maxFrameBytes },
    // ws itself closes a socket that broke the protocol, with the code the error calls for (1009 for a frame
    // over maxPayload); terminating here, as the plugin's default does, would turn that into 1006.
    errorHandler: () => {},
  })
  // After the plugin's own hook, which sets `request.ws`. Only the socket route upgrades: anywhere else an upgrade request is answered like any other request.
  app.addHook('onRequest', async (request, reply) => {
    if (request.ws && request.routeOptions.url !== SOCKET_ROUTE) return reply.code(404).send({ error: `no socket at ${request.url.split('?')[0]}` })
  })

  await app.register(rateLimit, { global: false })
  if (corsOrigins.length > 0) {
    // retry-after exposed: a page on another origin must be able to read how long to wait after a 429 or 503.
    await app.register(cors, { origin: corsOrigins, methods: ['GET', 'HEAD', 'POST'], exposedHeaders: ['retry-after'] })
  }
  if (staticDir !== null) await app.register(fastifyStatic, { root: staticDir, serve: false, cacheControl: false })

  app.get<{ Params: { profileId: string; profileType: string } }>(SOCKET_ROUTE, {
    websocket: true,
    async preValidation(request, reply) {
      const role = roleOf(request.params.profileType)
      // No socket auth: only the URL names the profile, so it must be one that exists.
      if (role === null || (!socketAuth && profileOf(role, request.params.profileId) === null)) {
        return reply.code(404).send({ error: 'no such profile' })
      }
      if (!originAllowed(request.headers.origin, request.headers.host)) {
        return reply.code(403).send({ error: `origin ${request.headers.origin} may not open sockets here` })
      }
      wire.attempted(`${profileType(role)}:${request.params.profileId}`)
    },
  }, (socket, request) => {
    const { profileId, profileType: type } = request.params as { profileId: string; profileType: string }
    wire.open(socket, roleOf(type)!, profileId)
  })

  app.post('/api/login', {
    // Anything but a valid username and password is a 401, malformed bodies included.
    errorHandler: (error: Error & { statusCode?: number }, _request, reply) => {
      const status = error.statusCode === 400 || error.statusCode === 415 ? 401 : error.statusCode ?? 500
      return reply.code(status).send({ error: status === 401 ? 'wrong username or password' : error.message })
    },
  }, async (request) => {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>
    const user = demoUsers.find((candidate) => candidate.username === body.username)
    if (user === undefined || body.password !== demoPassword) throw new HttpError(401, 'wrong username or password')
    return { access_token: tokens.issue(user), token_type: 'bearer' }
  })

  app.get('/api/me', async (request) => meOf(userOf(request)))

  app.post('/api/logout', async (request) => {
    userOf(request)
    // Revoking closes the token's live sockets with 4401: a signed-out socket gets no more calls.
    tokens.revoke(bearerOf(request.headers.authorization)!)
    return { ok: true }
  })

  app.post<{ Body: PlaceCallBody }>('/api/calls', {
    schema: { body: placeCallSchema },
    config: {
      rateLimit: {
        max: callRateMax,
        timeWindow: callRateWindow,
        // Per caller, whatever token it uses; requests without a valid token (401 anyway) per address.
        keyGenerator: (request: FastifyRequest) => {
          const token = bearerOf(request.headers.authorization)
          const user = token === null ? undefined : tokens.userOf(token)
          return user === undefined ? `ip:${request.ip}` : `user:${user.id}`
        },
        errorResponseBuilder: (_request: FastifyRequest, context: { after: string; statusCode: number }) =>
          new HttpError(context.statusCode, `over ${callRateMax} calls in ${callRateWindow} ms: retry in ${context.after}`),
      },
    },
  }, async (request, reply) => {
    const call = placeCall(userOf(request), request.body)
    return reply.code(201).send({ call_log_id: call.call_log_id, conversation_id: call.conversation_id, expires_at: call.expires_at })
  })

  app.get<{ Querystring: { status?: 'ringing'; to_profile_type: string; to_profile_id: string } }>('/api/calls', {
    schema: {
      querystring: {
        type: 'object',
        required: ['to_profile_type', 'to_profile_id'],
        properties: { status: { const: 'ringing' }, to_profile_type: { type: 'string' }, to_profile_id: { type: 'string' } },
      },
    },
  }, async (request) => {
    const user = userOf(request)
    const profile = targetOf(request.query.to_profile_type, request.query.to_profile_id)
    if (profile.owner !== user) throw new HttpError(403, 'not your profile')
    // The invitations as the socket would carry them: a page's reconnect hook merges them like re-sent frames.
    return { calls: [...calls.ringing()].filter((call) => call.to.key === profile.key).map(invitation) }
  })

  app.get<{ Params: { id: string } }>('/api/calls/:id', { schema: { params: callIdSchema } }, async (request) =>
    callView(callFor(userOf(request), request.params.id)))

  app.post<{ Params: { id: string } }>('/api/calls/:id/cancel', { schema: { params: callIdSchema } }, async (request, reply) => {
    const user = userOf(request)
    const call = callFor(user, request.params.id)
    if (call.from.owner !== user) throw new HttpError(403, 'only the caller can cancel a call')
    if (call.status !== 'ringing') return reply.code(409).send({ error: `call is ${call.status}`, ...callView(call) })
    calls.settle(call, 'cancelled', 'cancelled', 'caller')
    wire.sendToProfile(call.to.key, JSON.stringify({ type: 'call_cancelled', call_log_id: call.call_log_id }))
    return callView(call)
  })

  // `connections` is the contract; the totals are extras for tests and benchmarks.
  app.get('/api/stats', async (_request, reply) => reply.header('cache-control', 'no-store').send(wire.stats()))

  app.post<{ Body: { profile_id: number | string; profile_type: string; frame: string } }>('/api/dev/send', {
    bodyLimit: MAX_DEV_BODY,
    schema: {
      body: {
        type: 'object',
        required: ['profile_id', 'profile_type', 'frame'],
        properties: { profile_id: profileIdSchema, profile_type: { type: 'string' }, frame: { type: 'string' } },
      },
    },
  }, async (request) => {
    const target = targetOf(request.body.profile_type, request.body.profile_id)
    if (Buffer.byteLength(request.body.frame) > MAX_DEV_FRAME) throw new HttpError(413, `frame over ${MAX_DEV_FRAME} bytes`)
    return { sent: wire.sendToProfile(target.key, request.body.frame) }
  })

  app.post('/api/dev/drop', async () => ({ dropped: await wire.dropAll() }))

  app.post<{ Body: { ms: number } }>('/api/dev/stall', {
    schema: { body: { type: 'object', required: ['ms'], properties: { ms: { type: 'number', minimum: 0, maximum: 600_000 } } } },
  }, async (request) => ({ stalled_until: new Date(wire.stall(request.body.ms)).toISOString() }))

  app.get<{ Params: { file: string } }>('/avatars/:file', async (request, reply) => {
    const username = /^([a-z]+)\.svg$/.exec(request.params.file)?.[1]
    const user = demoUsers.find((candidate) => candidate.username === username)
    if (user === undefined) return reply.callNotFound()
    return reply.type('image/svg+xml').header('cache-control', 'max-age=3600').send(avatarSvg(user))
  })

  if (staticDir !== null) {
    app.get<{ Params: { '*': string } }>('/*', async (request, reply: FastifyReply) => {
      const pathname = `/${request.params['*']}`
      const found = pathname.startsWith('/api/') ? null : await staticFile(pathname)
      if (found === null) return reply.callNotFound()
      const immutable = found.file.startsWith(`assets${sep}`)
      return reply.header('cache-control', immutable ? 'max-age=31536000, immutable' : 'no-cache').sendFile(found.file, found.root)
    })
  }

  await app.listen({ port, host })
  const address = app.server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`

  return {
    url,
    port: address.port,
    async close() {
      calls.clear()
      wire.close()
      const closing = app.close()
      for (const socket of connections) socket.destroy()
      await closing
    },
  }
}
