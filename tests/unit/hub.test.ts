import { describe, expect, it } from 'vitest'
import { CallNotRingingError, HubNotConnectedError, HubTimeoutError, MessageDroppedError } from '../../protocol/errors'
import type { AttachRequest, HubEvent, HubSettings, HubStatus, Presence, Settled, TabIdentity } from '../../protocol/port'
import type { Invitation } from '../../protocol/wire'
import { OUTBOX_FRAMES, OUTBOX_WAIT } from '../../core/connection'
import { createHub } from '../../core/hub'
import type { TabHandle } from '../../core/hub'
import { defaultSettings } from '../../core/settings'
import { MAX_FRAME_BYTES } from '../../protocol/wire'
import { createFakeClock, socketFactory } from './fakes'
import type { FakeSocket } from './fakes'

const alice: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Tutor' }, token: 'tok-alice', url: 'ws://hub.test/ws/1/Tutor' }
const aliceParent: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Parent' }, token: 'tok-alice', url: 'ws://hub.test/ws/1/Parent' }
const invite = (id: number | string, extra: Record<string, unknown> = {}) => ({ type: 'call_invitation', call_log_id: id, conversation_id: 5, from_name: 'Bob Bekele', ...extra })

/** The reference backend's side of a socket: it opens, and acknowledges the auth frame. */
function accept(socket: FakeSocket): void {
  socket.open()
  socket.receive({ type: 'ack', of: 'auth' })
}

interface TabOptions {
  identity?: TabIdentity
  presence?: Presence
  settings?: HubSettings
  calls?: Invitation[]
  messages?: boolean
  sessions?: Array<string | number>
}

function setup() {
  const clock = createFakeClock()
  const factory = socketFactory()
  const lines: string[] = []
  let random = 0.5
  const hub = createHub({ createSocket: factory.createSocket, clock, random: () => random, log: (line) => lines.push(line) })

  function tab(id: string, options: TabOptions = {}) {
    const { identity = alice, presence = { visible: true, focused: false }, settings = {}, calls = [], messages = false, sessions = [] } = options
    const events: HubEvent[] = []
    const handle: TabHandle = { id, push: (event) => events.push(event) }
    const request: AttachRequest = { tabId: id, identity, online: true, presence, settings, interests: { messages, debug: false, recover: false }, calls, sessions }
    hub.attach(handle, request)
    const of = <T extends HubEvent['type']>(type: T) => events.filter((event): event is Extract<HubEvent, { type: T }> => event.type === type)
    const [snapshot] = of('snapshot')
    if (snapshot === undefined || events[0] !== snapshot) throw new Error('the first event of an attach must be its snapshot')
    return {
      id, events, snapshot,
      ringer: () => of('ringer').at(-1)?.ringer ?? false,
      status: (): HubStatus | undefined => of('status').at(-1)?.status ?? of('snapshot').at(-1)?.status,
      invitations: () => of('invitation').map((event) => event.invitation),
      settled: (): Settled[] => of('settled').map((event) => event.settled),
      missed: () => of('missed').at(-1)?.missed,
      messages: () => of('message').map((event) => event.text),
    }
  }
  return { hub, clock, factory, lines, tab, setRandom: (value: number) => void (random = value) }
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('one connection per profile', () => {
  it('opens one socket for many tabs of a profile, with the token only in the first frame', () => {
    const { factory, tab } = setup()
    const tabs = Array.from({ length: 10 }, (_, index) => tab(`t${index}`))
    expect(factory.sockets).toHaveLength(1)
    const socket = factory.last()
    expect(socket.url).toBe('ws://hub.test/ws/1/Tutor')
    expect(socket.url).not.toContain('tok-alice')
    accept(socket)
    expect(socket.frames()).toEqual([{ type: 'auth', token: 'tok-alice' }])
    for (const each of tabs) expect(each.status()).toMatchObject({ type: 'open', profileKey: 'Tutor:1', tabs: 10 })
  })

  it('reports open only once the backend acknowledged the auth frame', () => {
    const { factory, tab } = setup()
    const a = tab('a')
    factory.last().open()
    expect(a.status()?.type).toBe('connecting')
    factory.last().receive({ type: 'ack', of: 'auth' })
    expect(a.status()?.type).toBe('open')
  })

  it('gives a new tab the current status at once', () => {
    const { factory, tab } = setup()
    tab('a')
    accept(factory.last())
    expect(tab('b').snapshot.status).toMatchObject({ type: 'open', tabs: 2, profileKey: 'Tutor:1' })
  })

  it('opens one socket per profile key', () => {
    const { factory, tab } = setup()
    tab('a')
    tab('b', { identity: aliceParent })
    expect(factory.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Tutor', 'ws://hub.test/ws/1/Parent'])
  })

  it('connects nothing for signed-out and no-profile tabs', () => {
    const { factory, tab } = setup()
    expect(tab('a', { identity: { type: 'signed-out' } }).snapshot.status.type).toBe('signed-out')
    expect(tab('b', { identity: { type: 'no-profile', role: 'student' } }).snapshot.status).toMatchObject({ type: 'no-profile', role: 'student' })
    expect(factory.sockets).toHaveLength(0)
  })
})

describe('calls', () => {
  it('rings every tab once per call_log_id, however many duplicate frames arrive', () => {
    const { factory, tab } = setup()
    const tabs = [tab('a'), tab('b')]
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(7))
    socket.receive(invite(7))
    socket.receive(invite('7'))
    for (const each of tabs) expect(each.invitations().map((call) => call.callLogId)).toEqual([7])
  })

  it('shows a ringing call to a tab that attaches later, and not a settled one', () => {
    const { factory, tab } = setup()
    tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(1))
    socket.receive(invite(2))
    socket.receive({ type: 'call_cancelled', call_log_id: 1 })
    expect(tab('late').snapshot.calls.map((call) => call.callLogId)).toEqual([2])
  })

  it('accept writes one call_accepted frame and resolves only once the backend acknowledged it', async () => {
    const { hub, factory, tab } = setup()
    const [a, b] = [tab('a'), tab('b')]
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(3))
    let resolved = false
    const answered = hub.accept('b', 3).then((invitation) => {
      resolved = true
      return invitation
    })
    expect(socket.frames().slice(1)).toEqual([{ type: 'call_accepted', call_log_id: 3, conversation_id: 5 }])
    await settle()
    expect(resolved).toBe(false)
    expect(a.settled()).toEqual([])
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 3 })
    expect((await answered).callLogId).toBe(3)
    expect(a.settled()).toMatchObject([{ callLogId: 3, reason: 'accepted', here: false }])
    expect(b.settled()).toMatchObject([{ callLogId: 3, reason: 'accepted', here: true }])
    await expect(hub.accept('a', 3)).rejects.toBeInstanceOf(CallNotRingingError)
    await expect(hub.decline('a', 3)).rejects.toThrow(/not ringing \(accepted\)/)
    expect(socket.sent).toHaveLength(2)
  })

  it('of two tabs accepting at once, exactly one answer reaches the backend and the other rejects', async () => {
    const { hub, factory, tab } = setup()
    tab('a')
    tab('b')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(3))
    const first = hub.accept('a', 3)
    const second = hub.accept('b', 3)
    await expect(second).rejects.toBeInstanceOf(CallNotRingingError)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 3 })
    await expect(first).resolves.toMatchObject({ callLogId: 3 })
    expect(socket.frames().filter((frame) => frame.type === 'call_accepted')).toHaveLength(1)
  })

  it('a refused accept (another device answered first) rejects with CallNotRingingError and ends the call', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(3))
    const answer = hub.accept('a', 3)
    socket.receive({ type: 'nack', of: 'call_accepted', call_log_id: 3, reason: 'call is accepted' })
    await expect(answer).rejects.toThrow(CallNotRingingError)
    await expect(answer).rejects.toThrow(/call is accepted/)
    expect(a.settled()).toMatchObject([{ callLogId: 3, reason: 'ended', here: false }])
  })

  it('a cancel that arrives while an accept waits for its ack rejects the accept with the reason', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(3))
    const answer = hub.accept('a', 3)
    socket.receive({ type: 'call_cancelled', call_log_id: 3 })
    await expect(answer).rejects.toThrow(/no longer ringing \(cancelled\)/)
    expect(a.settled()).toMatchObject([{ reason: 'cancelled', here: false }])
  })

  it('an accept the backend never confirms rejects with HubTimeoutError, and the call keeps ringing', async () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(3))
    const answer = hub.accept('a', 3)
    clock.advance(defaultSettings.pongTimeout)
    await expect(answer).rejects.toBeInstanceOf(HubTimeoutError)
    expect(a.settled()).toEqual([])
  })

  it('without acks, an answer counts once it is written', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { settings: { backend: { acks: false } } })
    const socket = factory.last()
    socket.open()
    expect(a.status()?.type).toBe('open')
    socket.receive(invite(3))
    await expect(hub.accept('a', 3)).resolves.toMatchObject({ callLogId: 3 })
    expect(a.settled()).toMatchObject([{ reason: 'accepted', here: true }])
  })

  it('decline writes call_declined and settles everywhere once acknowledged', async () => {
    const { hub, factory, tab } = setup()
    const [a, b] = [tab('a'), tab('b')]
    const socket = factory.last()
    accept(socket)
    socket.receive(invite('x-1'))
    const declined = hub.decline('a', 'x-1')
    expect(socket.frames().at(-1)).toEqual({ type: 'call_declined', call_log_id: 'x-1', conversation_id: 5 })
    socket.receive({ type: 'ack', of: 'call_declined', call_log_id: 'x-1' })
    await declined
    expect(a.settled()).toMatchObject([{ reason: 'declined', here: true }])
    expect(b.settled()).toMatchObject([{ reason: 'declined', here: false }])
  })

  it('refuses to answer while the socket is down, and the call keeps ringing', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(4))
    socket.drop()
    await expect(hub.accept('a', 4)).rejects.toBeInstanceOf(HubNotConnectedError)
    expect(a.settled()).toEqual([])
    expect(tab('b').snapshot.calls).toHaveLength(1)
  })

  it.each([
    ['call_cancelled', 'cancelled'], ['call_ended', 'ended'], ['call_taken', 'taken'],
  ] as const)('%s settles a ringing call as %s', (type, reason) => {
    const { factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(5))
    socket.receive({ type, call_log_id: 5 })
    expect(a.settled()).toMatchObject([{ callLogId: 5, reason, here: false }])
  })

  it('expires a call at the ring timeout, or at expires_at when the frame has one', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a', { settings: { ringTimeout: 30_000 } })
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(1))
    socket.receive(invite(2, { expires_at: new Date(clock.now() + 5_000).toISOString() }))
    socket.receive(invite(3, { expires_at: new Date(clock.now() - 1).toISOString() }))
    expect(a.invitations().map((call) => call.callLogId)).toEqual([1, 2])
    clock.advance(5_000)
    expect(a.settled()).toMatchObject([{ callLogId: 2, reason: 'expired' }])
    clock.advance(25_000)
    expect(a.settled().map((settled) => settled.callLogId)).toEqual([2, 1])
  })

  it('rings for 45 s by default when the frame has no expires_at', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a')
    accept(factory.last())
    factory.last().receive(invite(1))
    clock.advance(44_999)
    expect(a.settled()).toEqual([])
    clock.advance(1)
    expect(a.settled()).toMatchObject([{ callLogId: 1, reason: 'expired' }])
  })

  it('a call expiring in the far future does not expire at once (no timer overflow), but does expire', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    accept(factory.last())
    const in40Days = 40 * 86_400_000
    factory.last().receive(invite(1, { expires_at: new Date(clock.now() + in40Days).toISOString() }))
    clock.advance(60_000)
    expect(a.settled()).toEqual([])
    // Offline, so forty days of pings and reconnects do not have to be simulated too.
    hub.setOnline(false)
    clock.advance(in40Days)
    expect(a.settled()).toMatchObject([{ reason: 'expired' }])
  })

  it('keeps delivering after malformed frames, logging why each was dropped', () => {
    const { factory, tab, lines } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    for (const junk of ['', 'nope', '[]', '{"type":"call_invitation"}', '{"type":"call_cancelled"}']) socket.receive(junk)
    socket.receive(invite(8))
    expect(a.invitations()).toHaveLength(1)
    expect(lines.filter((line) => line.includes('dropped a frame'))).toHaveLength(5)
  })
})

