/** The reference server's wire behaviour: acks, answers, chat, call signalling, the platform flavour, logout. */
import { describe, expect, it } from 'vitest'
import { frameLike, serverForTest } from './server-client'
import type { Frame } from './server-client'

const typeIs = (type: string) => (frame: Frame) => frame.type === type

describe('auth ack', () => {
  it('re-sends the calls still ringing for the profile, then acks the auth', async () => {
    const { api, open } = await serverForTest()
    const bob = await api.login('bob')
    const first = await api.call(bob, 'Tutor:1')
    const second = await api.call(bob, 'Tutor:1')
    await api.post(`/api/calls/${second}/cancel`, {}, bob)
    const alice = await open('Tutor:1', await api.login('alice'))
    await alice.next(typeIs('ack'))
    expect(alice.frames.map((frame) => [frame.type, frame.call_log_id ?? frame.of])).toEqual([['call_invitation', first], ['ack', 'auth']])
  })

  it('acks no auth that failed: a bad token closes 4401, another user’s profile 4403', async () => {
    const { api, open } = await serverForTest()
    const stranger = await open('Tutor:1', 'not-a-token')
    expect(await stranger.closed).toEqual({ code: 4401, reason: 'invalid token' })
    const bob = await open('Tutor:1', await api.login('bob'))
    expect((await bob.closed).code).toBe(4403)
    expect([...stranger.frames, ...bob.frames]).toEqual([])
  })

  it('closes a socket that sends no auth frame in time with 4408', async () => {
    const { open } = await serverForTest({ authTimeout: 50 })
    const silent = await open('Tutor:1')
    expect(await silent.closed).toEqual({ code: 4408, reason: 'no auth frame in time' })
  })
})

describe('answers', () => {
  it('acks an accept, stops the profile’s other sockets ringing and tells the caller', async () => {
    const { api, open, signedIn } = await serverForTest()
    const caller = await signedIn('bob', 'Student:1')
    const id = await api.call(caller.token, 'Tutor:1')
    const alice = await api.login('alice')
    const [answering, other] = [await open('Tutor:1', alice), await open('Tutor:1', alice)]
    await answering.next(typeIs('ack'))
    await other.next(typeIs('ack'))
    answering.send({ type: 'call_accepted', call_log_id: id, conversation_id: 1 })
    expect(await answering.next(frameLike({ type: 'ack', of: 'call_accepted' }))).toEqual({ type: 'ack', of: 'call_accepted', call_log_id: id })
    expect(await other.next(typeIs('call_taken'))).toEqual({ type: 'call_taken', call_log_id: id })
    expect(await caller.next(typeIs('call_accepted'))).toEqual({ type: 'call_accepted', call_log_id: id })
    const record = (await (await api.get(`/api/calls/${id}`, alice)).json()) as Frame
    expect(record).toMatchObject({ status: 'accepted', end_reason: null, ended_by: null })
    expect(answering.frames.some(typeIs('call_taken'))).toBe(false)
  })

  it('acks a busy decline, records its reason and tells the caller', async () => {
    const { api, signedIn } = await serverForTest()
    const caller = await signedIn('bob', 'Student:1')
    const callee = await signedIn('alice', 'Tutor:1')
    const id = await api.call(caller.token, 'Tutor:1')
    callee.send({ type: 'call_declined', call_log_id: id, conversation_id: 1, reason: 'busy' })
    await callee.next(frameLike({ type: 'ack', of: 'call_declined', call_log_id: id }))
    expect(await caller.next(typeIs('call_declined'))).toEqual({ type: 'call_declined', call_log_id: id, reason: 'busy' })
    expect(await (await api.get(`/api/calls/${id}`, caller.token)).json()).toMatchObject({ status: 'declined', end_reason: 'busy', ended_by: 'callee' })
  })

  it('nacks an answer to a cancelled, unknown or foreign call, saying why, and keeps the socket open', async () => {
    const { api, signedIn } = await serverForTest()
    const bob = await signedIn('bob', 'Student:1')
    const alice = await signedIn('alice', 'Tutor:1')
    const cancelled = await api.call(bob.token, 'Tutor:1')
    await api.post(`/api/calls/${cancelled}/cancel`, {}, bob.token)
    const foreign = await api.call(bob.token, 'Tutor:2')
    alice.send({ type: 'call_accepted', call_log_id: cancelled, conversation_id: 1 })
    alice.send({ type: 'call_declined', call_log_id: 999, conversation_id: 1 })
    alice.send({ type: 'call_accepted', call_log_id: foreign, conversation_id: 2 })
    await alice.next((frame) => frame.type === 'nack' && frame.call_log_id === foreign)
    expect(alice.frames.filter(typeIs('nack'))).toEqual([
      { type: 'nack', of: 'call_accepted', call_log_id: cancelled, reason: 'call is cancelled' },
      { type: 'nack', of: 'call_declined', call_log_id: 999, reason: 'unknown call' },
      { type: 'nack', of: 'call_accepted', call_log_id: foreign, reason: 'not your call' },
    ])
    expect(alice.ws.readyState).toBe(alice.ws.OPEN)
    expect(await (await api.get(`/api/calls/${foreign}`, bob.token)).json()).toMatchObject({ status: 'ringing' })
  })

  it('two sockets accepting at once: one ack, one nack, one answer recorded', async () => {
    const { api, open } = await serverForTest()
    const bob = await api.login('bob')
    const alice = await api.login('alice')
    const sockets = [await open('Tutor:1', alice), await open('Tutor:1', alice)]
    for (const socket of sockets) await socket.next(typeIs('ack'))
    const id = await api.call(bob, 'Tutor:1')
    for (const socket of sockets) socket.send({ type: 'call_accepted', call_log_id: id, conversation_id: 1 })
    const answers = await Promise.all(sockets.map((socket) => socket.next((frame) => frame.of === 'call_accepted')))
    expect(answers.map((frame) => frame.type).sort()).toEqual(['ack', 'nack'])
    expect(answers.find(typeIs('nack'))).toMatchObject({ reason: 'call is accepted' })
    expect(await (await api.get(`/api/calls/${id}`, bob)).json()).toMatchObject({ status: 'accepted' })
  })

  it('echoes call ids exactly as the frame carried them', async () => {
    const { api, signedIn } = await serverForTest()
    const alice = await signedIn('alice', 'Tutor:1')
    const id = await api.call(await api.login('bob'), 'Tutor:1')
    alice.send({ type: 'call_declined', call_log_id: String(id), conversation_id: '1' })
    expect(await alice.next(frameLike({ of: 'call_declined' }))).toEqual({ type: 'ack', of: 'call_declined', call_log_id: String(id) })
    alice.send({ type: 'call_accepted', call_log_id: id, conversation_id: 1 })
    expect(await alice.next(frameLike({ of: 'call_accepted' }))).toMatchObject({ type: 'nack', call_log_id: id })
  })
})

