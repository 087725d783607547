import { describe, expect, it } from 'vitest'
import type { HubEvent, HubSettings, Presence, Settled, Status, TabIdentity } from '../../protocol'
import { createHub } from '../../worker/hub'
import type { TabHandle } from '../../worker/hub'
import { createFakeClock, socketFactory } from './fakes'

const alice: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Tutor' }, token: 'tok-alice', url: 'ws://hub.test/ws/1/Tutor' }
const aliceParent: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Parent' }, token: 'tok-alice', url: 'ws://hub.test/ws/1/Parent' }
const invite = (id: number | string, extra: Record<string, unknown> = {}) => ({ type: 'call_invitation', call_log_id: id, conversation_id: 5, from_name: 'Bob Bekele', ...extra })

function setup(settings: HubSettings = {}) {
  const clock = createFakeClock()
  const factory = socketFactory()
  const lines: string[] = []
  let random = 0.5
  const hub = createHub({ createSocket: factory.createSocket, clock, random: () => random, log: (line) => lines.push(line) })

  function tab(id: string, identity: TabIdentity = alice, presence: Presence = { visible: true, focused: false }) {
    const events: HubEvent[] = []
    const handle: TabHandle = { id, push: (event) => events.push(event) }
    hub.attach(handle, { tabId: id, identity, online: true, presence, settings })
    const of = <T extends HubEvent['type']>(type: T) => events.filter((event): event is Extract<HubEvent, { type: T }> => event.type === type)
    const [snapshot] = of('snapshot')
    if (snapshot === undefined || events[0] !== snapshot) throw new Error('the first event of an attach must be its snapshot')
    return {
      id, events, snapshot,
      ringer: () => of('ringer').at(-1)?.ringer ?? false,
      statuses: (): Status[] => of('status').map((event) => event.status),
      status: (): Status | undefined => of('status').at(-1)?.status,
      invitations: () => of('invitation').map((event) => event.invitation),
      settled: (): Settled[] => of('settled').map((event) => event.settled),
    }
  }
  return { hub, clock, factory, lines, tab, setRandom: (value: number) => void (random = value) }
}