describe('remembered calls', () => {
  it('an end frame for a call the hub does not know is remembered: its late invitation does not ring', () => {
    const { factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive({ type: 'call_cancelled', call_log_id: 6 })
    socket.receive(invite(6))
    expect(a.invitations()).toHaveLength(0)
  })

  it('a duplicate frame that arrives after the call settled does not ring again', () => {
    const { factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(6))
    socket.receive({ type: 'call_cancelled', call_log_id: 6 })
    socket.receive(invite(6))
    expect(a.invitations()).toHaveLength(1)
  })

  it('remembers the last 512 ended calls: the oldest is forgotten first', () => {
    const { factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    for (let id = 1; id <= 513; id += 1) socket.receive({ type: 'call_cancelled', call_log_id: id })
    socket.receive(invite(2))
    socket.receive(invite(1))
    expect(a.invitations().map((call) => call.callLogId)).toEqual([1])
  })
})

describe('messages', () => {
  it('delivers every other frame, in order, only to the tabs that listen', () => {
    const { factory, tab } = setup()
    const listening = tab('a', { messages: true })
    const deaf = tab('b')
    const socket = factory.last()
    accept(socket)
    socket.receive({ type: 'chat_message', text: 'one' })
    socket.receive(invite(1))
    socket.receive({ type: 'chat_message', text: 'two' })
    socket.receive({ type: 'nack', of: 'chat_message', reason: 'too fast' })
    expect(listening.messages()).toEqual([
      '{"type":"chat_message","text":"one"}', '{"type":"chat_message","text":"two"}',
      '{"type":"nack","of":"chat_message","callLogId":null,"reason":"too fast"}',
    ])
    expect(deaf.messages()).toEqual([])
  })

  it('does not deliver the answer to its ping as a message', () => {
    const { factory, tab } = setup()
    const a = tab('a', { messages: true })
    accept(factory.last())
    factory.last().receive({ type: 'pong' })
    expect(a.messages()).toEqual([])
  })
})

describe('the outbox', () => {
  it('writes at once while the socket is accepted', async () => {
    const { hub, factory, tab } = setup()
    tab('a')
    accept(factory.last())
    await hub.send('a', '{"type":"chat_message","text":"hi"}')
    expect(factory.last().sent.at(-1)).toBe('{"type":"chat_message","text":"hi"}')
  })

  it('holds frames while the socket reconnects and writes them in order once the backend accepts it', async () => {
    const { hub, clock, factory, tab, setRandom } = setup()
    tab('a')
    accept(factory.last())
    setRandom(0)
    factory.last().drop()
    const sent = [hub.send('a', '{"type":"m","n":1}'), hub.send('a', '{"type":"m","n":2}')]
    clock.advance(1)
    const next = factory.last()
    next.open()
    expect(next.frames()).toEqual([{ type: 'auth', token: 'tok-alice' }])
    next.receive({ type: 'ack', of: 'auth' })
    await Promise.all(sent)
    expect(next.frames().slice(1)).toEqual([{ type: 'm', n: 1 }, { type: 'm', n: 2 }])
  })

  it(`holds at most ${OUTBOX_FRAMES} frames and refuses more by name`, async () => {
    const { hub, factory, tab } = setup()
    tab('a')
    factory.last().drop()
    const held = Array.from({ length: OUTBOX_FRAMES }, (_, n) => hub.send('a', `{"type":"m","n":${n}}`))
    await expect(hub.send('a', '{"type":"m"}')).rejects.toBeInstanceOf(MessageDroppedError)
    for (const each of held) each.catch(() => {})
  })

  it(`drops a frame that waited ${OUTBOX_WAIT / 1000} s, by name, and keeps the order of the rest`, async () => {
    const { hub, clock, factory, tab } = setup()
    tab('a', { settings: { retryBase: 60_000, maxRetryDelay: 600_000 } })
    factory.last().drop()
    const old = hub.send('a', '{"type":"m","n":1}')
    clock.advance(OUTBOX_WAIT - 1_000)
    const young = hub.send('a', '{"type":"m","n":2}')
    clock.advance(1_000)
    await expect(old).rejects.toThrow(MessageDroppedError)
    let youngDone = false
    void young.then(() => (youngDone = true))
    await settle()
    expect(youngDone).toBe(false)
  })

  it('refuses frames once the credentials are rejected, and rejects what waited', async () => {
    const { hub, clock, factory, tab, setRandom } = setup()
    tab('a')
    accept(factory.last())
    setRandom(0)
    factory.last().drop()
    const waiting = hub.send('a', '{"type":"m"}')
    clock.advance(1)
    factory.last().open()
    factory.last().drop(4401, 'invalid token')
    await expect(waiting).rejects.toThrow(/rejected/)
    await expect(hub.send('a', '{"type":"m"}')).rejects.toBeInstanceOf(MessageDroppedError)
  })
})

describe('tabs coming and going', () => {
  it('closes the socket only after the default 3 s linger once the last tab is gone', () => {
    const { hub, clock, factory, tab } = setup()
    tab('a')
    tab('b')
    const socket = factory.last()
    accept(socket)
    hub.detach('a')
    hub.detach('b')
    clock.advance(defaultSettings.linger - 1)
    expect(socket.closedWith).toBeNull()
    clock.advance(1)
    expect(socket.closedWith).toMatchObject({ code: 1000 })
    expect(hub.counters()).toEqual({ tabs: 0, sessions: 0, ringing: 0 })
  })

  it('keeps the socket when a tab comes back within the linger (moving between pages)', () => {
    const { hub, clock, factory, tab } = setup()
    tab('a')
    accept(factory.last())
    hub.detach('a')
    clock.advance(1_000)
    expect(tab('b').snapshot.status).toMatchObject({ type: 'open', tabs: 1 })
    clock.advance(10_000)
    expect(factory.sockets).toHaveLength(1)
    expect(factory.last().closedWith).toBeNull()
  })

  it('a tab attaching again under the same id keeps the socket (a retried attach)', () => {
    const { factory, tab } = setup()
    tab('a')
    accept(factory.last())
    const again = tab('a')
    expect(factory.sockets).toHaveLength(1)
    expect(factory.last().closedWith).toBeNull()
    expect(again.snapshot.status).toMatchObject({ type: 'open', tabs: 1 })
  })

  it('stops pushing to a detached tab', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const b = tab('b')
    accept(factory.last())
    hub.detach('a')
    const before = a.events.length
    factory.last().receive(invite(1))
    expect(a.events).toHaveLength(before)
    expect(b.invitations()).toHaveLength(1)
  })

  it('logout closes the socket at once, settles every call and signs every tab out', () => {
    const { hub, clock, factory, tab } = setup()
    const [a, b] = [tab('a'), tab('b')]
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(9))
    hub.identify('a', { type: 'signed-out' })
    expect(socket.closedWith).toMatchObject({ code: 1000 })
    expect(a.settled()).toMatchObject([{ callLogId: 9, reason: 'signed-out' }])
    expect(b.settled()).toMatchObject([{ callLogId: 9, reason: 'signed-out' }])
    expect(b.status()?.type).toBe('signed-out')
    clock.advance(120_000)
    expect(factory.sockets).toHaveLength(1)
  })

  it('a role switch moves the tabs to the new profile and closes the old socket at once', () => {
    const { hub, factory, tab } = setup()
    tab('a')
    tab('b')
    const tutor = factory.last()
    accept(tutor)
    hub.identify('a', aliceParent)
    expect(tutor.closedWith).toBeNull()
    hub.identify('b', aliceParent)
    expect(tutor.closedWith).not.toBeNull()
    expect(factory.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Tutor', 'ws://hub.test/ws/1/Parent'])
  })
})

describe('settings', () => {
  it('are fixed by the tab that starts the session: a later tab with other settings changes nothing', () => {
    const { hub, clock, factory, tab } = setup()
    tab('a', { settings: { linger: 60_000 } })
    tab('b', { settings: { linger: 0 } })
    accept(factory.last())
    hub.detach('a')
    hub.detach('b')
    clock.advance(59_999)
    expect(factory.last().closedWith).toBeNull()
    clock.advance(1)
    expect(factory.last().closedWith).not.toBeNull()
  })

  it('change only through configure, for every tab of the profile', () => {
    const { hub, clock, factory, tab } = setup()
    tab('a')
    tab('b')
    accept(factory.last())
    hub.configure('b', { linger: 10_000 })
    hub.detach('a')
    hub.detach('b')
    clock.advance(9_999)
    expect(factory.last().closedWith).toBeNull()
    clock.advance(1)
    expect(factory.last().closedWith).not.toBeNull()
  })

  it('are held to their floors and ceilings, and a value that is not a number keeps its default', () => {
    const { clock, factory, tab, lines, setRandom } = setup()
    const a = tab('a', { settings: { retryBase: 0, pingAfter: 0, pongTimeout: Number.NaN, linger: 3e9 } })
    accept(factory.last())
    expect(lines.some((line) => line.includes('retryBase 0 is outside'))).toBe(true)
    expect(lines.some((line) => line.includes('pongTimeout NaN is not a finite number'))).toBe(true)
    // pingAfter held at its 1 s floor: no ping before.
    clock.advance(999)
    expect(factory.last().frames()).toEqual([{ type: 'auth', token: 'tok-alice' }])
    clock.advance(1)
    expect(factory.last().frames().at(-1)).toEqual({ type: 'ping' })
    setRandom(0.999)
    factory.last().receive({ type: 'pong' })
    factory.last().drop()
    // retryBase held at 100 ms: the first window is 100·2^3.
    const status = a.status()
    expect(status?.type === 'waiting' && status.retryAt - clock.now()).toBe(799)
  })

  it('a linger past the timer limit is held to an hour and does not close at once', () => {
    const { hub, clock, factory, tab } = setup()
    tab('a', { settings: { linger: 3e9 } })
    accept(factory.last())
    hub.detach('a')
    clock.advance(1_000)
    expect(factory.last().closedWith).toBeNull()
    clock.advance(3_600_000)
    expect(factory.last().closedWith).not.toBeNull()
  })
})

describe('reconnecting', () => {
  it('waits a jittered delay after a drop, then connects and authenticates again', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a')
    accept(factory.last())
    setRandom(0.5)
    factory.last().drop(1006, '')
    const waiting = a.status()
    expect(waiting).toMatchObject({ type: 'waiting', attempt: 1, lastClose: { code: 1006 } })
    // First retry after a drop: half of the default base·2^3 = 4 s window with random = 0.5.
    expect(waiting?.type === 'waiting' && waiting.retryAt - clock.now()).toBe(2_000)
    clock.advance(1_999)
    expect(factory.sockets).toHaveLength(1)
    clock.advance(1)
    expect(factory.sockets).toHaveLength(2)
    accept(factory.last())
    expect(factory.last().frames()).toEqual([{ type: 'auth', token: 'tok-alice' }])
    expect(a.status()?.type).toBe('open')
  })

  it('widens the window with each failed attempt, up to the 30 s cap', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a')
    setRandom(0.999_999)
    const windows: number[] = []
    for (let attempt = 0; attempt < 6; attempt += 1) {
      factory.last().drop()
      const status = a.status()
      if (status?.type !== 'waiting') throw new Error(status?.type)
      windows.push(status.retryAt - clock.now() + 1)
      clock.advance(status.retryAt - clock.now())
    }
    expect(windows).toEqual([4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
  })

  it('an attempt that opens but is dropped before the auth ack counts as failed', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a')
    setRandom(0.999_999)
    factory.last().open()
    factory.last().drop()
    clock.advance(4_000)
    factory.last().open()
    factory.last().drop()
    const status = a.status()
    expect(status?.type === 'waiting' && status.retryAt - clock.now()).toBe(7_999)
  })

  it('20 drops in a row of accepted connections each retry within the first 4 s window (calls are not left waiting)', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a')
    setRandom(0.999_999)
    for (let drop = 0; drop < 20; drop += 1) {
      accept(factory.last())
      clock.advance(2_000)
      factory.last().drop()
      const status = a.status()
      expect(status?.type === 'waiting' && status.retryAt - clock.now()).toBe(3_999)
      clock.advance(3_999)
    }
    expect(factory.sockets).toHaveLength(21)
  })

  it('stops at rejected credentials and retries only when the identity changes', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    accept(factory.last())
    factory.last().drop(4401, 'invalid token')
    expect(a.status()).toMatchObject({ type: 'unauthorized', code: 4401 })
    clock.advance(600_000)
    expect(factory.sockets).toHaveLength(1)
    hub.identify('a', { ...alice, token: 'tok-new' } as TabIdentity)
    expect(factory.sockets).toHaveLength(2)
    factory.last().open()
    expect(factory.last().frames()).toEqual([{ type: 'auth', token: 'tok-new' }])
  })

  it('retries at once when credentials are rejected for a token that was replaced meanwhile', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    factory.last().open()
    hub.identify('a', { ...alice, token: 'tok-new' } as TabIdentity)
    expect(factory.sockets).toHaveLength(1)
    factory.last().drop(4401, 'invalid token')
    expect(factory.sockets).toHaveLength(2)
    accept(factory.last())
    expect(factory.last().frames()).toEqual([{ type: 'auth', token: 'tok-new' }])
    expect(a.status()?.type).toBe('open')
  })

  it('honours a server-directed delay (1013, retry-after)', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a')
    accept(factory.last())
    setRandom(0)
    factory.last().drop(1013, 'retry-after=7000')
    const status = a.status()
    expect(status?.type === 'waiting' && status.retryAt - clock.now()).toBe(7_000)
  })

  it('pings after 25 s of silence and reconnects when nothing answers within 10 s more (the defaults)', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    clock.advance(24_999)
    expect(socket.frames()).toHaveLength(1)
    clock.advance(1)
    expect(socket.frames().at(-1)).toEqual({ type: 'ping' })
    clock.advance(9_999)
    expect(a.status()?.type).toBe('open')
    clock.advance(1)
    expect(socket.closedWith).not.toBeNull()
    expect(a.status()).toMatchObject({ type: 'waiting', lastClose: { code: 1006 } })
  })

  it('any frame counts as life: an answered ping keeps the socket', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    accept(socket)
    clock.advance(25_000)
    socket.receive({ type: 'pong' })
    clock.advance(30_000)
    socket.receive({ type: 'pong' })
    expect(a.status()?.type).toBe('open')
    expect(socket.closedWith).toBeNull()
  })

  it('gives up on an auth frame the backend never acknowledges, after 10 s', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a')
    factory.last().open()
    clock.advance(9_999)
    expect(a.status()?.type).toBe('connecting')
    clock.advance(1)
    expect(a.status()).toMatchObject({ type: 'waiting', lastClose: { reason: expect.stringContaining('acknowledge auth') } })
  })

  it('sends a custom ping frame, or none, as the backend option says', () => {
    const custom = setup()
    custom.tab('a', { settings: { backend: { ping: { frame: '{"action":"heartbeat"}', answer: 'heartbeat_ok' } } } })
    accept(custom.factory.last())
    custom.clock.advance(25_000)
    expect(custom.factory.last().sent.at(-1)).toBe('{"action":"heartbeat"}')

    const silent = setup()
    silent.tab('a', { settings: { backend: { ping: false } } })
    accept(silent.factory.last())
    silent.clock.advance(600_000)
    expect(silent.factory.last().frames()).toEqual([{ type: 'auth', token: 'tok-alice' }])
    expect(silent.factory.last().closedWith).toBeNull()
  })

  it('sends no auth frame when the socket URL alone identifies the profile', () => {
    const { factory, tab } = setup()
    const a = tab('a', { settings: { backend: { authFrame: false } } })
    factory.last().open()
    expect(factory.last().sent).toEqual([])
    expect(a.status()?.type).toBe('open')
  })

  it('stops retrying while offline and connects at once when the network is back', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    accept(factory.last())
    hub.setOnline(false)
    expect(a.status()?.type).toBe('offline')
    clock.advance(600_000)
    expect(factory.sockets).toHaveLength(1)
    hub.setOnline(true)
    expect(factory.sockets).toHaveLength(2)
    expect(a.status()?.type).toBe('connecting')
  })

  it('going offline cancels a retry that was pending', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    accept(factory.last())
    factory.last().drop()
    expect(a.status()?.type).toBe('waiting')
    hub.setOnline(false)
    expect(a.status()?.type).toBe('offline')
    clock.advance(600_000)
    expect(factory.sockets).toHaveLength(1)
  })
})

