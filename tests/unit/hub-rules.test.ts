/**
 * More of the hub's rules over a fake socket and clock: the page's reconnect hook, answers that the
 * connection or the session ends before the backend confirms them, acks that answer nothing pending, who
 * hears about the ringer, calls in progress at sign-out, and the debug log.
 */
import { describe, expect, it } from 'vitest'
import { CallNotRingingError, HubNotConnectedError, InvalidInputError, TabNotAttachedError } from '../../protocol/errors'
import { MAX_FRAME_BYTES } from '../../protocol/wire'
import type { AttachRequest, HubEvent, Presence } from '../../protocol/port'
import type { TabIdentity } from '../../protocol/port'
import { createHub } from '../../core/hub'
import type { TabHandle } from '../../core/hub'
import { createFakeClock, socketFactory } from './fakes'
import type { FakeSocket } from './fakes'

const alice: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Tutor' }, token: 'tok-alice', url: 'ws://hub.test/ws/1/Tutor' }
const invite = (id: number) => ({ type: 'call_invitation', call_log_id: id, conversation_id: 5, from_name: 'Bob Bekele' })

function acceptSocket(socket: FakeSocket): void {
  socket.open()
  socket.receive({ type: 'ack', of: 'auth' })
}

/** Lets promise callbacks run. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

interface TabOptions {
  presence?: Presence
  recover?: () => Promise<unknown[]>
  /** Whether the tab asks for its hook to be run: by default, when it has one. */
  asksToRecover?: boolean
  debug?: boolean
  backend?: AttachRequest['settings']['backend']
}

/**
 * A reconnect hook that answers its first ask (the first connect) at once with no calls, and every later ask
 * only when the test calls `answer`.
 */
function answersFirstThenWaits() {
  let answer: (calls: unknown[]) => void = () => {}
  let asked = 0
  const recover = () => {
    asked += 1
    return asked === 1 ? Promise.resolve([]) : new Promise<unknown[]>((resolve) => (answer = resolve))
  }
  return { recover, answer: (calls: unknown[]) => answer(calls) }
}

function setup() {
  const clock = createFakeClock()
  const factory = socketFactory()
  const lines: string[] = []
  const hub = createHub({ createSocket: factory.createSocket, clock, random: () => 0.999_999, log: (line) => lines.push(line) })

  function tab(id: string, options: TabOptions = {}) {
    const events: HubEvent[] = []
    const handle: TabHandle = { id, push: (event) => events.push(event), ...(options.recover ? { recover: options.recover } : {}) }
    hub.attach(handle, {
      tabId: id, identity: alice, online: true, presence: options.presence ?? { visible: true, focused: false },
      settings: options.backend ? { backend: options.backend } : {},
      interests: { messages: false, debug: options.debug ?? false, recover: options.asksToRecover ?? options.recover !== undefined }, calls: [], sessions: [],
    })
    const of = <T extends HubEvent['type']>(type: T) => events.filter((event): event is Extract<HubEvent, { type: T }> => event.type === type)
    return {
      id, events, of,
      ringer: () => of('ringer').at(-1)?.ringer ?? false,
      ringing: () => {
        const shown = new Set<string>()
        for (const event of events) {
          if (event.type === 'snapshot') for (const call of event.calls) shown.add(String(call.callLogId))
          else if (event.type === 'invitation') shown.add(String(event.invitation.callLogId))
          else if (event.type === 'settled') shown.delete(String(event.settled.callLogId))
        }
        return [...shown]
      },
      settled: () => of('settled').map((event) => [event.settled.callLogId, event.settled.reason]),
    }
  }
  /** Drops the socket and lets the (first window, 4 s) retry connect and be accepted. */
  function reconnect(): void {
    factory.last().drop()
    clock.advance(4_000)
    acceptSocket(factory.last())
  }
  return { hub, clock, factory, tab, reconnect, lines }
}

/** Tabs `a` and `b` of one profile, with call 7 accepted in `holder` and confirmed by the backend. */
async function inCallIn(holder: 'a' | 'b') {
  const world = setup()
  const a = world.tab('a')
  const b = world.tab('b')
  const socket = world.factory.last()
  acceptSocket(socket)
  socket.receive(invite(7))
  const answered = world.hub.accept(holder, 7)
  socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
  await answered
  return { ...world, a, b, socket }
}

