/** The reference server holds its memory and answers hostile input with 4xx (issue 13, part 3). */
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { frameLike, rawHttp, serverForTest, statusOf } from './server-client'

const pace = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('slow and dead sockets', () => {
  it('cuts off a socket that does not read with 1013 and a retry-after', async () => {
    const { api, signedIn } = await serverForTest({ maxBufferedBytes: 256 * 1024, closeGrace: 30_000 })
    const alice = await signedIn('alice', 'Tutor:1')
    alice.ws.pause()
    const big = 'x'.repeat(512 * 1024)
    for (let sent = 0; sent < 200 && (await api.stats()).connections['Tutor:1'] === 1; sent += 1) {
      await api.post('/api/dev/send', { profile_id: 1, profile_type: 'Tutor', frame: big })
    }
    expect((await api.stats()).connections).toEqual({})
    alice.ws.resume()
    expect(await alice.closed).toEqual({ code: 1013, reason: 'retry-after=5000' })
  })

  it('drops a cut-off socket whose close frame cannot drain', async () => {
    const { api, signedIn } = await serverForTest({ maxBufferedBytes: 256 * 1024, closeGrace: 100 })
    const alice = await signedIn('alice', 'Tutor:1')
    alice.ws.pause()
    const big = 'x'.repeat(512 * 1024)
    for (let sent = 0; sent < 200 && (await api.stats()).connections['Tutor:1'] === 1; sent += 1) {
      await api.post('/api/dev/send', { profile_id: 1, profile_type: 'Tutor', frame: big })
    }
    await expect.poll(async () => (await api.stats()).sockets).toBe(0)
  })

  it('reaps a socket that answers no protocol ping, and keeps one that does', async () => {
    const { api, open } = await serverForTest({ heartbeatInterval: 50 })
    const token = await api.login('alice')
    const alive = await open('Tutor:1', token)
    const dead = await open('Tutor:1', token, { autoPong: false })
    await dead.next(frameLike({ type: 'ack' }))
    await alive.next(frameLike({ type: 'ack' }))
    expect((await dead.closed).code).toBe(1006)
    expect((await api.stats()).connections).toEqual({ 'Tutor:1': 1 })
  })

  it('closes a socket that sends a frame over the limit with 1009', async () => {
    const { signedIn } = await serverForTest()
    const alice = await signedIn('alice', 'Tutor:1')
    // Still sending when the server stops reading: a socket dropped then would show 1006.
    alice.send({ type: 'chat_message', to_profile_id: 1, to_profile_type: 'Tutor', text: 'x'.repeat(10_000_000) })
    expect((await alice.closed).code).toBe(1009)
  })

  it('nacks a frame nested too deep to relay and keeps the socket', async () => {
    const { signedIn } = await serverForTest()
    const alice = await signedIn('alice', 'Tutor:1')
    alice.send(`{"type":"ice_candidate","call_log_id":1,"candidate":${'['.repeat(5_000)}${']'.repeat(5_000)}}`)
    expect(await alice.next(frameLike({ type: 'nack' }))).toEqual({ type: 'nack', of: 'ice_candidate', reason: 'frame nested deeper than 32 levels' })
    alice.send({ type: 'ping' })
    await alice.next(frameLike({ type: 'pong' }))
  })
})