describe('no false ends', () => {
  it('after a reconnect, a call the backend re-sent keeps ringing and one it did not has ended', () => {
    const { clock, factory, lines, tab, setRandom } = setup()
    const a = tab('a')
    accept(factory.last())
    factory.last().receive(invite(1))
    factory.last().receive(invite(2))
    setRandom(0)
    factory.last().drop()
    clock.advance(1)
    const next = factory.last()
    next.open()
    next.receive(invite(2))
    expect(a.settled()).toEqual([])
    next.receive({ type: 'ack', of: 'auth' })
    expect(a.settled()).toMatchObject([{ callLogId: 1, reason: 'ended' }])
    expect(a.invitations().map((call) => call.callLogId)).toEqual([1, 2])
    expect(lines).toContain('Tutor:1: call 1 was not re-sent by the backend: it ended while the socket was down')
  })

  it('a call re-sent on a socket the backend never accepted, and not re-sent on the next, has ended', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a')
    accept(factory.last())
    factory.last().receive(invite(1))
    setRandom(0)
    factory.last().drop()
    clock.advance(1)
    // The next socket hears call 1 again, but the backend never acknowledges its auth: it is given up.
    const unaccepted = factory.last()
    unaccepted.open()
    unaccepted.receive(invite(1))
    clock.advance(defaultSettings.pongTimeout)
    clock.advance(defaultSettings.maxRetryDelay)
    const next = factory.last()
    expect(next).not.toBe(unaccepted)
    next.open()
    next.receive({ type: 'ack', of: 'auth' })
    expect(a.settled()).toMatchObject([{ callLogId: 1, reason: 'ended' }])
  })

  it('a backend that does not re-send leaves ringing calls ringing after a reconnect', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a', { settings: { backend: { resends: false } } })
    accept(factory.last())
    factory.last().receive(invite(1))
    setRandom(0)
    factory.last().drop()
    clock.advance(1)
    accept(factory.last())
    expect(a.settled()).toEqual([])
  })

  it('calls a tab hands over to a new hub keep ringing until the backend answers, then end only if it did not re-send them', () => {
    const { clock, factory, tab } = setup()
    const handedOver = [1, 2].map((id) => ({
      callLogId: id, conversationId: 5, callType: 'video' as const, offer: null, expiresAt: clock.now() + 30_000,
      from: { name: 'Bob Bekele', avatar: null, profileId: null, profileType: null },
    }))
    const a = tab('a', { calls: handedOver })
    expect(a.snapshot.calls.map((call) => call.callLogId)).toEqual([1, 2])
    const b = tab('b', { calls: handedOver })
    expect(b.invitations()).toEqual([])
    const socket = factory.last()
    socket.open()
    socket.receive(invite(1))
    socket.receive({ type: 'ack', of: 'auth' })
    expect(a.settled()).toMatchObject([{ callLogId: 2, reason: 'ended' }])
    expect(a.invitations()).toEqual([])
  })

  it('a handed-over call that expired during the gap is missed, not ended', () => {
    const { clock, tab } = setup()
    const handedOver = [{
      callLogId: 1, conversationId: 5, callType: 'video' as const, offer: null, expiresAt: clock.now() + 1_000,
      from: { name: 'Bob Bekele', avatar: null, profileId: null, profileType: null },
    }]
    const a = tab('a', { calls: handedOver })
    clock.advance(1_000)
    expect(a.settled()).toMatchObject([{ callLogId: 1, reason: 'expired' }])
    expect(a.missed()?.map((call) => call.callLogId)).toEqual([1])
  })

  it('a tab handing over a call that a reconciled session does not know learns that it ended', () => {
    const { factory, tab } = setup()
    tab('a')
    accept(factory.last())
    factory.last().receive({ type: 'call_cancelled', call_log_id: 9 })
    const stale = [{
      callLogId: 9, conversationId: 5, callType: 'video' as const, offer: null, expiresAt: Date.now() + 30_000,
      from: { name: 'Bob Bekele', avatar: null, profileId: null, profileType: null },
    }]
    const late = tab('b', { calls: stale })
    expect(late.snapshot.calls).toEqual([])
    expect(late.snapshot.ended).toContainEqual({ callLogId: 9, reason: 'cancelled' })
  })
})

