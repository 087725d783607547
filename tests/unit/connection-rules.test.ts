/**
 * The rules of one profile's connection, driven directly over a fake socket and clock on the default settings
 * (random is 0.999999, so each retry waits the whole window less 1 ms).
 */
import { describe, expect, it } from 'vitest'
import { MessageDroppedError } from '../../protocol/errors'
import type { ServerFrame } from '../../protocol/wire'
import { MAX_FRAME_BYTES } from '../../protocol/wire'
import { OUTBOX_BYTES, OUTBOX_WAIT, createConnection } from '../../core/connection'
import type { SocketLike, SocketState } from '../../core/connection'
import { defaultSettings } from '../../core/settings'
import type { Backend, Settings } from '../../core/settings'
import { createFakeClock, socketFactory } from './fakes'
import type { FakeSocket } from './fakes'

function setup(options: { backend?: Partial<Backend>; timings?: Partial<Settings>; online?: boolean; createSocket?: (url: string) => SocketLike } = {}) {
  const clock = createFakeClock()
  const factory = socketFactory()
  const states: SocketState[] = []
  const frames: ServerFrame[] = []
  let token = 'tok-1'
  const settings = { ...defaultSettings, ...options.timings, backend: { ...defaultSettings.backend, ...options.backend } }
  const connection = createConnection({
    url: () => 'ws://hub.test/ws/1/Tutor', token: () => token, settings: () => settings,
    createSocket: options.createSocket ?? factory.createSocket, clock, random: () => 0.999_999, online: options.online ?? true,
    onFrame: (frame) => frames.push(frame), onState: (state) => states.push(state), log: () => {},
  })
  const socket = (): FakeSocket => factory.last()
  /** ms until the pending retry, when waiting. */
  const retryIn = () => (connection.state.type === 'waiting' ? connection.state.retryAt - clock.now() : null)
  return { clock, factory, socket, connection, states, frames, retryIn, setToken: (next: string) => void (token = next) }
}

function acceptSocket(socket: FakeSocket): void {
  socket.open()
  socket.receive({ type: 'ack', of: 'auth' })
}

/** Lets promise callbacks run. */
const settled = async <T>(promise: Promise<T>) => {
  let result: 'pending' | 'resolved' | 'rejected' = 'pending'
  promise.then(() => (result = 'resolved'), () => (result = 'rejected'))
  await new Promise((resolve) => setTimeout(resolve, 0))
  return result
}

describe('the silence before a ping', () => {
  it('counts from the last frame: a frame 10 s in moves the ping to 35 s', () => {
    const { clock, socket } = setup()
    acceptSocket(socket())
    clock.advance(10_000)
    socket().receive({ type: 'chat_message', text: 'hi' })
    clock.advance(24_999)
    expect(socket().frames()).toEqual([{ type: 'auth', token: 'tok-1' }])
    clock.advance(1)
    expect(socket().frames().at(-1)).toEqual({ type: 'ping' })
  })

  it('restarts after an answered ping: the next ping is 25 s after the answer', () => {
    const { clock, socket } = setup()
    acceptSocket(socket())
    clock.advance(25_000)
    clock.advance(5_000)
    socket().receive({ type: 'pong' })
    clock.advance(24_999)
    expect(socket().frames().filter((frame) => frame.type === 'ping')).toHaveLength(1)
    clock.advance(1)
    expect(socket().frames().filter((frame) => frame.type === 'ping')).toHaveLength(2)
  })
})

