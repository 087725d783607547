/**
 * Drives the reference server with generated input for a bounded time (issue 13, part 8): request lines,
 * headers and bodies over raw TCP, and socket frames from signed-in sockets. It must never answer 5xx, never
 * throw (an uncaught error fails the run), close a socket only for a protocol breach, and keep its memory
 * bounded. `SERVER_FUZZ_MS` sets the time per phase (default 6 s).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { frameLike, rawHttp, serverForTest, statusOf } from './server-client'
import type { TestSocket } from './server-client'

const phaseMs = Number(process.env.SERVER_FUZZ_MS ?? 6_000)
const MiB = 1024 * 1024

const nested = (maxDepth: number) => fc.integer({ min: 1, max: maxDepth }).chain((depth) =>
  fc.constantFrom(`${'['.repeat(depth)}${']'.repeat(depth)}`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, `${'{"constructor":'.repeat(depth)}1${'}'.repeat(depth)}`))
const anyId = fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constantFrom('1', '2', ' 1', '1e3', '', 'x'.repeat(200)), fc.double(), fc.constant(null), fc.jsonValue())
const profileType = fc.constantFrom('Tutor', 'tutor', 'Student', 'Parent', 'Advertiser', 'Admin', '', '__proto__')
const apiBody = fc.record({
  username: fc.constantFrom('alice', 'bob', 'x'), password: fc.constantFrom('demo', 'nope'),
  to_profile_id: anyId, to_profile_type: profileType, from_profile_type: profileType, call_type: fc.constantFrom('voice', 'video', 'fax'),
  expires_in: fc.oneof(fc.double(), fc.integer({ min: -5, max: 700 })), offer: fc.jsonValue(),
  profile_id: anyId, profile_type: profileType, frame: fc.oneof(fc.string(), fc.jsonValue()), ms: fc.oneof(fc.double(), fc.integer()),
}, { requiredKeys: [] })
// Bodies a route takes as far as its handler: a call to a real profile, with any offer, deep ones included.
const callBody = fc.tuple(fc.constantFrom('1', '2', '"1"'), fc.oneof(fc.jsonValue().map((value) => JSON.stringify(value)), nested(20_000)))
  .map(([id, offer]) => `{"to_profile_id":${id},"to_profile_type":"Tutor","call_type":"video","offer":${offer}}`)
const body = fc.oneof(
  apiBody.map((value) => JSON.stringify(value)),
  callBody,
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ unit: 'binary', maxLength: 300 }),
  nested(20_000),
  fc.constant(''),
)
// `/api/dev/stall` is left out: a stalled server answers no socket frames, by design.
const path = fc.oneof(
  fc.constantFrom('/api/calls', '/api/calls', '/api/login', '/api/me', '/api/logout', '/api/calls', '/api/calls/1', '/api/calls/1/cancel', '/api/calls/99999999999999999',
    '/api/calls?status=ringing&to_profile_type=Tutor&to_profile_id=1', '/api/stats', '/api/dev/send', '/api/dev/drop', '/ws/1/Tutor',
    '/avatars/bob.svg', '/', '/tutor', '/%2e%2e/etc/passwd', '/api/%E0%A4%A', '*', 'http://x/api/me', '//x', '/api/calls/%00'),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((tail) => `/api/${tail}`),
  fc.webPath().map((webPath) => `/${webPath.replace(/^\/+/, '')}`),
)
// Mostly well-formed, so that most requests reach the routes rather than stop in the HTTP parser.
const method = fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'), weight: 9 }, { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }), weight: 1 })
const header = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom('Content-Type'), fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '', ';;')), weight: 3 },
  { arbitrary: fc.tuple(fc.constantFrom('Authorization'), fc.constantFrom('Bearer ', 'Bearer x', 'Basic eA==', 'Bearer TOKEN')), weight: 3 },
  { arbitrary: fc.tuple(fc.constantFrom('Origin', 'Upgrade', 'Connection', 'Transfer-Encoding', 'Expect', 'Sec-WebSocket-Version', 'Accept-Encoding', 'Range'), fc.string({ unit: 'binary-ascii', maxLength: 40 })), weight: 2 },
  { arbitrary: fc.tuple(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }), fc.string({ unit: 'binary-ascii', maxLength: 200 })), weight: 1 },
)
const version = fc.oneof({ arbitrary: fc.constant('HTTP/1.1'), weight: 9 }, { arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'FOO'), weight: 1 })
const contentType = fc.tuple(fc.constant('Content-Type'), fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'))
const authorization = fc.tuple(fc.constant('Authorization'), fc.constant('Bearer TOKEN'))
const hostileRequest = fc.record({
  method, path, version, body, lengthOff: fc.oneof({ arbitrary: fc.constant(0), weight: 9 }, { arbitrary: fc.constant(-1), weight: 1 }),
  headers: fc.tuple(fc.option(contentType, { freq: 4 }), fc.option(authorization, { freq: 3 }), fc.array(header, { maxLength: 3 }))
    .map(([type, auth, rest]) => [...(type ? [type] : []), ...(auth ? [auth] : []), ...rest]),
})
// Logout is left out here: it would revoke the token every later request relies on.
const routes: Array<[string, string]> = [['POST', '/api/calls'], ['POST', '/api/calls'], ['POST', '/api/login'], ['POST', '/api/dev/send'],
  ['POST', '/api/calls/1/cancel'], ['GET', '/api/calls/1'], ['GET', '/api/calls?status=ringing&to_profile_type=Tutor&to_profile_id=1'], ['GET', '/api/me']]
/** A request any client could send, with generated values: it reaches the handlers. */
const routeRequest = fc.record({
  route: fc.constantFrom(...routes),
  body: fc.oneof(callBody, apiBody.map((value) => JSON.stringify(value))),
}).map(({ route: [method, path], body }) => ({
  method, path, version: 'HTTP/1.1', body, lengthOff: 0,
  headers: [['Content-Type', 'application/json'], ['Authorization', 'Bearer TOKEN']] as Array<[string, string]>,
}))
const request = fc.oneof(routeRequest, hostileRequest)