describe('missed calls', () => {
  it('are one list per profile: a late tab sees them, and a dismissal anywhere dismisses them everywhere', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    const b = tab('b')
    accept(factory.last())
    factory.last().receive(invite(1, { expires_at: new Date(clock.now() + 1_000).toISOString() }))
    clock.advance(1_000)
    expect(a.missed()?.map((call) => call.callLogId)).toEqual([1])
    expect(b.missed()?.map((call) => call.callLogId)).toEqual([1])
    expect(tab('c').snapshot.missed.map((call) => call.callLogId)).toEqual([1])
    hub.dismissMissed('b', 1)
    expect(a.missed()).toEqual([])
  })
})

describe('one ringer', () => {
  const ringers = (tabs: Array<{ ringer: () => boolean }>) => tabs.filter((each) => each.ringer()).length

  it('rings in the focused visible tab, whatever the order the tabs attached in', () => {
    for (const order of [['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b']]) {
      const { factory, tab } = setup()
      const presences: Record<string, Presence> = {
        a: { visible: true, focused: false }, b: { visible: true, focused: true }, c: { visible: false, focused: false },
      }
      const tabs = Object.fromEntries(order.map((id) => [id, tab(id, { presence: presences[id] })]))
      accept(factory.last())
      factory.last().receive(invite(1))
      expect([tabs.a!.ringer(), tabs.b!.ringer(), tabs.c!.ringer()]).toEqual([false, true, false])
    }
  })

  it('with no focused tab, rings in a visible one over a hidden one, whatever the order', () => {
    for (const order of [['a', 'b'], ['b', 'a']]) {
      const { factory, tab } = setup()
      const presences: Record<string, Presence> = { a: { visible: false, focused: false }, b: { visible: true, focused: false } }
      const tabs = Object.fromEntries(order.map((id) => [id, tab(id, { presence: presences[id] })]))
      accept(factory.last())
      factory.last().receive(invite(1))
      expect([tabs.a!.ringer(), tabs.b!.ringer()]).toEqual([false, true])
    }
  })

  it('with no tab in view, rings in the one seen most recently, not the last to attach', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { presence: { visible: true, focused: false } })
    const b = tab('b', { presence: { visible: true, focused: false } })
    const c = tab('c', { presence: { visible: false, focused: false } })
    accept(factory.last())
    hub.setPresence('b', { visible: false, focused: false })
    hub.setPresence('a', { visible: false, focused: false })
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer(), c.ringer()]).toEqual([true, false, false])
    expect(a.events.filter((event) => event.type === 'ringer').at(-1)).toEqual({ type: 'ringer', ringer: true, anyVisible: false })
  })

  it('moves the ringing to another tab when the ringer goes, and stops when the call settles', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const b = tab('b')
    accept(factory.last())
    factory.last().receive(invite(1))
    expect(ringers([a, b])).toBe(1)
    const gone = a.ringer() ? 'a' : 'b'
    const stays = gone === 'a' ? b : a
    hub.detach(gone)
    expect(stays.ringer()).toBe(true)
    factory.last().receive({ type: 'call_cancelled', call_log_id: 1 })
    expect(stays.ringer()).toBe(false)
  })
})