describe('connecting', () => {
  it('gives up on a socket that does not open within 10 s, and says so', () => {
    const { clock, connection, factory } = setup()
    clock.advance(9_999)
    expect(connection.state.type).toBe('connecting')
    clock.advance(1)
    expect(connection.state.type).toBe('waiting')
    expect(connection.lastClose).toMatchObject({ code: 1006, reason: 'socket did not open in time' })
    expect(factory.sockets[0]!.closedWith).not.toBeNull()
  })

  it('a socket that cannot even be created counts as a failed attempt, and is retried', () => {
    let calls = 0
    const { connection, clock } = setup({
      createSocket: () => {
        calls += 1
        throw new Error('SyntaxError: bad URL')
      },
    })
    expect(connection.state.type).toBe('waiting')
    expect(connection.lastClose).toMatchObject({ code: 1006, reason: 'socket could not be created' })
    clock.advance(4_000)
    expect(calls).toBe(2)
  })

  it('writes nothing but the auth frame before the backend acknowledges it: answers are refused, frames wait', async () => {
    const { connection, socket } = setup()
    socket().open()
    expect(connection.sendNow({ type: 'call_accepted', call_log_id: 1, conversation_id: null })).toBe(false)
    const sent = connection.send('{"type":"chat_message"}')
    expect(await settled(sent)).toBe('pending')
    expect(socket().sent).toEqual(['{"type":"auth","token":"tok-1"}'])
    socket().receive({ type: 'ack', of: 'auth' })
    expect(await settled(sent)).toBe('resolved')
    expect(socket().sent.at(-1)).toBe('{"type":"chat_message"}')
  })

  it('a frame for a socket that is closing waits for the next one instead of counting as written', async () => {
    const { connection, socket, clock } = setup()
    acceptSocket(socket())
    socket().readyState = 2
    const sent = connection.send('{"type":"chat_message"}')
    expect(await settled(sent)).toBe('pending')
    socket().drop()
    clock.advance(4_000)
    acceptSocket(socket())
    expect(await settled(sent)).toBe('resolved')
  })

  it('is open once, from the moment the socket opened, however late and however often the backend acknowledges', () => {
    const { clock, socket, states, connection } = setup()
    socket().open()
    const openedAt = clock.now()
    clock.advance(1_500)
    socket().receive({ type: 'ack', of: 'auth' })
    socket().receive({ type: 'ack', of: 'auth' })
    expect(states.filter((state) => state.type === 'open')).toEqual([{ type: 'open', since: openedAt }])
    expect(connection.state).toEqual({ type: 'open', since: openedAt })
  })

  it('a nack of the auth frame is no acknowledgement: the socket is given up 10 s after it opened', () => {
    const { clock, socket, connection, frames } = setup()
    socket().open()
    socket().receive({ type: 'nack', of: 'auth', reason: 'slow down' })
    expect(connection.state.type).toBe('connecting')
    expect(frames).toEqual([{ type: 'nack', of: 'auth', callLogId: null, reason: 'slow down' }])
    clock.advance(10_000)
    expect(connection.state.type).toBe('waiting')
    expect(connection.lastClose?.reason).toBe('the backend did not acknowledge auth within 10000 ms')
  })

  it('a frame that could not be written keeps its place: later frames queue behind it, and both go out in order', async () => {
    const { connection, socket, clock } = setup()
    acceptSocket(socket())
    const write = socket().send.bind(socket())
    socket().send = (data: string) => {
      if (data.includes('"first"')) throw new Error('InvalidStateError')
      write(data)
    }
    const first = connection.send('{"type":"chat_message","text":"first"}')
    const second = connection.send('{"type":"chat_message","text":"second"}')
    expect(await settled(second)).toBe('pending')
    expect(socket().sent).toEqual(['{"type":"auth","token":"tok-1"}'])
    socket().drop()
    clock.advance(3_999)
    acceptSocket(socket())
    expect(await settled(first)).toBe('resolved')
    expect(socket().sent.slice(1)).toEqual(['{"type":"chat_message","text":"first"}', '{"type":"chat_message","text":"second"}'])
  })

  it('a socket whose send throws counts as not written', () => {
    const { connection, socket } = setup()
    acceptSocket(socket())
    socket().send = () => {
      throw new Error('InvalidStateError')
    }
    expect(connection.sendNow({ type: 'call_accepted', call_log_id: 1, conversation_id: null })).toBe(false)
  })
})

describe('without acks', () => {
  it('a frame on the open socket is the backend accepting it: its drop starts again from the first window', () => {
    const { clock, socket, retryIn } = setup({ backend: { acks: false } })
    socket().drop()
    expect(retryIn()).toBe(3_999)
    clock.advance(3_999)
    socket().open()
    socket().receive({ type: 'chat_message' })
    socket().drop()
    expect(retryIn()).toBe(3_999)
  })

  it('a socket that opened but carried nothing and closed within 10 s counts as failed: the window widens', () => {
    const { clock, socket, retryIn } = setup({ backend: { acks: false } })
    socket().drop()
    clock.advance(3_999)
    socket().open()
    socket().drop()
    expect(retryIn()).toBe(7_999)
  })

  it('without an auth frame, a 4401 is final: no token was sent that a newer one could replace', () => {
    const { connection, socket, factory, clock, setToken } = setup({ backend: { authFrame: false } })
    socket().open()
    setToken('tok-2')
    socket().drop(4401, 'who are you')
    expect(connection.state.type).toBe('unauthorized')
    clock.advance(600_000)
    expect(factory.sockets).toHaveLength(1)
  })
})

