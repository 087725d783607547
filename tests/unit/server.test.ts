import { connect } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startServer } from '../../server/server'
import type { ReferenceServer } from '../../server/server'

let server: ReferenceServer
beforeEach(async () => {
  server = await startServer({ port: 0, log: () => {} })
})
afterEach(async () => {
  await server.close()
})

const post = (path: string, body: string, token?: string) =>
  fetch(server.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } })

describe('reference server', () => {
  it('answers 401 to any failed login, malformed bodies included', async () => {
    expect((await post('/api/login', '{"username":"alice","password":"demo"}')).status).toBe(200)
    expect((await post('/api/login', '{"username":"alice","password":"nope"}')).status).toBe(401)
    expect((await post('/api/login', '{not json')).status).toBe(401)
    expect((await post('/api/login', '[]')).status).toBe(401)
  })

  it('survives a socket URL with a malformed escape', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write('GET /ws/%E0%A4%A/Tutor HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
      })
      let text = ''
      socket.on('data', (chunk) => (text += chunk.toString()))
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    })
    expect(answer).toMatch(/^HTTP\/1.1 4\d\d /)
    expect((await fetch(`${server.url}/api/stats`)).status).toBe(200)
  })

  it('refuses a call whose invitation would be over the hub’s 64 KiB limit', async () => {
    const { access_token } = (await (await post('/api/login', '{"username":"bob","password":"demo"}')).json()) as { access_token: string }
    const call = (offer: string) => post('/api/calls', JSON.stringify({ to_profile_id: 1, to_profile_type: 'Tutor', call_type: 'video', offer }), access_token)
    expect((await call('x'.repeat(70_000))).status).toBe(413)
    expect((await call('v=0')).status).toBe(201)
  })
})