describe('calls in progress', () => {
  async function inCall() {
    const world = setup()
    const a = world.tab('a', { messages: true })
    const b = world.tab('b', { messages: true })
    const socket = world.factory.last()
    accept(socket)
    socket.receive(invite(7))
    const answered = world.hub.accept('b', 7)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
    await answered
    const of = (tab: typeof a, type: HubEvent['type']) => tab.events.filter((event) => event.type === type)
    return { ...world, a, b, socket, of }
  }

  it('belongs to the tab that answered: other tabs see it as in progress elsewhere', async () => {
    const { a, b } = await inCall()
    expect(b.status()?.inCall).toEqual([{ callLogId: 7, here: true }])
    expect(a.status()?.inCall).toEqual([{ callLogId: 7, here: false }])
  })

  it('gets the frames of its call (answer, ICE candidate) in that tab only, not as messages anywhere', async () => {
    const { a, b, socket, of } = await inCall()
    socket.receive({ type: 'ice_candidate', call_log_id: 7, candidate: 'c1' })
    socket.receive({ type: 'chat_message', text: 'hi' })
    expect(of(b, 'call-frame')).toEqual([{ type: 'call-frame', callLogId: 7, text: '{"type":"ice_candidate","call_log_id":7,"candidate":"c1"}' }])
    expect(of(a, 'call-frame')).toEqual([])
    expect(a.messages()).toEqual(['{"type":"chat_message","text":"hi"}'])
    expect(b.messages()).toEqual(['{"type":"chat_message","text":"hi"}'])
  })

  it("writes the tab's frames of its call with the call's id, exactly as the backend sent it", async () => {
    const { hub, socket } = await inCall()
    await hub.sessionSend('b', 7, '{"type":"call_answer","answer":{"sdp":"v=0"}}')
    expect(socket.frames().at(-1)).toEqual({ type: 'call_answer', answer: { sdp: 'v=0' }, call_log_id: 7 })
    await expect(hub.sessionSend('a', 7, '{"type":"x"}')).rejects.toBeInstanceOf(CallNotRingingError)
  })

  it('a hang-up tells the backend why and ends the call in its tab and in the status', async () => {
    const { hub, a, b, socket, of } = await inCall()
    await hub.hangup('b', 7, 'hangup')
    expect(socket.frames().at(-1)).toEqual({ type: 'call_ended', call_log_id: 7, reason: 'hangup' })
    expect(of(b, 'call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'hangup' }])
    expect(a.status()?.inCall).toBeUndefined()
  })

  it('the other side hanging up ends it with its reason', async () => {
    const { b, socket, of } = await inCall()
    socket.receive({ type: 'call_ended', call_log_id: 7, reason: 'hangup' })
    expect(of(b, 'call-frame')).toHaveLength(1)
    expect(of(b, 'call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'hangup' }])
  })

  it('when the tab holding it goes, the backend hears call_ended with reason tab_closed at once', async () => {
    const { hub, a, socket } = await inCall()
    hub.detach('b')
    expect(socket.frames().at(-1)).toEqual({ type: 'call_ended', call_log_id: 7, reason: 'tab_closed' })
    expect(a.status()?.inCall).toBeUndefined()
  })

  it('is kept, not ended, when its tab attaches again (a retried attach, a restarted host)', async () => {
    const { socket, tab } = await inCall()
    const sent = socket.sent.length
    const again = tab('b', { sessions: [7] })
    expect(socket.sent).toHaveLength(sent)
    expect(again.snapshot.status.inCall).toEqual([{ callLogId: 7, here: true }])
  })

  it('makes a new call wait by default: it shows with waiting set, and nothing rings for it', async () => {
    const { a, b, socket } = await inCall()
    socket.receive(invite(8))
    expect(a.invitations().at(-1)).toMatchObject({ callLogId: 8, waiting: true })
    expect([a.ringer(), b.ringer()]).toEqual([false, false])
  })

  it("with whenBusy 'decline', a new call is declined as busy and shows nowhere", async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { settings: { whenBusy: 'decline' } })
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(7))
    const answered = hub.accept('a', 7)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
    await answered
    socket.receive(invite(8))
    expect(socket.frames().at(-1)).toEqual({ type: 'call_declined', call_log_id: 8, conversation_id: 5, reason: 'busy' })
    expect(a.invitations().map((call) => call.callLogId)).toEqual([7])
  })

  it("with whenBusy 'ring', a new call rings as usual", async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { settings: { whenBusy: 'ring' } })
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(7))
    const answered = hub.accept('a', 7)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
    await answered
    socket.receive(invite(8))
    expect(a.invitations().at(-1)?.waiting).toBeUndefined()
    expect(a.ringer()).toBe(true)
  })

  it('keeps the frames of a ringing call (early ICE candidates) for the tab that answers, and for no one else', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { messages: true })
    const b = tab('b', { messages: true })
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(9))
    socket.receive({ type: 'ice_candidate', call_log_id: 9, candidate: 'early' })
    expect(a.messages()).toEqual([])
    const answered = hub.accept('b', 9)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 9 })
    await answered
    expect(b.events.filter((event) => event.type === 'call-frame')).toEqual([
      { type: 'call-frame', callLogId: 9, text: '{"type":"ice_candidate","call_log_id":9,"candidate":"early"}' },
    ])
    expect(a.events.filter((event) => event.type === 'call-frame')).toEqual([])
  })

  it("the caller's tab holds the call it placed: the answer comes there, and a busy decline ends it", () => {
    const { hub, factory, tab } = setup()
    const caller = tab('caller')
    const other = tab('other', { messages: true })
    const socket = factory.last()
    accept(socket)
    hub.track('caller', 41)
    socket.receive({ type: 'call_answer', call_log_id: 41, answer: 'sdp' })
    socket.receive({ type: 'call_declined', call_log_id: 41, reason: 'busy' })
    const events = caller.events.filter((event) => event.type === 'call-frame' || event.type === 'call-ended')
    expect(events.map((event) => event.type)).toEqual(['call-frame', 'call-frame', 'call-ended'])
    expect(events.at(-1)).toEqual({ type: 'call-ended', callLogId: 41, reason: 'busy' })
    expect(other.messages()).toEqual([])
  })

  it('frames of a placed call that come before its tab holds it reach that tab when it does: a busy decline ends it at once', () => {
    const { hub, factory, tab } = setup()
    const caller = tab('caller')
    const socket = factory.last()
    accept(socket)
    // The callee's side declined before POST /api/calls answered the caller's page.
    socket.receive({ type: 'call_declined', call_log_id: 42, reason: 'busy' })
    socket.receive({ type: 'call_ended', call_log_id: 43, reason: 'hangup' })
    hub.track('caller', 42)
    expect(caller.events.filter((event) => event.type === 'call-frame' || event.type === 'call-ended')).toEqual([
      { type: 'call-frame', callLogId: 42, text: '{"type":"call_declined","call_log_id":42,"reason":"busy"}' },
      { type: 'call-ended', callLogId: 42, reason: 'busy' },
    ])
    // Ended: a later frame of that call is no longer the tab's.
    socket.receive({ type: 'ice_candidate', call_log_id: 42, candidate: 'late' })
    expect(caller.events.filter((event) => event.type === 'call-frame')).toHaveLength(1)
  })

  it('hands a placed call the frames that came before it was held: an end too, only its own, once, and nothing after its end', () => {
    const { hub, factory, tab } = setup()
    const caller = tab('caller')
    const socket = factory.last()
    accept(socket)
    const ofCall = (id: number) => caller.events.filter((event) => (event.type === 'call-frame' || event.type === 'call-ended') && event.callLogId === id)
    // An end frame (call_ended) ends the call once held.
    socket.receive({ type: 'call_ended', call_log_id: 44, reason: 'hangup' })
    hub.track('caller', 44)
    expect(ofCall(44).map((event) => event.type)).toEqual(['call-frame', 'call-ended'])
    // Another call's frames are not this call's.
    socket.receive({ type: 'ice_candidate', call_log_id: 46, candidate: 'other' })
    hub.track('caller', 47)
    expect(ofCall(47)).toEqual([])
    // Handed over once: holding the call again replays nothing.
    socket.receive({ type: 'ice_candidate', call_log_id: 48, candidate: 'early' })
    hub.track('caller', 48)
    hub.track('caller', 48)
    expect(ofCall(48)).toHaveLength(1)
    // Nothing after the end that came first.
    socket.receive({ type: 'call_declined', call_log_id: 49, reason: 'busy' })
    socket.receive({ type: 'ice_candidate', call_log_id: 49, candidate: 'late' })
    hub.track('caller', 49)
    expect(ofCall(49).map((event) => event.type)).toEqual(['call-frame', 'call-ended'])
  })

  it('keeps no frame of a call that rang here, and no frame without a call id, for a later hold', () => {
    const { hub, factory, tab } = setup()
    const caller = tab('caller', { messages: true })
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(60))
    socket.receive({ type: 'ice_candidate', call_log_id: 60, candidate: 'early' })
    socket.receive({ type: 'call_cancelled', call_log_id: 60 })
    hub.track('caller', 60)
    expect(caller.events.filter((event) => event.type === 'call-frame' || event.type === 'call-ended')).toEqual([])
    // Chat (no call id) does not push a call's frames out of the 64 kept.
    socket.receive({ type: 'call_declined', call_log_id: 61, reason: 'busy' })
    for (let index = 0; index < 64; index += 1) socket.receive({ type: 'chat_message', text: String(index) })
    hub.track('caller', 61)
    expect(caller.events.filter((event) => event.type === 'call-ended')).toEqual([{ type: 'call-ended', callLogId: 61, reason: 'busy' }])
  })

  it('keeps the frames of calls no tab holds for 30 s, and the last 64 of them', () => {
    const { hub, factory, tab, clock } = setup()
    const caller = tab('caller')
    const socket = factory.last()
    accept(socket)
    socket.receive({ type: 'call_declined', call_log_id: 50, reason: 'busy' })
    clock.advance(30_001)
    hub.track('caller', 50)
    socket.receive({ type: 'call_declined', call_log_id: 53, reason: 'busy' })
    clock.advance(30_000)
    hub.track('caller', 53)
    expect(caller.events.some((event) => event.type === 'call-ended' && event.callLogId === 53)).toBe(true)
    socket.receive({ type: 'call_declined', call_log_id: 51, reason: 'busy' })
    for (let index = 0; index < 64; index += 1) socket.receive({ type: 'ice_candidate', call_log_id: 52, candidate: index })
    hub.track('caller', 51)
    const ended = (id: number) => caller.events.some((event) => event.type === 'call-ended' && event.callLogId === id)
    expect(ended(50)).toBe(false)
    expect(ended(51)).toBe(false)
    hub.track('caller', 52)
    expect(caller.events.filter((event) => event.type === 'call-frame' && event.callLogId === 52)).toHaveLength(64)
  })
})