describe('one connection per profile', () => {
  it('opens one socket for many tabs of a profile, with the token only in the first frame', () => {
    const { factory, tab } = setup()
    const tabs = Array.from({ length: 10 }, (_, index) => tab(`t${index}`))
    expect(factory.sockets).toHaveLength(1)
    const socket = factory.last()
    expect(socket.url).toBe('ws://hub.test/ws/1/Tutor')
    expect(socket.url).not.toContain('tok-alice')
    socket.open()
    expect(socket.frames()).toEqual([{ type: 'auth', token: 'tok-alice' }])
    for (const each of tabs) expect(each.status()).toMatchObject({ type: 'open', profileKey: 'Tutor:1', tabs: 10 })
  })

  it('gives a new tab the current status at once', () => {
    const { factory, tab } = setup()
    tab('a')
    factory.last().open()
    expect(tab('b').snapshot.status).toMatchObject({ type: 'open', tabs: 2, profileKey: 'Tutor:1' })
  })

  it('opens one socket per profile key', () => {
    const { factory, tab } = setup()
    tab('a')
    tab('b', aliceParent)
    expect(factory.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Tutor', 'ws://hub.test/ws/1/Parent'])
  })

  it('connects nothing for signed-out and no-profile tabs', () => {
    const { factory, tab } = setup()
    expect(tab('a', { type: 'signed-out' }).snapshot.status.type).toBe('signed-out')
    expect(tab('b', { type: 'no-profile', role: 'student' }).snapshot.status).toMatchObject({ type: 'no-profile', role: 'student' })
    expect(factory.sockets).toHaveLength(0)
  })
})

describe('calls', () => {
  it('rings every tab once per call_log_id, however many duplicate frames arrive', () => {
    const { factory, tab } = setup()
    const tabs = [tab('a'), tab('b')]
    const socket = factory.last()
    socket.open()
    socket.receive(invite(7))
    socket.receive(invite(7))
    socket.receive(invite('7'))
    for (const each of tabs) expect(each.invitations().map((call) => call.callLogId)).toEqual([7])
  })

  it('shows a ringing call to a tab that attaches later, and not a settled one', () => {
    const { factory, tab } = setup()
    tab('a')
    const socket = factory.last()
    socket.open()
    socket.receive(invite(1))
    socket.receive(invite(2))
    socket.receive({ type: 'call_cancelled', call_log_id: 1 })
    expect(tab('late').snapshot.calls.map((call) => call.callLogId)).toEqual([2])
  })

  it('accept sends one call_accepted frame and settles the call in every tab, marking where', () => {
    const { hub, factory, tab } = setup()
    const [a, b] = [tab('a'), tab('b')]
    const socket = factory.last()
    socket.open()
    socket.receive(invite(3))
    expect(hub.accept('b', 3).callLogId).toBe(3)
    expect(socket.frames().slice(1)).toEqual([{ type: 'call_accepted', call_log_id: 3, conversation_id: 5 }])
    expect(a.settled()).toMatchObject([{ callLogId: 3, reason: 'accepted', here: false }])
    expect(b.settled()).toMatchObject([{ callLogId: 3, reason: 'accepted', here: true }])
    expect(() => hub.accept('a', 3)).toThrow(expect.objectContaining({ name: 'CallNotRingingError' }))
    expect(() => hub.decline('a', 3)).toThrow(/not ringing/)
    expect(socket.sent).toHaveLength(2)
  })

  it('decline sends call_declined and settles everywhere', () => {
    const { hub, factory, tab } = setup()
    const [a, b] = [tab('a'), tab('b')]
    const socket = factory.last()
    socket.open()
    socket.receive(invite('x-1'))
    hub.decline('a', 'x-1')
    expect(socket.frames().at(-1)).toEqual({ type: 'call_declined', call_log_id: 'x-1', conversation_id: 5 })
    expect(a.settled()).toMatchObject([{ reason: 'declined', here: true }])
    expect(b.settled()).toMatchObject([{ reason: 'declined', here: false }])
  })

  it('refuses to answer while the socket is down, and the call keeps ringing', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    socket.open()
    socket.receive(invite(4))
    socket.drop()
    expect(() => hub.accept('a', 4)).toThrow(expect.objectContaining({ name: 'HubNotConnectedError' }))
    expect(a.settled()).toEqual([])
    expect(tab('b').snapshot.calls).toHaveLength(1)
  })

  it.each([
    ['call_cancelled', 'cancelled'], ['call_ended', 'ended'], ['call_taken', 'taken'],
  ] as const)('%s settles a ringing call as %s', (type, reason) => {
    const { factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    socket.open()
    socket.receive(invite(5))
    socket.receive({ type, call_log_id: 5 })
    expect(a.settled()).toMatchObject([{ callLogId: 5, reason, here: false }])
  })

  it('a duplicate frame that arrives after the call settled does not ring again', () => {
    const { factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    socket.open()
    socket.receive(invite(6))
    socket.receive({ type: 'call_cancelled', call_log_id: 6 })
    socket.receive(invite(6))
    expect(a.invitations()).toHaveLength(1)
  })

  it('expires a call at the ring timeout, or at expires_at when the frame has one', () => {
    const { clock, factory, tab } = setup({ ringTimeout: 30_000 })
    const a = tab('a')
    const socket = factory.last()
    socket.open()
    socket.receive(invite(1))
    socket.receive(invite(2, { expires_at: new Date(clock.now() + 5_000).toISOString() }))
    socket.receive(invite(3, { expires_at: new Date(clock.now() - 1).toISOString() }))
    expect(a.invitations().map((call) => call.callLogId)).toEqual([1, 2])
    clock.advance(5_000)
    expect(a.settled()).toMatchObject([{ callLogId: 2, reason: 'expired' }])
    clock.advance(25_000)
    expect(a.settled().map((settled) => settled.callLogId)).toEqual([2, 1])
  })

  it('keeps delivering after malformed frames, logging why each was dropped', () => {
    const { factory, tab, lines } = setup()
    const a = tab('a')
    const socket = factory.last()
    socket.open()
    for (const junk of ['', 'nope', '[]', '{"type":"call_invitation"}', '{"type":"mystery"}']) socket.receive(junk)
    socket.receive(invite(8))
    expect(a.invitations()).toHaveLength(1)
    expect(lines.filter((line) => line.includes('dropped a frame'))).toHaveLength(4)
    expect(lines.some((line) => line.includes('"mystery"'))).toBe(true)
  })
})

describe('tabs coming and going', () => {
  it('closes the socket only after the linger once the last tab is gone', () => {
    const { hub, clock, factory, tab } = setup({ linger: 3_000 })
    tab('a')
    tab('b')
    const socket = factory.last()
    socket.open()
    hub.detach('a')
    hub.detach('b')
    clock.advance(2_999)
    expect(socket.closedWith).toBeNull()
    clock.advance(1)
    expect(socket.closedWith).toMatchObject({ code: 1000 })
    expect(hub.counters()).toEqual({ tabs: 0, sessions: 0, ringing: 0 })
  })

  it('keeps the socket when a tab comes back within the linger (moving between pages)', () => {
    const { hub, clock, factory, tab } = setup({ linger: 3_000 })
    tab('a')
    factory.last().open()
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
    factory.last().open()
    const again = tab('a')
    expect(factory.sockets).toHaveLength(1)
    expect(factory.last().closedWith).toBeNull()
    expect(again.snapshot.status).toMatchObject({ type: 'open', tabs: 1 })
  })

  it('a call expiring in the far future does not expire at once (no timer overflow)', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a')
    factory.last().open()
    factory.last().receive(invite(1, { expires_at: new Date(clock.now() + 40 * 86_400_000).toISOString() }))
    clock.advance(60_000)
    expect(a.settled()).toEqual([])
  })

  it('stops pushing to a detached tab', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const b = tab('b')
    factory.last().open()
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
    socket.open()
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
    tutor.open()
    hub.identify('a', aliceParent)
    expect(tutor.closedWith).toBeNull()
    hub.identify('b', aliceParent)
    expect(tutor.closedWith).not.toBeNull()
    expect(factory.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Tutor', 'ws://hub.test/ws/1/Parent'])
  })
})

describe('reconnecting', () => {
  it('waits a jittered delay after a drop, then connects and authenticates again', () => {
    const { clock, factory, tab, setRandom } = setup({ retryBase: 500 })
    const a = tab('a')
    factory.last().open()
    setRandom(0.5)
    factory.last().drop(1006, '')
    const waiting = a.status()
    expect(waiting).toMatchObject({ type: 'waiting', attempt: 1, lastClose: { code: 1006 } })
    // First retry after a drop: half of base·2^3 with random = 0.5.
    expect(waiting?.type === 'waiting' && waiting.retryAt - clock.now()).toBe(2_000)
    clock.advance(1_999)
    expect(factory.sockets).toHaveLength(1)
    clock.advance(1)
    expect(factory.sockets).toHaveLength(2)
    factory.last().open()
    expect(factory.last().frames()).toEqual([{ type: 'auth', token: 'tok-alice' }])
    expect(a.status()?.type).toBe('open')
  })

  it('grows the delay with each failed attempt and resets it only after the socket stayed open 10 s', () => {
    const { clock, factory, tab, setRandom } = setup({ retryBase: 100, maxRetryDelay: 100_000 })
    const a = tab('a')
    setRandom(0.999)
    const delays: number[] = []
    for (let attempt = 0; attempt < 4; attempt += 1) {
      factory.last().drop()
      const status = a.status()
      if (status?.type !== 'waiting') throw new Error(status?.type)
      delays.push(status.retryAt - clock.now())
      clock.advance(status.retryAt - clock.now())
    }
    expect(delays).toEqual([799, 1_598, 3_196, 6_393])
    factory.last().open()
    clock.advance(10_000)
    factory.last().drop()
    const status = a.status()
    expect(status?.type === 'waiting' && status.attempt).toBe(1)
  })

  it('stops at rejected credentials and retries only when the identity changes', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    factory.last().open()
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
    factory.last().open()
    expect(factory.last().frames()).toEqual([{ type: 'auth', token: 'tok-new' }])
    expect(a.status()?.type).toBe('open')
  })

  it('honours a server-directed delay (1013, retry-after)', () => {
    const { clock, factory, tab, setRandom } = setup()
    const a = tab('a')
    factory.last().open()
    setRandom(0)
    factory.last().drop(1013, 'retry-after=7000')
    const status = a.status()
    expect(status?.type === 'waiting' && status.retryAt - clock.now()).toBe(7_000)
  })

  it('pings a silent socket and reconnects when nothing answers', () => {
    const { clock, factory, tab } = setup({ pingAfter: 25_000, pongTimeout: 10_000 })
    const a = tab('a')
    const socket = factory.last()
    socket.open()
    clock.advance(25_000)
    expect(socket.frames().at(-1)).toEqual({ type: 'ping' })
    clock.advance(9_999)
    expect(a.status()?.type).toBe('open')
    clock.advance(1)
    expect(socket.closedWith).not.toBeNull()
    expect(a.status()).toMatchObject({ type: 'waiting', lastClose: { code: 1006 } })
  })

  it('any frame counts as life: an answered ping keeps the socket', () => {
    const { clock, factory, tab } = setup({ pingAfter: 25_000, pongTimeout: 10_000 })
    const a = tab('a')
    const socket = factory.last()
    socket.open()
    clock.advance(25_000)
    socket.receive({ type: 'pong' })
    clock.advance(30_000)
    socket.receive({ type: 'pong' })
    expect(a.status()?.type).toBe('open')
    expect(socket.closedWith).toBeNull()
  })

  it('stops retrying while offline and connects at once when the network is back', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    factory.last().open()
    hub.setOnline(false)
    expect(a.status()?.type).toBe('offline')
    clock.advance(600_000)
    expect(factory.sockets).toHaveLength(1)
    hub.setOnline(true)
    expect(factory.sockets).toHaveLength(2)
    expect(a.status()?.type).toBe('connecting')
  })
})