describe("the page's reconnect hook", () => {
  it('after a reconnect, rings the calls it returns that were not known, keeps those it returns, and ends the rest', async () => {
    const { factory, tab, reconnect } = setup()
    let asked = 0
    const a = tab('a', {
      recover: async () => {
        asked += 1
        // A frame's text, an object like one, and something that is not a call at all.
        return [JSON.stringify(invite(2)), invite(3), { type: 'chat_message' }]
      },
    })
    acceptSocket(factory.last())
    await flush()
    factory.last().receive(invite(1))
    factory.last().receive(invite(2))
    asked = 0
    reconnect()
    await flush()
    expect(asked).toBe(1)
    expect(a.ringing()).toEqual(['2', '3'])
    expect(a.settled()).toEqual([[1, 'ended']])
    // Call 2 rang once: the hook's copy is the same call.
    expect(a.of('invitation').filter((event) => event.invitation.callLogId === 2)).toHaveLength(1)
  })

  it('asks the tab with the hook that was seen most recently, and only it', async () => {
    const { hub, factory, tab, reconnect } = setup()
    const asked: string[] = []
    tab('a', { recover: async () => (asked.push('a'), []) })
    tab('b', { recover: async () => (asked.push('b'), []) })
    tab('c')
    acceptSocket(factory.last())
    await flush()
    hub.setPresence('a', { visible: true, focused: true })
    asked.length = 0
    reconnect()
    await flush()
    expect(asked).toEqual(['a'])
  })

  it('a hook that fails, or answers what is not a list, ends nothing: the calls ring until they expire', async () => {
    for (const recover of [async () => Promise.reject(new Error('offline')), async () => 'nope' as unknown as unknown[]]) {
      const { factory, tab, reconnect, lines } = setup()
      const a = tab('a', { recover })
      acceptSocket(factory.last())
      await flush()
      factory.last().receive(invite(1))
      reconnect()
      await flush()
      expect(a.ringing()).toEqual(['1'])
      expect(a.settled()).toEqual([])
      // Said in the log, and nowhere else (no unhandled rejection in the worker).
      expect(lines.filter((line) => line.includes('the reconnect hook failed'))).toHaveLength(2)
    }
  })

  it('a hook that does not answer within the pong timeout ends nothing, and its late answer is ignored', async () => {
    const { clock, factory, tab, reconnect } = setup()
    const { recover, answer } = answersFirstThenWaits()
    const a = tab('a', { recover })
    acceptSocket(factory.last())
    await flush()
    factory.last().receive(invite(1))
    reconnect()
    clock.advance(10_000)
    await flush()
    answer([])
    await flush()
    expect(a.ringing()).toEqual(['1'])
  })

  it('an answer that arrives after the socket dropped again is ignored', async () => {
    const { factory, tab, reconnect } = setup()
    const { recover, answer } = answersFirstThenWaits()
    const a = tab('a', { recover })
    acceptSocket(factory.last())
    await flush()
    factory.last().receive(invite(1))
    reconnect()
    factory.last().drop()
    answer([])
    await flush()
    expect(a.ringing()).toEqual(['1'])
  })
})