describe('tabs without a profile', () => {
  it('a signed-out tab is told so and nothing more: no profile, no tabs, no calls, nothing missed or ended', () => {
    const { tab } = setup()
    const a = tab('a', { identity: { type: 'signed-out' } })
    expect(a.snapshot).toEqual({
      type: 'snapshot', status: { type: 'signed-out', profileKey: null, tabs: 0, lastClose: null }, calls: [], missed: [], ended: [],
    })
  })

  it('a signed-out tab that signs in joins its profile with no call of its own', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { identity: { type: 'signed-out' } })
    hub.identify('a', alice)
    expect(factory.sockets).toHaveLength(1)
    const snapshot = a.events.filter((event) => event.type === 'snapshot').at(-1)
    expect(snapshot).toEqual({
      type: 'snapshot', status: { type: 'connecting', attempt: 0, profileKey: 'Tutor:1', tabs: 1, lastClose: null }, calls: [], missed: [], ended: [],
    })
  })

  it('a tab with no profile is refused each request by name: what it tried, and why', async () => {
    const { hub, tab } = setup()
    tab('a', { identity: { type: 'signed-out' } })
    const why = (what: string) => new HubNotConnectedError(`[callhub] cannot ${what}: this tab has no signed-in profile`)
    await expect(hub.send('a', '{"type":"x"}')).rejects.toThrow(why('send a frame'))
    await expect(hub.sessionSend('a', 7, '{"type":"x"}')).rejects.toThrow(why('send a frame of a call'))
    await expect(hub.hangup('a', 7, 'bye')).rejects.toThrow(why('hang up'))
    expect(() => hub.track('a', 7)).toThrow(why('hold a call'))
    expect(() => hub.configure('a', {})).toThrow(why('configure'))
    expect(() => hub.dismissMissed('a', 7)).toThrow(why('dismiss a missed call'))
    await expect(hub.accept('a', 3)).rejects.toThrow(new CallNotRingingError('[callhub] call 3 is not ringing'))
    await expect(hub.decline('a', 3)).rejects.toThrow(new CallNotRingingError('[callhub] call 3 is not ringing'))
  })

  it('a signed-out tab may change its presence and leave', () => {
    const { hub, tab } = setup()
    tab('a', { identity: { type: 'signed-out' } })
    hub.setPresence('a', { visible: false, focused: false })
    hub.detach('a')
    expect(hub.counters()).toEqual({ tabs: 0, sessions: 0, ringing: 0 })
  })

  it('requests for a tab or a profile the hub does not know change nothing', () => {
    const { hub, factory, tab } = setup()
    tab('a')
    hub.setPresence('nobody', { visible: true, focused: true })
    hub.detach('nobody')
    hub.handOver('Parent:1')
    expect(hub.counters()).toEqual({ tabs: 1, sessions: 1, ringing: 0 })
    expect(factory.last().closedWith).toBeNull()
  })

  it('a tab that signs out is told once by the hub besides its snapshot; the others are told it signed them out', () => {
    const { hub, factory, tab } = setup()
    const [a, b] = [tab('a'), tab('b')]
    accept(factory.last())
    const [seenByA, seenByB] = [a.events.length, b.events.length]
    hub.identify('a', { type: 'signed-out' })
    const signedOut = (events: HubEvent[]) => events.filter((event) => (event.type === 'status' || event.type === 'snapshot') && event.status.type === 'signed-out')
    // The closing socket's status reaches every tab of the session first (signed out already for the tab that
    // signed out); that tab then needs only its snapshot, and the others one word that they are signed out.
    expect(signedOut(a.events.slice(seenByA)).map((event) => event.type)).toEqual(['status', 'snapshot'])
    expect(signedOut(b.events.slice(seenByB)).map((event) => event.type)).toEqual(['status'])
  })
})

