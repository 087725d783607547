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
import type { Backend } from '../../core/settings'
import { createFakeClock, socketFactory } from './fakes'
import type { FakeSocket } from './fakes'

function setup(options: { backend?: Partial<Backend>; online?: boolean; createSocket?: (url: string) => SocketLike } = {}) {
  const clock = createFakeClock()
  const factory = socketFactory()
  const states: SocketState[] = []
  const frames: ServerFrame[] = []
  let token = 'tok-1'
  const settings = { ...defaultSettings, backend: { ...defaultSettings.backend, ...options.backend } }
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