describe('requests and connections', () => {
  it('refuses a body past the in-flight budget with 503 and retry-after, and takes it once the budget is free', async () => {
    const { server, api } = await serverForTest({ maxBodyBytesInFlight: 1024 * 1024 })
    const slow = connect(server.port, '127.0.0.1')
    onTestFinished(() => void slow.destroy())
    slow.write('POST /api/dev/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900000\r\n\r\n{"frame":"')
    const body = { profile_id: 1, profile_type: 'Tutor', frame: 'x'.repeat(200_000) }
    let refused: Response | undefined
    await expect.poll(async () => (refused = await api.post('/api/dev/send', body)).status).toBe(503)
    expect(refused!.headers.get('retry-after')).toBe('1')
    slow.destroy()
    await expect.poll(async () => (await api.post('/api/dev/send', body)).status).toBe(200)
  })

  it('answers 413 to a body over the limit', async () => {
    const { api } = await serverForTest()
    const token = await api.login('bob')
    expect((await api.post('/api/calls', { to_profile_id: 1, to_profile_type: 'Tutor', offer: 'x'.repeat(2 * 1024 * 1024) }, token)).status).toBe(413)
    expect((await api.post('/api/dev/send', { profile_id: 1, profile_type: 'Tutor', frame: 'x'.repeat(9 * 1024 * 1024) })).status).toBe(413)
  })

  it('caps connections: one past the cap is closed unanswered, and one fits again once another left', async () => {
    const { server } = await serverForTest({ maxConnections: 3 })
    const request = 'GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n'
    const held: Socket[] = []
    onTestFinished(() => held.forEach((socket) => socket.destroy()))
    for (let index = 0; index < 3; index += 1) {
      const socket = connect(server.port, '127.0.0.1', () => socket.write(request))
      held.push(socket)
      await new Promise((resolve) => socket.once('data', resolve))
    }
    expect(statusOf(await rawHttp(server.port, request))).toBe(0)
    held.pop()!.destroy()
    await expect.poll(async () => statusOf(await rawHttp(server.port, 'GET /api/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))).toBe(200)
  })

  it('closes a connection that sends nothing, but not a quiet socket', async () => {
    const { server, signedIn } = await serverForTest({ requestTimeout: 200 })
    const quiet = await signedIn('alice', 'Tutor:1')
    const idle = connect(server.port, '127.0.0.1')
    onTestFinished(() => void idle.destroy())
    idle.on('error', () => {})
    await new Promise((resolve) => idle.once('close', resolve))
    // Three idle timeouts later the socket still lives: the timeout is for HTTP connections only.
    await pace(600)
    expect(quiet.ws.readyState).toBe(quiet.ws.OPEN)
  })

  it('answers hostile requests with 4xx, never 500', async () => {
    const { server, api } = await serverForTest()
    const token = await api.login('bob')
    const post = (path: string, body: string, type = 'application/json') =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
    const deepArray = `{"to_profile_id":1,"to_profile_type":"Tutor","offer":${'['.repeat(5_000)}${']'.repeat(5_000)}}`
    const deepObject = `{"to_profile_id":1,"to_profile_type":"Tutor","offer":${'{"constructor":'.repeat(5_000)}1${'}'.repeat(5_000)}}`
    const cases: Array<[string, string, number]> = [
      ['a 5,000-deep offer', post('/api/calls', deepArray), 400],
      ['a 5,000-deep object', post('/api/calls', deepObject), 400],
      ['an absolute-form request line', `GET http://x/api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, 200],
      ['malformed JSON', post('/api/calls', '{"to_profile_id":'), 400],
      ['a wrong content type', post('/api/calls', 'to=1', 'application/x-www-form-urlencoded'), 415],
      ['a number where a string belongs', post('/api/dev/send', '{"profile_id":1,"profile_type":"Tutor","frame":5}'), 400],
      ['a call id that is not a number', `GET /api/calls/abc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, 400],
      ['a malformed escape', 'GET /api/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
      ['a garbled request line', 'GET\u0000 / HTTP/1.1\r\n\r\n', 400],
      ['oversized headers', `GET /api/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(70_000)}\r\n\r\n`, 431],
      ['a call to oneself', post('/api/calls', '{"to_profile_id":1,"to_profile_type":"Student"}'), 400],
    ]
    for (const [name, request, status] of cases) expect([name, statusOf(await rawHttp(server.port, request))]).toEqual([name, status])
    expect((await api.stats()).connections).toEqual({})
  })
})

describe('calls and totals', () => {
  it('drops a settled call’s offer at once and forgets the call after a while', async () => {
    const { api } = await serverForTest({ forgetAfter: 100 })
    const bob = await api.login('bob')
    const id = await api.call(bob, 'Tutor:1')
    const cancelled = await api.post(`/api/calls/${id}/cancel`, {}, bob)
    expect(await cancelled.json()).not.toHaveProperty('offer')
    await expect.poll(async () => (await api.get(`/api/calls/${id}`, bob)).status).toBe(404)
  })

  it('remembers at most maxCalls calls, forgetting the oldest settled one first and refusing when all are live', async () => {
    const { api } = await serverForTest({ maxCalls: 2 })
    const bob = await api.login('bob')
    const first = await api.call(bob, 'Tutor:1')
    await api.call(bob, 'Tutor:1')
    const full = await api.post('/api/calls', { to_profile_id: 1, to_profile_type: 'Tutor' }, bob)
    expect([full.status, full.headers.get('retry-after')]).toEqual([503, '45'])
    await api.post(`/api/calls/${first}/cancel`, {}, bob)
    await api.call(bob, 'Tutor:1')
    expect((await api.get(`/api/calls/${first}`, bob)).status).toBe(404)
  })

  it('limits calls per caller by default: one every 300 ms goes through, most of a burst of 300 is refused with retry-after', async () => {
    const { api } = await serverForTest()
    const [bob, carol] = [await api.login('bob'), await api.login('carol')]
    // Past the end of the first 10 s window, so a steady pace is shown to outlast it.
    for (const started = Date.now(); Date.now() - started < 11_000;) {
      await api.call(bob, 'Tutor:1')
      await pace(300)
    }
    const burst = await Promise.all(Array.from({ length: 300 }, () => api.post('/api/calls', { to_profile_id: 1, to_profile_type: 'Tutor' }, carol)))
    const refused = burst.filter((response) => response.status === 429)
    expect(refused.length).toBeGreaterThan(150)
    expect(burst.filter((response) => response.status === 201).length + refused.length).toBe(300)
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThan(0)
  }, 30_000)

  it('limits the calls of one caller ringing at once with 429', async () => {
    const { api } = await serverForTest({ maxRingingPerCaller: 2 })
    const bob = await api.login('bob')
    const first = await api.call(bob, 'Tutor:1')
    await api.call(bob, 'Tutor:2')
    const third = await api.post('/api/calls', { to_profile_id: 1, to_profile_type: 'Tutor' }, bob)
    expect([third.status, third.headers.get('retry-after')]).toEqual([429, '45'])
    await api.post(`/api/calls/${first}/cancel`, {}, bob)
    await api.call(bob, 'Tutor:1')
  })

  it('prunes the per-profile totals to a bound, keeping the keys in use exact', async () => {
    const { api, open } = await serverForTest({ maxTotalsKeys: 3 })
    for (let id = 100; id < 110; id += 1) (await open(`Tutor:${id}`)).ws.terminate()
    const token = await api.login('alice')
    for (let index = 0; index < 2; index += 1) (await open('Tutor:1', token)).ws.terminate()
    const { attempts, authenticated } = await api.stats()
    expect(Object.keys(attempts)).toHaveLength(3)
    expect(attempts['Tutor:1']).toBe(2)
    await expect.poll(async () => (await api.stats()).authenticated['Tutor:1'] ?? 0).toBe(2)
    expect(Object.keys(authenticated).length).toBeLessThanOrEqual(3)
  })
})

describe('static files', () => {
  it('serves the pages of its folder, and nothing a symlink or a dot-dot leads to outside it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'callhub-static-'))
    onTestFinished(() => rm(root, { recursive: true, force: true }))
    const site = join(root, 'site')
    await mkdir(join(site, 'assets'), { recursive: true })
    await writeFile(join(root, 'secret.html'), 'the secret content')
    await writeFile(join(site, 'index.html'), 'home')
    await writeFile(join(site, 'tutor.html'), 'tutor')
    await writeFile(join(site, 'assets', 'app.js'), 'code')
    await symlink(join(root, 'secret.html'), join(site, 'leak.html'))
    await symlink(root, join(site, 'up'))
    await symlink(join(site, 'tutor.html'), join(site, 'alias.html'))
    const { server } = await serverForTest({ staticDir: site })
    const get = (path: string) => fetch(server.url + path)
    expect(await (await get('/')).text()).toBe('home')
    expect(await (await get('/tutor')).text()).toBe('tutor')
    expect(await (await get('/alias')).text()).toBe('tutor')
    expect((await get('/assets/app.js')).headers.get('cache-control')).toBe('max-age=31536000, immutable')
    expect((await get('/tutor')).headers.get('cache-control')).toBe('no-cache')
    for (const path of ['/leak', '/leak.html', '/up/secret.html', '/../secret.html', '/%2e%2e/secret.html', '/api/stats/x']) {
      const response = await get(path)
      const refused = response.status >= 400 && response.status < 500
      expect({ path, refused, leaked: (await response.text()).includes('the secret content') }).toEqual({ path, refused: true, leaked: false })
    }
    expect((await get('/avatars/bob.svg')).headers.get('content-type')).toBe('image/svg+xml')
  })
})