describe('the first retry window comes back', () => {
  it('after a socket open 10 s without a frame, when the backend sends no acks', () => {
    const { clock, socket, retryIn } = setup({ backend: { acks: false } })
    socket().drop()
    clock.advance(3_999)
    socket().open()
    clock.advance(10_000)
    socket().drop()
    expect(retryIn()).toBe(3_999)
  })

  it('not for a frame before the backend acknowledged auth, when it sends acks', () => {
    const { clock, socket, retryIn } = setup()
    socket().drop()
    clock.advance(3_999)
    socket().open()
    socket().receive({ type: 'chat_message' })
    socket().drop()
    expect(retryIn()).toBe(7_999)
  })
})

describe('a new token', () => {
  it('retries at once only after a credentials close: any other close waits its turn', () => {
    const { socket, factory, setToken, retryIn, connection } = setup()
    acceptSocket(socket())
    setToken('tok-2')
    socket().drop(1011, 'server error')
    expect(factory.sockets).toHaveLength(1)
    expect(connection.state.type).toBe('waiting')
    expect(retryIn()).toBe(3_999)
  })
})

describe('the silence timer', () => {
  it('keeps a socket that answered its ping when the wait for an answer is longer than the silence before a ping', () => {
    // The only test on other timings: the defaults wait 10 s for an answer after 25 s of silence, and this
    // rule is about a wait longer than the silence (both within their bounds).
    const { clock, socket, connection } = setup({ timings: { pingAfter: 5_000, pongTimeout: 10_000 } })
    acceptSocket(socket())
    clock.advance(5_000)
    expect(socket().frames().at(-1)).toEqual({ type: 'ping' })
    socket().receive({ type: 'pong' })
    clock.advance(10_000)
    expect(connection.state.type).toBe('open')
    expect(socket().frames().filter((frame) => frame.type === 'ping')).toHaveLength(2)
    clock.advance(10_000)
    expect(connection.state.type).toBe('waiting')
  })

  it('names the ping that went unanswered when it gives the socket up', () => {
    const { clock, socket, connection } = setup()
    acceptSocket(socket())
    clock.advance(25_000)
    expect(socket().frames().at(-1)).toEqual({ type: 'ping' })
    clock.advance(10_000)
    expect(connection.lastClose).toMatchObject({ code: 1006, reason: 'no frame within 10000 ms of a ping' })
    expect(socket().closedWith).toEqual({ code: 4000, reason: 'no frame within 10000 ms of a ping' })
  })
})

describe('the ping option', () => {
  it('with no ping, every frame is delivered, pong-like or not', () => {
    const { socket, frames } = setup({ backend: { ping: null } })
    acceptSocket(socket())
    socket().receive({ type: 'pong' })
    socket().receive({ type: 'chat_message' })
    expect(frames.map((frame) => frame.type === 'message' && frame.frameType)).toEqual(['pong', 'chat_message'])
  })
})