describe('the ringer, once more', () => {
  it('a tab attaching hears at once whether it rings and whether any tab is in view, even when neither changed', () => {
    const { tab } = setup()
    const a = tab('a', { presence: { visible: true, focused: false } })
    expect(a.events.slice(1)).toEqual([{ type: 'ringer', ringer: false, anyVisible: true }])
    const b = tab('b', { presence: { visible: true, focused: false } })
    expect(b.events.slice(1)).toEqual([{ type: 'ringer', ringer: false, anyVisible: true }])
  })

  it('a tab in view rings over one out of view that attached first', () => {
    const { factory, tab } = setup()
    const a = tab('a', { presence: { visible: false, focused: false } })
    const b = tab('b', { presence: { visible: true, focused: false } })
    accept(factory.last())
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer()]).toEqual([false, true])
  })

  it('of tabs attached in view, the one attached last is the one seen last, and rings', () => {
    const { factory, tab } = setup()
    const a = tab('a', { presence: { visible: true, focused: false } })
    const b = tab('b', { presence: { visible: true, focused: false } })
    accept(factory.last())
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer()]).toEqual([false, true])
  })

  it('of tabs never seen, the first to attach rings', () => {
    const { factory, tab } = setup()
    const a = tab('a', { presence: { visible: false, focused: false } })
    const b = tab('b', { presence: { visible: false, focused: false } })
    accept(factory.last())
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer()]).toEqual([true, false])
  })

  it('a change of presence while out of view does not make a tab the most recently seen', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { presence: { visible: true, focused: false } })
    const b = tab('b', { presence: { visible: true, focused: false } })
    accept(factory.last())
    hub.setPresence('a', { visible: false, focused: false })
    hub.setPresence('b', { visible: false, focused: false })
    hub.setPresence('a', { visible: false, focused: true })
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer()]).toEqual([false, true])
  })
})

describe('how a session ends', () => {
  it('each way a socket closes says why: sign-out, a role switch, the linger, a hand-over', () => {
    const closes = [
      (world: ReturnType<typeof setup>) => world.hub.identify('a', { type: 'signed-out' }),
      (world: ReturnType<typeof setup>) => world.hub.identify('a', aliceParent),
      (world: ReturnType<typeof setup>) => {
        world.hub.detach('a')
        world.clock.advance(defaultSettings.linger)
      },
      (world: ReturnType<typeof setup>) => world.hub.handOver('Tutor:1'),
    ]
    const reasons = closes.map((close) => {
      const world = setup()
      world.tab('a')
      const socket = world.factory.last()
      accept(socket)
      close(world)
      return socket.closedWith
    })
    expect(reasons).toEqual([
      { code: 1000, reason: 'signed out' }, { code: 1000, reason: 'no tab uses this profile' },
      { code: 1000, reason: 'no tab for 3000 ms' }, { code: 1000, reason: 'handed over to another host' },
    ])
  })

  it('the linger starts again each time the last tab leaves: the socket closes 3 s after the last left', () => {
    const { hub, clock, factory, tab } = setup()
    tab('a')
    const socket = factory.last()
    accept(socket)
    hub.detach('a')
    clock.advance(1_000)
    tab('b')
    clock.advance(1_000)
    hub.detach('b')
    clock.advance(defaultSettings.linger - 1)
    expect(socket.closedWith).toBeNull()
    clock.advance(1)
    expect(socket.closedWith).not.toBeNull()
  })

  it('a session handed over while it lingers is over: its linger does not close the session that follows it', () => {
    const { hub, clock, factory, tab } = setup()
    tab('a')
    accept(factory.last())
    hub.detach('a')
    hub.handOver('Tutor:1')
    tab('b')
    const next = factory.last()
    clock.advance(defaultSettings.linger)
    expect(next.closedWith).toBeNull()
    expect(hub.sessionKeys()).toEqual(['Tutor:1'])
  })

  it('a hand-over lets go of the tabs of the session, and says which', () => {
    const { hub, factory, tab } = setup()
    tab('a')
    tab('b', { identity: aliceParent })
    tab('c')
    accept(factory.sockets[0]!)
    expect(hub.handOver('Tutor:1')).toEqual(['a', 'c'])
    expect([hub.knows('a'), hub.knows('b'), hub.knows('c')]).toEqual([false, true, false])
    expect(hub.counters()).toEqual({ tabs: 1, sessions: 1, ringing: 0 })
  })

  it('a hand-over of a profile without a session lets go of no tab', () => {
    const { hub, tab } = setup()
    tab('b', { identity: aliceParent })
    expect(hub.handOver('Tutor:1')).toEqual([])
    expect(hub.counters()).toEqual({ tabs: 1, sessions: 1, ringing: 0 })
  })

  it('an answer waiting for its ack when the session closes rejects with why it closed', async () => {
    for (const [close, why] of [
      [(hub: ReturnType<typeof setup>['hub']) => hub.identify('a', aliceParent), 'no tab uses this profile'],
      [(hub: ReturnType<typeof setup>['hub']) => hub.handOver('Tutor:1'), 'handed over to another host'],
    ] as const) {
      const { hub, factory, tab } = setup()
      tab('a')
      accept(factory.last())
      factory.last().receive(invite(3))
      const answering = hub.accept('a', 3)
      close(hub)
      await expect(answering).rejects.toThrow(new CallNotRingingError(`[callhub] the profile's session closed (${why})`))
    }
  })

  it('a call expiring past the timer limit is re-armed in steps: it does not expire when the first step ends', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    accept(factory.last())
    const in40Days = 40 * 86_400_000
    factory.last().receive(invite(1, { expires_at: new Date(clock.now() + in40Days).toISOString() }))
    // Offline, so weeks of pings and reconnects do not have to be simulated too.
    hub.setOnline(false)
    clock.advance(2 ** 31)
    expect(a.settled()).toEqual([])
    clock.advance(in40Days - 2 ** 31)
    expect(a.settled()).toMatchObject([{ callLogId: 1, reason: 'expired' }])
  })

  it('a first attach, online as the hub is, says nothing about the network', () => {
    const { lines, tab } = setup()
    tab('a')
    expect(lines.filter((line) => line.includes('network'))).toEqual([])
  })
})