const frameType = fc.constantFrom('auth', 'ping', 'call_accepted', 'call_declined', 'chat_message', 'call_answer', 'ice_candidate', 'call_ended', 'call_media', 'pong', 'nack', '__proto__')
const frame = fc.oneof(
  fc.record({
    type: frameType, call_log_id: anyId, conversation_id: anyId, reason: fc.oneof(fc.constantFrom('busy', 'hangup'), fc.string(), fc.jsonValue()),
    to_profile_id: anyId, to_profile_type: profileType, text: fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.jsonValue()),
    state: fc.constantFrom('connecting', 'connected', 'failed', 'x'), token: fc.string(), answer: fc.jsonValue(), candidate: fc.jsonValue(),
  }, { requiredKeys: ['type'] }).map((value) => JSON.stringify(value)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  // Within the 64 KiB frame limit: a larger frame closes the socket (1009), which the limits tests cover.
  nested(3_000).map((value) => `{"type":"call_answer","call_log_id":1,"answer":${value}}`),
)
/** Frames that may close a socket: invalid UTF-8 in a text frame (1007), and binary frames. */
const breach = fc.oneof(fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ bytes, binary: true })), fc.constant({ bytes: Uint8Array.of(0xc3, 0x28), binary: false }))

describe('reference server under generated input', () => {
  it('answers no 5xx, throws nothing, closes sockets only for protocol breaches, and keeps its memory bounded', async () => {
    // Rates out of the way: a marker frame must always come back while the socket lives.
    const { server, api, open } = await serverForTest({ callRateMax: 1_000_000, maxRingingPerCaller: 1_000_000, chatRate: 1_000_000, signalRate: 1_000_000 })
    const rssBefore = process.memoryUsage().rss
    let bob = await api.login('bob')
    const answered = new Map<number, number>()

    await fc.assert(fc.asyncProperty(request, async ({ method, path, version, headers, body, lengthOff }) => {
      const lines = headers.map(([name, value]) => `${name.replace('TOKEN', bob)}: ${value.replace('TOKEN', bob)}`)
      const length = Buffer.byteLength(body, 'latin1') + lengthOff
      const raw = `${method} ${path} ${version}\r\nHost: x\r\n${lines.join('\r\n')}${lines.length ? '\r\n' : ''}` +
        `Content-Length: ${Math.max(length, 0)}\r\nConnection: close\r\n\r\n${body}`
      const status = statusOf(await rawHttp(server.port, Buffer.from(raw, 'latin1'), 3_000))
      answered.set(status, (answered.get(status) ?? 0) + 1)
      expect(status, raw.slice(0, 300)).toBeLessThan(500)
      // A generated logout revoked the token: the runs after it get a fresh one.
      if (path === '/api/logout' && status === 200) bob = await api.login('bob')
    }), { numRuns: 1_000_000, interruptAfterTimeLimit: phaseMs })

    // Fresh tokens: the requests above may have logged bob's out.
    const tokens = { alice: await api.login('alice'), bob: await api.login('bob') }
    for (let index = 0; index < 3; index += 1) await api.call(tokens.bob, 'Tutor:1')
    const sockets: TestSocket[] = []
    const live = async (index: number): Promise<TestSocket> => {
      const current = sockets[index]
      if (current && current.ws.readyState === current.ws.OPEN) return current
      const [key, token] = index % 2 === 0 ? ['Tutor:1', tokens.alice] : ['Student:1', tokens.bob]
      const socket = await open(key, token)
      await socket.next(frameLike({ type: 'ack', of: 'auth' }))
      sockets[index] = socket
      return socket
    }
    let pings = 0
    await fc.assert(fc.asyncProperty(fc.nat(3), fc.array(frame, { maxLength: 8 }), fc.option(breach, { freq: 10 }), async (index, frames, broken) => {
      const socket = await live(index)
      for (const text of frames) socket.send(text)
      if (broken !== null) socket.ws.send(broken.bytes, { binary: broken.binary })
      const marker = `fuzz-${pings++}`
      socket.send({ type: 'chat_message', to_profile_id: 1, to_profile_type: index % 2 === 0 ? 'Student' : 'Tutor', text: marker })
      // Either the marker comes back (the socket lives on) or the socket closed for the breach sent.
      const outcome = await Promise.race([
        socket.next((received) => received.text === marker, 5_000).then(() => 'alive'),
        socket.closed.then(({ code }) => `closed ${code}`),
      ]).catch(() => 'no answer')
      const expected = broken === null ? ['alive'] : ['alive', 'closed 1007', 'closed 1003']
      expect(expected, `${frames.join('\n').slice(0, 500)} → ${outcome}`).toContain(outcome)
    }), { numRuns: 1_000_000, interruptAfterTimeLimit: phaseMs })

    const stats = await api.stats()
    expect(Object.keys(stats.connections).length).toBeLessThanOrEqual(2)
    const rssAfter = process.memoryUsage().rss
    // The test process holds the server and the clients: bounds wide enough for both, far below a leak's growth.
    expect(rssAfter - rssBefore).toBeLessThan(256 * MiB)
    expect(rssAfter).toBeLessThan(1024 * MiB)
    console.info(`fuzz: HTTP answers by status ${JSON.stringify(Object.fromEntries([...answered].sort()))}; ${pings} frame batches; rss ${Math.round(rssBefore / MiB)} → ${Math.round(rssAfter / MiB)} MiB`)
  }, 3 * phaseMs + 10_000)
})