describe('chat relay', () => {
  it('relays a message with one id to every socket of the target and of the sender', async () => {
    const { signedIn } = await serverForTest()
    const bobs = [await signedIn('bob', 'Student:1'), await signedIn('bob', 'Student:1')]
    const alices = [await signedIn('alice', 'Tutor:1'), await signedIn('alice', 'Tutor:1')]
    const carol = await signedIn('carol', 'Tutor:2')
    bobs[0]!.send({ type: 'chat_message', to_profile_id: 1, to_profile_type: 'Tutor', text: 'hello 👋' })
    const received = await Promise.all([...bobs, ...alices].map((socket) => socket.next(typeIs('chat_message'))))
    expect(new Set(received.map((frame) => JSON.stringify(frame))).size).toBe(1)
    expect(received[0]).toEqual({
      type: 'chat_message', id: expect.any(Number), from_profile_id: 1, from_profile_type: 'Student', from_name: 'Bob Bekele',
      to_profile_id: 1, to_profile_type: 'Tutor', text: 'hello 👋', sent_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
    carol.send({ type: 'ping' })
    await carol.next(typeIs('pong'))
    expect(carol.frames.some(typeIs('chat_message'))).toBe(false)
  })

  it('nacks an empty text, a text over 4,000 characters and an unknown profile', async () => {
    const { signedIn } = await serverForTest()
    const bob = await signedIn('bob', 'Student:1')
    const to = { type: 'chat_message', to_profile_id: 1, to_profile_type: 'Tutor' }
    bob.send({ ...to, text: '' })
    bob.send({ ...to, text: '😀'.repeat(4_001) })
    bob.send({ ...to, to_profile_id: 99, text: 'hi' })
    bob.send({ ...to, text: '😀'.repeat(4_000) })
    await bob.next(typeIs('chat_message'))
    expect(bob.frames.filter(typeIs('nack')).map((frame) => frame.reason)).toEqual([
      'text must be a non-empty string', 'text is over 4000 characters', 'no Tutor profile 99',
    ])
  })

  it('nacks chat past the per-socket rate instead of queueing it', async () => {
    const { signedIn } = await serverForTest({ chatRate: 5 })
    const bob = await signedIn('bob', 'Student:1')
    for (let index = 0; index < 20; index += 1) bob.send({ type: 'chat_message', to_profile_id: 1, to_profile_type: 'Tutor', text: `m${index}` })
    await bob.next((frame) => frame.type === 'nack' && bob.frames.length >= 20)
    const relayed = bob.frames.filter(typeIs('chat_message')).length
    expect(relayed).toBeGreaterThanOrEqual(5)
    expect(relayed).toBeLessThan(10)
    expect(bob.frames.filter(typeIs('nack'))[0]!.reason).toMatch(/over 5 chat messages a second/)
  })
})

describe('call signalling relay', () => {
  async function acceptedCall() {
    const context = await serverForTest()
    const caller = await context.signedIn('bob', 'Student:1')
    const callee = await context.signedIn('alice', 'Tutor:1')
    const other = await context.signedIn('alice', 'Tutor:1')
    const third = await context.signedIn('carol', 'Tutor:2')
    const id = await context.api.call(caller.token, 'Tutor:1')
    callee.send({ type: 'call_accepted', call_log_id: id, conversation_id: 1 })
    await caller.next(typeIs('call_accepted'))
    return { ...context, caller, callee, other, third, id }
  }

  it('relays call_answer and ice_candidate to the other party only, never to a third profile', async () => {
    const { caller, callee, other, third, id } = await acceptedCall()
    callee.send({ type: 'call_answer', call_log_id: id, answer: { type: 'answer', sdp: 'v=0' } })
    caller.send({ type: 'ice_candidate', call_log_id: id, candidate: { candidate: 'candidate:1', sdpMid: '0' } })
    expect(await caller.next(typeIs('call_answer'))).toEqual({
      type: 'call_answer', call_log_id: id, answer: { type: 'answer', sdp: 'v=0' }, from_profile_id: 1, from_profile_type: 'Tutor',
    })
    expect(await callee.next(typeIs('ice_candidate'))).toMatchObject({ call_log_id: id, from_profile_type: 'Student' })
    await other.next(typeIs('ice_candidate'))
    third.send({ type: 'ping' })
    await third.next(typeIs('pong'))
    expect(third.frames.map((frame) => frame.type)).toEqual(['ack', 'pong'])
    expect(caller.frames.some(typeIs('ice_candidate')) || callee.frames.some(typeIs('call_answer'))).toBe(false)
  })

  it('nacks call frames from a profile that is no party of the call', async () => {
    const { caller, third, id } = await acceptedCall()
    third.send({ type: 'ice_candidate', call_log_id: id, candidate: {} })
    expect(await third.next(typeIs('nack'))).toEqual({ type: 'nack', of: 'ice_candidate', call_log_id: id, reason: 'not your call' })
    caller.send({ type: 'ping' })
    await caller.next(typeIs('pong'))
    expect(caller.frames.some(typeIs('ice_candidate'))).toBe(false)
  })

  it('call_ended ends an accepted call with its reason and who hung up, and reaches the other party', async () => {
    const { api, caller, callee, id } = await acceptedCall()
    callee.send({ type: 'call_ended', call_log_id: id, reason: 'tab_closed' })
    expect(await caller.next(typeIs('call_ended'))).toMatchObject({ call_log_id: id, reason: 'tab_closed', from_profile_type: 'Tutor' })
    expect(await (await api.get(`/api/calls/${id}`, caller.token)).json()).toMatchObject({ status: 'ended', end_reason: 'tab_closed', ended_by: 'callee' })
    callee.send({ type: 'call_ended', call_log_id: id })
    expect(await callee.next(typeIs('nack'))).toMatchObject({ reason: 'call is ended' })
  })

  it('call_ended without a reason is a hang-up', async () => {
    const { api, caller, callee, id } = await acceptedCall()
    caller.send({ type: 'call_ended', call_log_id: id })
    await callee.next(typeIs('call_ended'))
    expect(await (await api.get(`/api/calls/${id}`, caller.token)).json()).toMatchObject({ status: 'ended', end_reason: 'hangup', ended_by: 'caller' })
  })

  it('call_ended from the caller on a ringing call cancels it', async () => {
    const { api, signedIn } = await serverForTest()
    const caller = await signedIn('bob', 'Student:1')
    const callee = await signedIn('alice', 'Tutor:1')
    const id = await api.call(caller.token, 'Tutor:1')
    caller.send({ type: 'call_ended', call_log_id: id })
    expect(await callee.next(typeIs('call_cancelled'))).toEqual({ type: 'call_cancelled', call_log_id: id })
    expect(await (await api.get(`/api/calls/${id}`, caller.token)).json()).toMatchObject({ status: 'cancelled', ended_by: 'caller' })
  })

  it('records call_media per party without relaying it', async () => {
    const { api, caller, callee, id } = await acceptedCall()
    const media = async () => ((await (await api.get(`/api/calls/${id}`, caller.token)).json()) as { media: unknown }).media
    expect(await media()).toEqual({ caller: null, callee: null })
    caller.send({ type: 'call_media', call_log_id: id, state: 'connecting' })
    callee.send({ type: 'call_media', call_log_id: id, state: 'connected' })
    await expect.poll(media).toEqual({ caller: 'connecting', callee: 'connected' })
    callee.send({ type: 'call_media', call_log_id: id, state: 'sideways' })
    expect(await callee.next(typeIs('nack'))).toMatchObject({ of: 'call_media', reason: 'state must be connecting, connected or failed' })
    expect(caller.frames.some(typeIs('call_media'))).toBe(false)
  })
})

describe('call records', () => {
  it('answers the status, end, media and parties of a call, with its offer only while it rings', async () => {
    const { api, signedIn } = await serverForTest()
    const bob = await signedIn('bob', 'Student:1')
    const alice = await signedIn('alice', 'Tutor:1')
    const id = await api.call(bob.token, 'Tutor:1')
    const ringing = (await (await api.get(`/api/calls/${id}`, alice.token)).json()) as Frame
    expect(ringing).toMatchObject({
      call_log_id: id, status: 'ringing', end_reason: null, ended_by: null, media: { caller: null, callee: null },
      from_profile_id: 1, from_profile_type: 'Student', from_name: 'Bob Bekele', to_profile_id: 1, to_profile_type: 'Tutor',
      offer: { type: 'offer', sdp: 'v=0' }, answered_at: null, ended_at: null,
    })
    alice.send({ type: 'call_accepted', call_log_id: id, conversation_id: 1 })
    await alice.next(typeIs('ack'))
    const accepted = (await (await api.get(`/api/calls/${id}`, alice.token)).json()) as Frame
    expect(accepted).not.toHaveProperty('offer')
    expect(accepted.answered_at).toEqual(expect.any(String))
    expect((await api.get(`/api/calls/${id}`, await api.login('carol'))).status).toBe(403)
  })

  it('lists the ringing invitations of a profile to its owner, as the socket would carry them', async () => {
    const { api, signedIn } = await serverForTest()
    const alice = await signedIn('alice', 'Tutor:1')
    const bob = await api.login('bob')
    const id = await api.call(bob, 'Tutor:1')
    await api.call(bob, 'Tutor:2')
    const invitation = await alice.next(typeIs('call_invitation'))
    const listed = await api.get('/api/calls?status=ringing&to_profile_type=Tutor&to_profile_id=1', alice.token)
    expect(await listed.json()).toEqual({ calls: [invitation] })
    expect(invitation.call_log_id).toBe(id)
    expect((await api.get('/api/calls?status=ringing&to_profile_type=Tutor&to_profile_id=1', bob)).status).toBe(403)
    expect((await api.get('/api/calls?status=ended&to_profile_type=Tutor&to_profile_id=1', alice.token)).status).toBe(400)
  })
})

describe('platform backend', () => {
  it('needs no auth frame: a socket counts and gets invitations as soon as it opens', async () => {
    const { api, open } = await serverForTest({ backend: 'platform' })
    const alice = await open('Tutor:1')
    expect((await api.stats()).connections).toEqual({ 'Tutor:1': 1 })
    const id = await api.call(await api.login('bob'), 'Tutor:1')
    expect(await alice.next(typeIs('call_invitation'))).toMatchObject({ call_log_id: id })
    await expect(open('Tutor:99')).rejects.toThrow('404')
  })

  it('sends no pong, no ack and no re-send, but still tells the caller and the other sockets', async () => {
    const { api, open } = await serverForTest({ backend: 'platform' })
    const bob = await api.login('bob')
    const early = await api.call(bob, 'Tutor:1')
    const caller = await open('Student:1')
    const [answering, other] = [await open('Tutor:1'), await open('Tutor:1')]
    const id = await api.call(bob, 'Tutor:1')
    await answering.next(typeIs('call_invitation'))
    answering.send({ type: 'ping' })
    answering.send({ type: 'call_accepted', call_log_id: id, conversation_id: 1 })
    answering.send({ type: 'call_accepted', call_log_id: 999, conversation_id: 1 })
    await caller.next(typeIs('call_accepted'))
    await other.next(typeIs('call_taken'))
    // A frame the server answers in every flavour: chat to oneself comes back, after anything sent before it.
    answering.send({ type: 'chat_message', to_profile_id: 1, to_profile_type: 'Tutor', text: 'marker' })
    await answering.next(typeIs('chat_message'))
    expect(answering.frames.map((frame) => frame.type)).toEqual(['call_invitation', 'chat_message'])
    expect(answering.frames[0]!.call_log_id).toBe(id)
    expect(answering.frames.some((frame) => frame.call_log_id === early)).toBe(false)
    expect(await (await api.get(`/api/calls/${id}`, bob)).json()).toMatchObject({ status: 'accepted' })
  })

  it('takes each switch on its own: acks off on the reference backend', async () => {
    const { api, open } = await serverForTest({ acks: false })
    const alice = await open('Tutor:1', await api.login('alice'))
    alice.send({ type: 'ping' })
    expect(await alice.next(typeIs('pong'))).toEqual({ type: 'pong' })
    expect(alice.frames.some(typeIs('ack'))).toBe(false)
  })
})

describe('dev stall', () => {
  it('sends and reads nothing while stalled, then reads what waited, in order', async () => {
    const { api, signedIn } = await serverForTest()
    const alice = await signedIn('alice', 'Tutor:1')
    const answer = await api.post('/api/dev/stall', { ms: 300 })
    const { stalled_until } = (await answer.json()) as { stalled_until: string }
    for (const text of ['one', 'two', 'three']) alice.send({ type: 'chat_message', to_profile_id: 1, to_profile_type: 'Tutor', text })
    expect(await (await api.post('/api/dev/send', { profile_id: 1, profile_type: 'Tutor', frame: '{"type":"x"}' })).json()).toEqual({ sent: 0 })
    await alice.next((frame) => frame.text === 'three')
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(stalled_until))
    expect(alice.frames.filter((frame) => frame.type === 'chat_message').map((frame) => frame.text)).toEqual(['one', 'two', 'three'])
  })
})

describe('logout', () => {
  it('closes the live sockets of the revoked token with 4401, and only those', async () => {
    const { api, signedIn } = await serverForTest()
    const leaving = await signedIn('alice', 'Tutor:1')
    const staying = await signedIn('alice', 'Tutor:1')
    expect((await api.post('/api/logout', {}, leaving.token)).status).toBe(200)
    expect(await leaving.closed).toEqual({ code: 4401, reason: 'signed out' })
    await api.call(await api.login('bob'), 'Tutor:1')
    await staying.next(typeIs('call_invitation'))
    expect((await api.stats()).connections).toEqual({ 'Tutor:1': 1 })
    expect((await api.get('/api/me', leaving.token)).status).toBe(401)
  })
})

describe('cross-origin pages', () => {
  it('answers CORS and accepts sockets for the configured origins only', async () => {
    const { api, server, open } = await serverForTest({ corsOrigins: ['http://app.test'] })
    const preflight = (origin: string) => fetch(`${server.url}/api/me`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    })
    expect((await preflight('http://app.test')).headers.get('access-control-allow-origin')).toBe('http://app.test')
    expect((await preflight('http://evil.test')).headers.get('access-control-allow-origin')).toBe(null)
    const me = await fetch(`${server.url}/api/me`, { headers: { origin: 'http://app.test' } })
    expect(me.headers.get('access-control-expose-headers')).toBe('retry-after')
    const token = await api.login('alice')
    const allowed = await open('Tutor:1', token, { origin: 'http://app.test' })
    await allowed.next(typeIs('ack'))
    await expect(open('Tutor:1', token, { origin: 'http://evil.test' })).rejects.toThrow('403')
  })

  it('accepts sockets from its own origin and refuses other origins by default', async () => {
    const { api, server, open } = await serverForTest()
    const token = await api.login('alice')
    const own = await open('Tutor:1', token, { origin: server.url })
    await own.next(typeIs('ack'))
    await expect(open('Tutor:1', token, { origin: 'http://elsewhere.test' })).rejects.toThrow('403')
  })
})