describe('answers, once more', () => {
  it('a refusal names the answer it refused: accept or decline', async () => {
    const { hub, factory, tab } = setup()
    tab('a')
    accept(factory.last())
    factory.last().receive(invite(3))
    factory.last().drop()
    await expect(hub.accept('a', 3)).rejects.toThrow(new HubNotConnectedError('[callhub] cannot accept call 3: the connection is waiting; try again once it is open'))
    await expect(hub.decline('a', 3)).rejects.toThrow(new HubNotConnectedError('[callhub] cannot decline call 3: the connection is waiting; try again once it is open'))
  })

  it('a decline the backend never confirms times out by name', async () => {
    const { hub, clock, factory, tab } = setup()
    tab('a')
    accept(factory.last())
    factory.last().receive(invite(3))
    const declining = hub.decline('a', 3)
    clock.advance(defaultSettings.pongTimeout)
    await expect(declining).rejects.toThrow(new HubTimeoutError('[callhub] the backend did not confirm the decline of call 3 within 10000 ms'))
  })

  it('without acks, an accept starts a call in progress and a decline does not', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { settings: { backend: { acks: false } } })
    factory.last().open()
    factory.last().receive(invite(3))
    factory.last().receive(invite(4))
    await hub.decline('a', 4)
    expect(a.status()?.inCall).toBeUndefined()
    await hub.accept('a', 3)
    expect(a.status()?.inCall).toEqual([{ callLogId: 3, here: true }])
  })

  it('an ack without a call id answers nothing, and says so', () => {
    const { factory, lines, tab } = setup()
    tab('a')
    accept(factory.last())
    factory.last().receive({ type: 'ack', of: 'call_accepted' })
    expect(lines).toContain('Tutor:1: ack of call_accepted for call ? that no tab is answering')
  })

  it('an ack naming a call no tab holds is not kept as a frame of that call for a later hold', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    accept(factory.last())
    factory.last().receive({ type: 'ack', of: 'call_accepted', call_log_id: 9 })
    hub.track('a', 9)
    expect(a.events.filter((event) => event.type === 'call-frame')).toEqual([])
  })
})

describe('calls in progress, once more', () => {
  async function inCall() {
    const world = setup()
    const a = world.tab('a', { messages: true })
    const b = world.tab('b', { messages: true })
    const socket = world.factory.last()
    accept(socket)
    socket.receive(invite(7))
    const answered = world.hub.accept('b', 7)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
    await answered
    const of = (tab: typeof a, type: HubEvent['type']) => tab.events.filter((event) => event.type === type)
    return { ...world, a, b, socket, of }
  }

  it('a host that restarts keeps each call in progress with the tab that held it, which alone gets its frames', () => {
    const { factory, tab } = setup()
    const b = tab('b', { sessions: [7] })
    const a = tab('a', { sessions: [7] })
    accept(factory.last())
    factory.last().receive({ type: 'ice_candidate', call_log_id: 7, candidate: 'c1' })
    expect(b.events.filter((event) => event.type === 'call-frame')).toEqual([
      { type: 'call-frame', callLogId: 7, text: '{"type":"ice_candidate","call_log_id":7,"candidate":"c1"}' },
    ])
    expect(a.events.filter((event) => event.type === 'call-frame')).toEqual([])
    expect(b.status()?.inCall).toEqual([{ callLogId: 7, here: true }])
  })

  it('keeps at most 64 frames of a ringing call for the tab that answers, and says so of the rest', async () => {
    const { hub, factory, lines, tab } = setup()
    const b = tab('b')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(9))
    for (let index = 0; index < 66; index += 1) socket.receive({ type: 'ice_candidate', call_log_id: 9, candidate: `c${index}` })
    const answered = hub.accept('b', 9)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 9 })
    await answered
    const frames = b.events.filter((event) => event.type === 'call-frame')
    expect(frames).toHaveLength(64)
    expect(frames.at(-1)).toMatchObject({ text: '{"type":"ice_candidate","call_log_id":9,"candidate":"c63"}' })
    expect(lines.filter((line) => line === 'Tutor:1: dropped a frame of ringing call 9: over 64 before an answer')).toHaveLength(2)
  })

  it('a call accepted by a tab that leaves before the backend confirms is ended at once: no tab holds it', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    tab('b')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(9))
    socket.receive({ type: 'ice_candidate', call_log_id: 9, candidate: 'early' })
    const answered = hub.accept('b', 9)
    hub.detach('b')
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 9 })
    await answered
    await settle()
    expect(socket.frames().at(-1)).toEqual({ type: 'call_ended', call_log_id: 9, reason: 'tab_closed' })
    expect(a.status()?.inCall).toBeUndefined()
    expect(a.settled()).toMatchObject([{ callLogId: 9, reason: 'accepted', here: false }])
  })

  it("a frame without a call id is a message, even while a call whose id is the text 'null' rings or is in progress", async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { messages: true })
    const socket = factory.last()
    accept(socket)
    socket.receive(invite('null'))
    socket.receive({ type: 'chat_message', text: 'while it rings' })
    const answered = hub.accept('a', 'null')
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 'null' })
    await answered
    socket.receive({ type: 'chat_message', text: 'during the call' })
    expect(a.messages()).toEqual(['{"type":"chat_message","text":"while it rings"}', '{"type":"chat_message","text":"during the call"}'])
    expect(a.events.filter((event) => event.type === 'call-frame')).toEqual([])
  })

  it('a call accepted by a tab that left, whose end cannot be written, is logged as such', async () => {
    const { hub, factory, lines, tab } = setup()
    tab('a')
    tab('b')
    const socket = factory.last()
    accept(socket)
    socket.receive(invite(9))
    const answered = hub.accept('b', 9)
    hub.detach('b')
    // The socket is closing as the ack comes: the end waits in the outbox, and the rejection drops it.
    socket.readyState = 3
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 9 })
    await answered
    socket.drop(4401)
    await settle()
    expect(lines.some((line) => line.startsWith('Tutor:1: could not tell the backend call 9 ended'))).toBe(true)
  })

  it('a second ack of the answer is not a frame of the call', async () => {
    const { b, socket, of, lines } = await inCall()
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
    expect(of(b, 'call-frame')).toEqual([])
    expect(lines).toContain('Tutor:1: ack of call_accepted for call 7 that no tab is answering')
  })

  it('a cancel without a reason ends the call with the cancel as its reason', async () => {
    const { b, socket, of } = await inCall()
    socket.receive({ type: 'call_cancelled', call_log_id: 7 })
    expect(of(b, 'call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'cancelled' }])
  })

  it('a role switch in the tab holding it ends it, and the backend hears profile_changed', async () => {
    const { hub, b, socket, of } = await inCall()
    hub.identify('b', aliceParent)
    expect(socket.frames()).toContainEqual({ type: 'call_ended', call_log_id: 7, reason: 'profile_changed' })
    expect(of(b, 'call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'profile_changed' }])
  })

  it('another tab leaving ends nothing', async () => {
    const { hub, b, socket } = await inCall()
    const sent = socket.sent.length
    hub.detach('a')
    expect(socket.sent).toHaveLength(sent)
    expect(b.status()?.inCall).toEqual([{ callLogId: 7, here: true }])
  })

  it('a frame of a call exactly at the limit once its id is added is written', async () => {
    const { hub, socket } = await inCall()
    const pad = 'p'.repeat(MAX_FRAME_BYTES - JSON.stringify({ pad: '', call_log_id: 7 }).length)
    await hub.sessionSend('b', 7, JSON.stringify({ pad }))
    expect(socket.sent.at(-1)).toHaveLength(MAX_FRAME_BYTES)
  })

  it('a call whose end the backend cannot be told (the credentials were rejected) is logged as such when its tab goes', async () => {
    const { hub, socket, lines } = await inCall()
    socket.drop(4401)
    hub.detach('b')
    await settle()
    expect(lines.some((line) => line.startsWith('Tutor:1: could not tell the backend call 7 ended'))).toBe(true)
  })
})
