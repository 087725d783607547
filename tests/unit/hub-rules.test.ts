/**
 * More of the hub's rules over a fake socket and clock: the page's reconnect hook, answers that the
 * connection or the session ends before the backend confirms them, acks that answer nothing pending, who
 * hears about the ringer, calls in progress at sign-out, and the debug log.
 */
import { describe, expect, it } from 'vitest'
import { CallNotRingingError, HubNotConnectedError } from '../../protocol/errors'
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
  debug?: boolean
  backend?: AttachRequest['settings']['backend']
}

function setup() {
  const clock = createFakeClock()
  const factory = socketFactory()
  const hub = createHub({ createSocket: factory.createSocket, clock, random: () => 0.999_999, log: () => {} })

  function tab(id: string, options: TabOptions = {}) {
    const events: HubEvent[] = []
    const handle: TabHandle = { id, push: (event) => events.push(event), ...(options.recover ? { recover: options.recover } : {}) }
    hub.attach(handle, {
      tabId: id, identity: alice, online: true, presence: options.presence ?? { visible: true, focused: false },
      settings: options.backend ? { backend: options.backend } : {},
      interests: { messages: false, debug: options.debug ?? false, recover: options.recover !== undefined }, calls: [], sessions: [],
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
  return { hub, clock, factory, tab, reconnect }
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
      const { factory, tab, reconnect } = setup()
      const a = tab('a', { recover })
      acceptSocket(factory.last())
      await flush()
      factory.last().receive(invite(1))
      reconnect()
      await flush()
      expect(a.ringing()).toEqual(['1'])
      expect(a.settled()).toEqual([])
    }
  })

  it('a hook that does not answer within the pong timeout ends nothing, and its late answer is ignored', async () => {
    const { clock, factory, tab, reconnect } = setup()
    let answer: (calls: unknown[]) => void = () => {}
    let calls = 0
    const a = tab('a', {
      recover: () => {
        calls += 1
        return calls === 1 ? Promise.resolve([]) : new Promise<unknown[]>((resolve) => (answer = resolve))
      },
    })
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
    let answer: (calls: unknown[]) => void = () => {}
    let calls = 0
    const a = tab('a', {
      recover: () => {
        calls += 1
        return calls === 1 ? Promise.resolve([]) : new Promise<unknown[]>((resolve) => (answer = resolve))
      },
    })
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
    const { hub, factory, tab } = setup()
    const a = tab('a')
    const socket = factory.last()
    acceptSocket(socket)
    socket.receive(invite(7))
    const answered = hub.accept('a', 7)
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
    await answered
    hub.identify('a', { type: 'signed-out' })
    expect(socket.frames()).toContainEqual({ type: 'call_ended', call_log_id: 7, reason: 'signed_out' })
    expect(a.of('call-ended')).toEqual([{ type: 'call-ended', callLogId: 7, reason: 'signed_out' }])
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