describe('one ringer', () => {
  const ringers = (tabs: Array<{ ringer: () => boolean }>) => tabs.filter((each) => each.ringer()).length

  it('rings in exactly one tab: the focused visible one, else the most recently seen', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', alice, { visible: true, focused: false })
    const b = tab('b', alice, { visible: true, focused: true })
    const c = tab('c', alice, { visible: false, focused: false })
    factory.last().open()
    expect(ringers([a, b, c])).toBe(0)
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer(), c.ringer()]).toEqual([false, true, false])
    hub.setPresence('b', { visible: false, focused: false })
    expect([a.ringer(), b.ringer(), c.ringer()]).toEqual([true, false, false])
    hub.setPresence('a', { visible: false, focused: false })
    // No tab in view: the one seen last (a) keeps ringing, and every tab learns nothing is visible.
    expect([a.ringer(), b.ringer(), c.ringer()]).toEqual([true, false, false])
    expect(a.events.filter((event) => event.type === 'ringer').at(-1)).toEqual({ type: 'ringer', ringer: true, anyVisible: false })
    hub.setPresence('c', { visible: true, focused: true })
    expect([a.ringer(), b.ringer(), c.ringer()]).toEqual([false, false, true])
  })

  it('moves the ringing to another tab when the ringer goes, and stops when the call settles', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const b = tab('b')
    factory.last().open()
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