describe("the page's reconnect hook, once more", () => {
  it('is asked of a tab that both asks for it and has one, the one seen most recently of them', async () => {
    const { hub, factory, tab, reconnect } = setup()
    const asked: string[] = []
    const hook = (id: string) => async () => (asked.push(id), [])
    tab('a', { recover: hook('a') })
    tab('b', { recover: hook('b') })
    tab('c', { recover: hook('c') })
    tab('has-but-does-not-ask', { recover: hook('has-but-does-not-ask'), asksToRecover: false })
    tab('asks-but-has-none', { asksToRecover: true })
    acceptSocket(factory.last())
    await flush()
    hub.setPresence('b', { visible: true, focused: true })
    asked.length = 0
    reconnect()
    await flush()
    expect(asked).toEqual(['b'])
  })

  it('says in the log which calls it ended, and why', async () => {
    const { factory, tab, reconnect, lines } = setup()
    tab('a', { recover: async () => [] })
    acceptSocket(factory.last())
    await flush()
    factory.last().receive(invite(1))
    reconnect()
    await flush()
    expect(lines).toContain('Tutor:1: call 1 was not among the calls the reconnect hook returned: it ended while the socket was down')
  })

  it('keeps a call the backend re-sent on reconnect though the hook did not return it', async () => {
    const { clock, factory, tab } = setup()
    const { recover, answer } = answersFirstThenWaits()
    const a = tab('a', { recover })
    acceptSocket(factory.last())
    await flush()
    factory.last().receive(invite(1))
    factory.last().receive(invite(2))
    factory.last().drop()
    clock.advance(4_000)
    const next = factory.last()
    next.open()
    next.receive(invite(2))
    next.receive({ type: 'ack', of: 'auth' })
    answer([])
    await flush()
    expect(a.settled()).toEqual([[1, 'ended']])
  })

  it('leaves no timer behind once it answered', async () => {
    const { clock, factory, tab, reconnect } = setup()
    const { recover, answer } = answersFirstThenWaits()
    tab('a', { recover })
    acceptSocket(factory.last())
    await flush()
    reconnect()
    const waiting = clock.pending()
    answer([])
    await flush()
    expect(clock.pending()).toBe(waiting - 1)
  })
})

describe('a backend that re-sends every ringing call', () => {
  it('once it has, a call a tab hands over that it did not name does not ring again', () => {
    const { factory, hub } = setup()
    const events: HubEvent[] = []
    const attach = (id: string, calls: AttachRequest['calls']) => hub.attach({ id, push: (event) => events.push(event) }, {
      tabId: id, identity: alice, online: true, presence: { visible: true, focused: false }, settings: {},
      interests: { messages: false, debug: false, recover: false }, calls, sessions: [],
    })
    attach('a', [])
    acceptSocket(factory.last())
    attach('b', [{
      callLogId: 10, conversationId: 5, callType: 'voice', offer: null, expiresAt: null,
      from: { name: 'Bob Bekele', avatar: null, profileId: null, profileType: null },
    }])
    expect(events.filter((event) => event.type === 'invitation')).toEqual([])
    expect(hub.counters().ringing).toBe(0)
  })
})

describe('answers the backend has not confirmed yet', () => {
  it('reject with HubNotConnectedError when the socket drops, and the call keeps ringing', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    acceptSocket(factory.last())
    factory.last().receive(invite(1))
    const answer = hub.accept('a', 1)
    factory.last().drop()
    await expect(answer).rejects.toBeInstanceOf(HubNotConnectedError)
    expect(a.ringing()).toEqual(['1'])
  })

  it('reject with CallNotRingingError when the profile signs out', async () => {
    const { hub, factory, tab } = setup()
    tab('a')
    acceptSocket(factory.last())
    factory.last().receive(invite(1))
    const answer = hub.decline('a', 1)
    hub.identify('a', { type: 'signed-out' })
    await expect(answer).rejects.toBeInstanceOf(CallNotRingingError)
  })

  it('are settled only by an ack of the same answer for the same call', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    acceptSocket(socket)
    socket.receive(invite(1))
    socket.receive(invite(2))
    let done = false
    void hub.accept('a', 1).then(() => (done = true))
    socket.receive({ type: 'ack', of: 'call_declined', call_log_id: 1 })
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 2 })
    socket.receive({ type: 'ack', of: 'call_accepted' })
    socket.receive({ type: 'nack', of: 'call_accepted', call_log_id: 9, reason: 'unknown' })
    await flush()
    expect(done).toBe(false)
    expect(a.ringing()).toEqual(['1', '2'])
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 1 })
    await flush()
    expect(done).toBe(true)
  })

  it('an ack of a decline ends the call as declined, with no call in progress', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    acceptSocket(socket)
    socket.receive(invite(1))
    const answer = hub.decline('a', 1)
    socket.receive({ type: 'ack', of: 'call_declined', call_log_id: 1 })
    await answer
    expect(a.settled()).toEqual([[1, 'declined']])
    const status = a.of('status').at(-1)?.status
    expect(status?.inCall).toBeUndefined()
  })
})

