/**
 * What the reference server's unit tests drive it with: its HTTP API over fetch, and real sockets (the `ws`
 * client) that record every frame. Waits poll; nothing sleeps a fixed time.
 */
import { connect } from 'node:net'
import { onTestFinished, vi } from 'vitest'
import { WebSocket } from 'ws'
import type { ClientOptions } from 'ws'
import { startServer } from '../../server/server'
import type { ServerOptions } from '../../server/server'

export type Frame = Record<string, unknown>

export interface TestSocket {
  ws: WebSocket
  /** Every JSON frame received, in order. */
  frames: Frame[]
  send(frame: unknown): void
  /** The first frame received that matches (already or within `timeout` ms). */
  next(match: (frame: Frame) => boolean, timeout?: number): Promise<Frame>
  /** Resolves with the close code and reason once the socket closed. */
  closed: Promise<{ code: number; reason: string }>
  close(): void
}

export interface TestApi {
  url: string
  login(username: string): Promise<string>
  post(path: string, body: unknown, token?: string): Promise<Response>
  get(path: string, token?: string): Promise<Response>
  /** Places a call to `to` (`Tutor:1`) and answers its id. */
  call(token: string, to: string, body?: Frame): Promise<number>
  stats(): Promise<{ connections: Record<string, number>; sockets: number; attempts: Record<string, number>; authenticated: Record<string, number>; authIgnored: Record<string, number> }>
}

export function createTestApi(url: string): TestApi {
  const headers = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {})
  const api: TestApi = {
    url,
    post: (path, body, token) => fetch(url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers(token) } }),
    get: (path, token) => fetch(url + path, { headers: headers(token) }),
    async login(username) {
      const response = await api.post('/api/login', { username, password: 'demo' })
      return ((await response.json()) as { access_token: string }).access_token
    },
    async call(token, to, body = {}) {
      const [type, id] = to.split(':')
      const response = await api.post('/api/calls', { to_profile_type: type, to_profile_id: Number(id), call_type: 'video', offer: { type: 'offer', sdp: 'v=0' }, ...body }, token)
      if (response.status !== 201) throw new Error(`POST /api/calls answered ${response.status}: ${await response.text()}`)
      return ((await response.json()) as { call_log_id: number }).call_log_id
    },
    async stats() {
      return (await (await fetch(`${url}/api/stats`)).json()) as Awaited<ReturnType<TestApi['stats']>>
    },
  }
  return api
}

/** Opens `/ws/{id}/{type}` for `key` (`Tutor:1`); with a token, sends the auth frame first. */
export async function openSocket(url: string, key: string, token?: string, options: ClientOptions = {}): Promise<TestSocket> {
  const [type, id] = key.split(':')
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws/${id}/${type}`, options)
  const frames: Frame[] = []
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
  ws.on('message', (data) => {
    try {
      frames.push(JSON.parse(String(data)) as Frame)
    } catch {
      frames.push({ type: '(not json)', text: String(data) })
    }
  })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade answered ${response.statusCode}`)))
  })
  const socket: TestSocket = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: (match, timeout = 5_000) => vi.waitFor(() => {
      const found = frames.find(match)
      if (found === undefined) throw new Error('no such frame yet')
      return found
    }, { timeout, interval: 10 }),
    close: () => ws.close(),
  }
  if (token !== undefined) socket.send({ type: 'auth', token })
  return socket
}

/** Matches a frame by its fields. */
export const frameLike = (fields: Frame) => (frame: Frame) => Object.entries(fields).every(([key, value]) => frame[key] === value)

/** A reference server for one test, closed when the test ends, with its API and a socket opener. */
export async function serverForTest(options: ServerOptions = {}) {
  const server = await startServer({ port: 0, log: () => {}, ...options })
  const sockets: TestSocket[] = []
  onTestFinished(async () => {
    for (const socket of sockets) socket.ws.terminate()
    await server.close()
  })
  const api = createTestApi(server.url)
  return {
    server,
    api,
    async open(key: string, token?: string, clientOptions?: ClientOptions): Promise<TestSocket> {
      const socket = await openSocket(server.url, key, token, clientOptions)
      sockets.push(socket)
      return socket
    },
    /** A socket of `username` on `key` whose auth the server acknowledged. */
    async signedIn(username: string, key: string): Promise<TestSocket & { token: string }> {
      const token = await api.login(username)
      const socket = await openSocket(server.url, key, token)
      sockets.push(socket)
      await socket.next(frameLike({ type: 'ack', of: 'auth' }))
      return Object.assign(socket, { token })
    },
  }
}

/**
 * Writes `request` as is on a new TCP connection and answers all the server wrote back until it closed the
 * connection (or `timeout` ms passed: then with what came). For request lines and headers fetch cannot send.
 */
export function rawHttp(port: number, request: string | Buffer, timeout = 5_000): Promise<string> {
  return new Promise((resolve) => {
    let answer = ''
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    const timer = setTimeout(() => socket.destroy(), timeout)
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')))
    // The server may answer and close before the whole request is written (a 413): that is an answer too.
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(answer)
    })
  })
}

/** The status code of the first response in `answer`, or 0 when there is none. */
export const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0)
