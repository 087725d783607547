/** hub.socket(): a WebSocket-compatible object on the hub's one socket, driven with a fake hub. */
import { describe, expect, it } from 'vitest'
import type { Status } from '../../protocol/port'
import { HubSocket } from '../../client/socket'

const status = (type: 'open' | 'waiting' | 'connecting', code = 1006): Status => {
  const base = { profileKey: 'Tutor:1', tabs: 1, lastClose: type === 'waiting' ? { code, reason: 'gone', at: 1 } : null, mode: 'shared-worker' as const, modeReason: null }
  if (type === 'open') return { type, since: 1, ...base }
  if (type === 'waiting') return { type, attempt: 1, retryAt: 2, ...base }
  return { type, attempt: 0, ...base }
}

function fakeHub() {
  let statusListener: ((status: Status) => void) | null = null
  let messageListener: ((text: string) => void) | null = null
  const sent: string[] = []
  let failNext = false
  const source = {
    subscribe: (listener: (status: Status) => void) => {
      statusListener = listener
      listener(current)
      return () => void (statusListener = null)
    },
    onMessage: (listener: (text: string) => void) => {
      messageListener = listener
      return () => void (messageListener = null)
    },
    send: (text: string) => {
      if (failNext) return Promise.reject(new Error('dropped'))
      sent.push(text)
      return Promise.resolve()
    },
    url: () => 'ws://hub.test/ws/1/Tutor',
  }
  let current = status('connecting')
  return {
    source,
    sent,
    setStatus: (next: Status) => {
      current = next
      statusListener?.(next)
    },
    message: (text: string) => messageListener?.(text),
    failSends: () => void (failNext = true),
    listening: () => statusListener !== null || messageListener !== null,
  }
}

describe('hub.socket()', () => {
  it('starts CONNECTING, opens when the hub is open, and passes frames as message events with their text', () => {
    const hub = fakeHub()
    const socket = new HubSocket(hub.source)
    const seen: string[] = []
    socket.onmessage = (event) => seen.push(`on:${event.data}`)
    socket.addEventListener('message', (event) => seen.push(`listener:${(event as MessageEvent).data}`))
    expect([socket.readyState, socket.url]).toEqual([HubSocket.CONNECTING, 'ws://hub.test/ws/1/Tutor'])
    let opened = 0
    socket.onopen = () => (opened += 1)
    hub.setStatus(status('open'))
    expect([socket.readyState, opened]).toEqual([HubSocket.OPEN, 1])
    hub.message('{"type":"chat_message","text":"hi"}')
    expect(seen).toEqual(['on:{"type":"chat_message","text":"hi"}', 'listener:{"type":"chat_message","text":"hi"}'])
  })

  it("reports the shared socket's drop as close and its return as open, on the same object", () => {
    const hub = fakeHub()
    const socket = new HubSocket(hub.source)
    const events: string[] = []
    socket.onopen = () => events.push('open')
    socket.onclose = (event) => events.push(`close ${event.code}`)
    hub.setStatus(status('open'))
    hub.setStatus(status('waiting', 1006))
    expect(socket.readyState).toBe(HubSocket.CLOSED)
    hub.setStatus(status('open'))
    expect(events).toEqual(['open', 'close 1006', 'open'])
    expect(socket.readyState).toBe(HubSocket.OPEN)
  })

  it('throws InvalidStateError on a send before the first open, as WebSocket does, and sends once open', () => {
    const hub = fakeHub()
    const socket = new HubSocket(hub.source)
    expect(() => socket.send('{"type":"x"}')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }))
    hub.setStatus(status('open'))
    socket.send('{"type":"x"}')
    expect(hub.sent).toEqual(['{"type":"x"}'])
  })

  it('hands a frame sent while the socket reconnects to the hub (its outbox), and fires error if the hub drops it', async () => {
    const hub = fakeHub()
    const socket = new HubSocket(hub.source)
    hub.setStatus(status('open'))
    hub.setStatus(status('waiting'))
    socket.send('{"type":"queued"}')
    expect(hub.sent).toEqual(['{"type":"queued"}'])
    let errors = 0
    socket.onerror = () => (errors += 1)
    hub.failSends()
    socket.send('{"type":"lost"}')
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(errors).toBe(1)
  })

  it('close() detaches this object only: a clean close event, no more messages, and the hub is left alone', async () => {
    const hub = fakeHub()
    const socket = new HubSocket(hub.source)
    hub.setStatus(status('open'))
    let closed: { code: number; wasClean: boolean } | null = null
    socket.onclose = (event) => (closed = { code: event.code, wasClean: event.wasClean })
    socket.close()
    expect(hub.listening()).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(closed).toEqual({ code: 1000, wasClean: true })
    expect(socket.readyState).toBe(HubSocket.CLOSED)
  })
})