describe('acks and nacks that answer no call', () => {
  it('reach the tabs that listen for messages, like any other frame', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    hub.setInterests('a', { messages: true, debug: false, recover: false })
    acceptSocket(factory.last())
    factory.last().receive({ type: 'ack', of: 'chat_message' })
    factory.last().receive({ type: 'nack', of: 'chat_message', reason: 'too fast' })
    expect(a.of('message').map((event) => JSON.parse(event.text).type)).toEqual(['ack', 'nack'])
  })
})

describe('who hears about the ringer', () => {
  it('only the tab that stops and the tab that starts ringing hear of a move; a visibility change reaches every tab', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { presence: { visible: true, focused: true } })
    const b = tab('b', { presence: { visible: true, focused: false } })
    const c = tab('c', { presence: { visible: true, focused: false } })
    acceptSocket(factory.last())
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer(), c.ringer()]).toEqual([true, false, false])
    const heard = () => [a, b, c].map((each) => each.of('ringer').length)
    const before = heard()
    hub.setPresence('a', { visible: true, focused: false })
    hub.setPresence('b', { visible: true, focused: true })
    const after = heard()
    expect([after[0]! - before[0]!, after[1]! - before[1]!, after[2]! - before[2]!]).toEqual([1, 1, 0])
    expect([a.ringer(), b.ringer(), c.ringer()]).toEqual([false, true, false])
    for (const id of ['a', 'b', 'c']) hub.setPresence(id, { visible: false, focused: false })
    for (const each of [a, b, c]) expect(each.of('ringer').at(-1)?.anyVisible).toBe(false)
  })

  it('of two tabs equally in view, the one seen last rings', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a', { presence: { visible: false, focused: false } })
    const b = tab('b', { presence: { visible: false, focused: false } })
    hub.setPresence('b', { visible: true, focused: false })
    hub.setPresence('a', { visible: true, focused: false })
    acceptSocket(factory.last())
    factory.last().receive(invite(1))
    expect([a.ringer(), b.ringer()]).toEqual([true, false])
  })
})