describe('the outbox', () => {
  const big = (fill: string) => JSON.stringify({ type: 'chat_message', text: fill.repeat(MAX_FRAME_BYTES - 1_024) })

  it(`holds at most ${OUTBOX_BYTES} bytes, and frees them as frames are written`, async () => {
    const { connection, socket } = setup()
    const fits = Math.floor(OUTBOX_BYTES / big('a').length)
    const queued = Array.from({ length: fits }, () => connection.send(big('a')))
    await expect(connection.send(big('b'))).rejects.toBeInstanceOf(MessageDroppedError)
    acceptSocket(socket())
    for (const frame of queued) expect(await settled(frame)).toBe('resolved')
    // All written: the outbox takes as much again while the next socket is down.
    socket().drop()
    const again = Array.from({ length: fits }, () => connection.send(big('c')))
    for (const frame of again) expect(await settled(frame)).toBe('pending')
  })

  it(`takes frames up to exactly ${OUTBOX_BYTES} bytes, and not one byte more`, async () => {
    const { connection } = setup()
    const frame = 'x'.repeat(MAX_FRAME_BYTES)
    const queued = Array.from({ length: OUTBOX_BYTES / MAX_FRAME_BYTES }, () => connection.send(frame))
    for (const sent of queued) expect(await settled(sent)).toBe('pending')
    await expect(connection.send('y')).rejects.toBeInstanceOf(MessageDroppedError)
  })

  it('leaves no timer behind once everything waiting was written', () => {
    const { connection, socket, clock } = setup()
    acceptSocket(socket())
    const timersWhenIdle = clock.pending()
    socket().drop()
    clock.advance(3_999)
    void connection.send('{"type":"chat_message"}')
    acceptSocket(socket())
    expect(clock.pending()).toBe(timersWhenIdle)
  })

  it('rejects what waits when the connection is closed, saying why it closed', async () => {
    const { connection } = setup()
    const waiting = connection.send('{"type":"chat_message"}')
    connection.close('signed out')
    await expect(waiting).rejects.toThrow(new MessageDroppedError('[callhub] a frame was dropped: the connection closed (signed out)'))
  })

  it('frees the bytes of frames dropped for waiting too long', async () => {
    const { connection, clock } = setup()
    const fits = Math.floor(OUTBOX_BYTES / big('a').length)
    const queued = Array.from({ length: fits }, () => connection.send(big('a')))
    for (const frame of queued) frame.catch(() => {})
    clock.advance(OUTBOX_WAIT)
    for (const frame of queued) expect(await settled(frame)).toBe('rejected')
    expect(await settled(connection.send(big('b')))).toBe('pending')
  })

  it(`drops a lone frame that waited ${OUTBOX_WAIT / 1000} s`, async () => {
    const { connection, clock } = setup()
    const lone = connection.send('{"type":"chat_message"}')
    lone.catch(() => {})
    clock.advance(OUTBOX_WAIT - 1)
    expect(await settled(lone)).toBe('pending')
    clock.advance(1)
    await expect(lone).rejects.toBeInstanceOf(MessageDroppedError)
  })
})

describe('offline and identity changes', () => {
  it('a connection made while offline that fails waits offline, without retrying', () => {
    const { connection, socket, clock, factory } = setup({ online: false })
    socket().drop()
    expect(connection.state.type).toBe('offline')
    clock.advance(600_000)
    expect(factory.sockets).toHaveLength(1)
  })

  it('going offline closes the open socket', () => {
    const { connection, socket } = setup()
    acceptSocket(socket())
    connection.setOnline(false)
    expect(socket().closedWith).toEqual({ code: 1000, reason: 'offline' })
  })

  it('rejected credentials stay rejected through offline and back: only a new identity connects', () => {
    const { connection, socket, factory } = setup()
    acceptSocket(socket())
    socket().drop(4401, 'revoked')
    connection.setOnline(false)
    expect(connection.state.type).toBe('unauthorized')
    connection.setOnline(true)
    expect(connection.state.type).toBe('unauthorized')
    expect(factory.sockets).toHaveLength(1)
    // A new identity while offline waits for the network.
    connection.setOnline(false)
    connection.retryNow()
    expect(connection.state.type).toBe('offline')
    expect(factory.sockets).toHaveLength(1)
  })

  it('a new identity while waiting connects at once, keeping the count of failed attempts', () => {
    const { connection, socket, factory } = setup()
    socket().drop()
    expect(connection.state).toMatchObject({ type: 'waiting', attempt: 1 })
    connection.retryNow()
    expect(factory.sockets).toHaveLength(2)
    expect(connection.state).toMatchObject({ type: 'connecting', attempt: 1 })
  })

  it('a new identity after rejected credentials starts again from the first window', () => {
    const { connection, socket, clock, retryIn } = setup()
    socket().drop()
    clock.advance(3_999)
    socket().drop()
    clock.advance(7_999)
    socket().open()
    socket().drop(4401, 'revoked')
    connection.retryNow()
    expect(connection.state).toMatchObject({ type: 'connecting', attempt: 0 })
    socket().drop()
    expect(retryIn()).toBe(3_999)
  })

  it('once closed, stays closed whatever the network does, and refuses frames by name', async () => {
    const { connection, socket, factory } = setup()
    socket().drop()
    connection.close('signed out')
    expect(connection.state).toEqual({ type: 'closed', reason: 'signed out' })
    connection.setOnline(false)
    connection.setOnline(true)
    expect(connection.state.type).toBe('closed')
    expect(factory.sockets).toHaveLength(1)
    await expect(connection.send('{"type":"chat_message"}')).rejects.toBeInstanceOf(MessageDroppedError)
  })
})