describe('sign-out with a call in progress', () => {
  it('tells the backend the call ended because the profile signed out', async () => {
    const { hub, a, socket } = await inCallIn('a')
    hub.identify('a', { type: 'signed-out' })
    expect(socket.frames()).toContainEqual({ type: 'call_ended', call_log_id: 7, reason: 'signed_out' })
    expect(a.of('call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'signed_out' }])
  })

  it.each(['a', 'b'] as const)('with the socket down, the end it could not send is logged, not thrown (the call in tab %s)', async (holder) => {
    const { hub, socket, lines, ...tabs } = await inCallIn(holder)
    socket.drop()
    hub.identify('a', { type: 'signed-out' })
    await flush()
    expect(tabs[holder].of('call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'signed_out' }])
    expect(lines.filter((line) => line.includes('could not tell the backend call 7 ended'))).toHaveLength(1)
  })
})

describe('ids kept as sent', () => {
  it('a frame without a call id reaches no call, not even one whose id is the text "null"', async () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    acceptSocket(socket)
    socket.receive({ ...invite(0), call_log_id: 'null' })
    // One while the call rings (it would be handed to the tab that answers), one while it is in progress.
    socket.receive({ type: 'ice_candidate', candidate: 'ringing' })
    const answered = hub.accept('a', 'null')
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 'null' })
    await answered
    socket.receive({ type: 'ice_candidate', candidate: 'in progress' })
    socket.receive({ type: 'ice_candidate', call_log_id: 'null', candidate: 'its own' })
    expect(a.of('call-frame').map((event) => JSON.parse(event.text).candidate)).toEqual(['its own'])
  })
})

describe('a role switch with a call in progress', () => {
  it('tells the backend the call ended because the profile changed, and only that tab hears it end', async () => {
    const { hub, a, b, socket } = await inCallIn('a')
    hub.identify('a', { type: 'profile', profile: { id: 1, type: 'Student' }, token: 'tok-student', url: 'ws://hub.test/ws/1/Student' })
    expect(socket.frames()).toContainEqual({ type: 'call_ended', call_log_id: 7, reason: 'profile_changed' })
    expect(a.of('call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'profile_changed' }])
    expect(b.of('call-ended')).toEqual([])
  })
})

describe('sign-out and hand-over with a call in progress in another tab', () => {
  it('a sign-out in one tab ends the call another tab holds, and the backend hears why', async () => {
    const { hub, b, socket } = await inCallIn('b')
    hub.identify('a', { type: 'signed-out' })
    expect(socket.frames()).toContainEqual({ type: 'call_ended', call_log_id: 7, reason: 'signed_out' })
    expect(b.of('call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'signed_out' }])
  })

  it('a hand-over ends no call in progress: the next owner carries it', async () => {
    const { hub, socket } = await inCallIn('b')
    hub.handOver('Tutor:1')
    expect(socket.frames().filter((frame) => frame.type === 'call_ended')).toEqual([])
  })
})

describe('the debug log', () => {
  it("reaches the tabs that ask for it, and only them", () => {
    const { factory, tab } = setup()
    const loud = tab('a', { debug: true })
    const quiet = tab('b')
    factory.last().receive('not json')
    expect(loud.of('log').length).toBeGreaterThan(0)
    expect(quiet.of('log')).toEqual([])
  })
})

describe('what a tab may send', () => {
  async function inCall() {
    const world = setup()
    const a = world.tab('a')
    const b = world.tab('b')
    const socket = world.factory.last()
    acceptSocket(socket)
    world.hub.track('a', 7)
    return { ...world, a, b, socket }
  }

  it('a frame up to 64 KiB is written; one byte more is refused by name', async () => {
    const { hub, socket } = await inCall()
    const frame = (length: number) => `{"type":"x","pad":"${'p'.repeat(length - 21)}"}`
    expect(frame(MAX_FRAME_BYTES)).toHaveLength(MAX_FRAME_BYTES)
    await hub.send('a', frame(MAX_FRAME_BYTES))
    expect(socket.sent.at(-1)).toHaveLength(MAX_FRAME_BYTES)
    await expect(hub.send('a', frame(MAX_FRAME_BYTES + 1))).rejects.toBeInstanceOf(InvalidInputError)
  })

  it('a frame of a call must be a JSON object, small enough with the id added, of a call this tab holds', async () => {
    const { hub } = await inCall()
    for (const text of ['not json', '[1]', 'null', '"text"']) await expect(hub.sessionSend('a', 7, text)).rejects.toBeInstanceOf(InvalidInputError)
    const nearLimit = `{"type":"x","pad":"${'p'.repeat(MAX_FRAME_BYTES - 21)}"}`
    await expect(hub.sessionSend('a', 7, nearLimit)).rejects.toBeInstanceOf(InvalidInputError)
    await expect(hub.sessionSend('b', 7, '{"type":"x"}')).rejects.toBeInstanceOf(CallNotRingingError)
    await expect(hub.sessionSend('a', 8, '{"type":"x"}')).rejects.toBeInstanceOf(CallNotRingingError)
  })

  it('a hang-up is for a call this tab holds; its reason is cut to 100 characters, and an empty one says hangup', async () => {
    const { hub, socket } = await inCall()
    await expect(hub.hangup('b', 7, 'x')).rejects.toBeInstanceOf(CallNotRingingError)
    await expect(hub.hangup('a', 8, 'x')).rejects.toBeInstanceOf(CallNotRingingError)
    await hub.hangup('a', 7, 'r'.repeat(150))
    expect(socket.frames().at(-1)).toEqual({ type: 'call_ended', call_log_id: 7, reason: 'r'.repeat(100) })
    hub.track('a', 9)
    await hub.hangup('a', 9, '')
    expect(socket.frames().at(-1)).toEqual({ type: 'call_ended', call_log_id: 9, reason: 'hangup' })
  })

  it("the other side's end reason reaches the tab cut to 100 characters", async () => {
    const { socket, a } = await inCall()
    socket.receive({ type: 'call_declined', call_log_id: 7, reason: 'b'.repeat(150) })
    expect(a.of('call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'b'.repeat(100) }])
  })

  it('a decline without a reason ends the call with the reason call_declined', async () => {
    const { socket, a } = await inCall()
    socket.receive({ type: 'call_declined', call_log_id: 7 })
    expect(a.of('call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'call_declined' }])
  })

  it('a tab that is not attached, or has no profile, is refused by name', async () => {
    const { hub } = await inCall()
    await expect(hub.send('nobody', '{"type":"x"}')).rejects.toBeInstanceOf(TabNotAttachedError)
    hub.identify('b', { type: 'signed-out' })
    await expect(hub.send('b', '{"type":"x"}')).rejects.toBeInstanceOf(HubNotConnectedError)
  })
})

describe('remembered and missed calls', () => {
  it('a call that arrives at or after its expiry does not ring, and a later tab learns it expired', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a')
    acceptSocket(factory.last())
    factory.last().receive({ ...invite(1), expires_at: new Date(clock.now()).toISOString() })
    expect(a.ringing()).toEqual([])
    expect(tab('b').of('snapshot')[0]?.ended).toEqual([{ callLogId: 1, reason: 'expired' }])
  })

  it('a call declined as busy is remembered as declined', async () => {
    const { hub, factory, tab } = setup()
    tab('a')
    hub.configure('a', { whenBusy: 'decline' })
    acceptSocket(factory.last())
    hub.track('a', 7)
    factory.last().receive(invite(1))
    expect(tab('b').of('snapshot')[0]?.ended).toEqual([{ callLogId: 1, reason: 'declined' }])
  })

  it('keeps the last 20 missed calls: the oldest goes first', () => {
    const { clock, factory, tab } = setup()
    const a = tab('a')
    acceptSocket(factory.last())
    for (let id = 1; id <= 21; id += 1) {
      factory.last().receive({ ...invite(id), expires_at: new Date(clock.now() + 1_000).toISOString() })
      clock.advance(1_000)
    }
    expect(a.of('missed').at(-1)?.missed.map((call) => call.callLogId)).toEqual(Array.from({ length: 20 }, (_, index) => index + 2))
  })

  it('dismissing one missed call keeps the others; an unknown one changes nothing', () => {
    const { hub, clock, factory, tab } = setup()
    const a = tab('a')
    acceptSocket(factory.last())
    for (const id of [1, 2]) factory.last().receive({ ...invite(id), expires_at: new Date(clock.now() + 1_000).toISOString() })
    clock.advance(1_000)
    const events = a.of('missed').length
    hub.dismissMissed('a', 5)
    expect(a.of('missed')).toHaveLength(events)
    hub.dismissMissed('a', 1)
    expect(a.of('missed').at(-1)?.missed.map((call) => call.callLogId)).toEqual([2])
  })
})

describe('the hub as its host sees it', () => {
  it('counts tabs, sessions and ringing calls, knows its tabs, lists its sessions, and resends a snapshot on request', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    tab('b')
    acceptSocket(factory.last())
    factory.last().receive(invite(1))
    factory.last().receive(invite(2))
    expect(hub.counters()).toEqual({ tabs: 2, sessions: 1, ringing: 2 })
    expect([hub.knows('a'), hub.knows('z')]).toEqual([true, false])
    expect(hub.sessionKeys()).toEqual(['Tutor:1'])
    const snapshots = a.of('snapshot').length
    hub.resync('a')
    hub.resync('z')
    expect(a.of('snapshot')).toHaveLength(snapshots + 1)
    expect(a.of('snapshot').at(-1)?.calls.map((call) => call.callLogId)).toEqual([1, 2])
  })

  it('a tab attaching with the same token while the socket waits to reconnect does not cut the wait short', () => {
    const { factory, tab } = setup()
    tab('a')
    acceptSocket(factory.last())
    factory.last().drop()
    tab('b')
    expect(factory.sockets).toHaveLength(1)
  })

  it('a tab attaching offline takes the hub offline', () => {
    const { hub, factory, tab } = setup()
    const a = tab('a')
    acceptSocket(factory.last())
    hub.attach({ id: 'b', push: () => {} }, {
      tabId: 'b', identity: alice, online: false, presence: { visible: true, focused: false }, settings: {},
      interests: { messages: false, debug: false, recover: false }, calls: [], sessions: [],
    })
    expect(a.of('status').at(-1)?.status.type).toBe('offline')
  })
})
