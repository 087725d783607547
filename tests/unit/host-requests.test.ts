/**
 * Every request a tab makes reaches the hub that owns its profile's socket, whether the tab is attached to
 * that host (local) or to another one that relays it over BroadcastChannel (relayed), with the same answer.
 */
import { describe, expect, it } from 'vitest'
import type { HubEvent } from '../../protocol/port'
import { HANDOVER_AFTER } from '../../core/host'
import { accept, aliceAgain, aliceParent, attachRequest, holdTabLock, invite, quietLink, recordingLink, until, world } from './host-world'

const last = <T extends HubEvent['type']>(events: HubEvent[], type: T) =>
  events.filter((event): event is Extract<HubEvent, { type: T }> => event.type === type).at(-1)

describe.each(['local', 'relayed'] as const)('a %s tab', (where) => {
  async function attachedTab() {
    const world$ = world()
    const owner = world$.startHost('owner')
    const other = world$.startHost('other')
    const first = await world$.openTab(owner.host, 'tab-1', undefined, { visible: false, focused: false })
    const tab = where === 'local' ? first : await world$.openTab(other.host, 'tab-2', undefined, { visible: false, focused: false })
    const socket = owner.sockets.last()
    accept(socket)
    await until(() => tab.status()?.type === 'open', 'the tab to hear the socket is open')
    return { ...world$, owner, other, first, tab, socket }
  }

  it('writes a frame, hears messages once it asks, and sees its debug log and a settings change', async () => {
    const { tab, socket } = await attachedTab()
    expect(await tab.api.send('{"type":"chat_message"}')).toEqual({ ok: true, value: undefined })
    expect(socket.sent.at(-1)).toBe('{"type":"chat_message"}')
    expect(await tab.api.setInterests({ messages: true, debug: true, recover: false })).toMatchObject({ ok: true })
    socket.receive({ type: 'chat_message', text: 'hi' })
    await until(() => last(tab.events, 'message') !== undefined, 'the message')
    expect(await tab.api.configure({ linger: 60_000 })).toMatchObject({ ok: true })
    await until(() => tab.events.some((event) => event.type === 'log' && event.line.includes('settings changed')), 'the log line')
  })

  it('holds a call it placed: its frames come here, it writes frames of it, and hangs it up', async () => {
    const { tab, socket } = await attachedTab()
    expect(await tab.api.track(77)).toMatchObject({ ok: true })
    socket.receive({ type: 'call_answer', call_log_id: 77 })
    await until(() => last(tab.events, 'call-frame') !== undefined, 'the frame of the call')
    expect(await tab.api.sessionSend(77, '{"type":"ice"}')).toMatchObject({ ok: true })
    expect(socket.frames().at(-1)).toEqual({ type: 'ice', call_log_id: 77 })
    expect(await tab.api.hangup(77, 'bye')).toMatchObject({ ok: true })
    expect(socket.frames().at(-1)).toEqual({ type: 'call_ended', call_log_id: 77, reason: 'bye' })
  })

  it('declines a call, and its Accept of another is answered by the ack', async () => {
    const { tab, socket } = await attachedTab()
    socket.receive(invite(5))
    socket.receive(invite(6))
    await until(() => tab.calls().length === 2, 'the calls')
    const declined = tab.api.decline(5)
    await until(() => socket.frames().some((frame) => frame.type === 'call_declined'), 'the decline')
    socket.receive({ type: 'ack', of: 'call_declined', call_log_id: 5 })
    expect(await declined).toMatchObject({ ok: true })
    const accepted = tab.api.accept(6)
    await until(() => socket.frames().some((frame) => frame.type === 'call_accepted'), 'the accept')
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 6 })
    expect(await accepted).toMatchObject({ ok: true, value: { callLogId: 6 } })
  })

  it('dismisses a missed call, and rings once it is the focused tab', async () => {
    const { tab, socket, clock, tick } = await attachedTab()
    socket.receive({ ...invite(8), expires_at: new Date(clock.now() + 1_000).toISOString() })
    await until(() => tab.calls().length === 1, 'the call')
    // In steps: a follower that hears nothing from the owner for 750 ms takes the socket over.
    await tick(1_000)
    await until(() => last(tab.events, 'missed')?.missed.length === 1, 'the missed call')
    expect(await tab.api.dismissMissed(8)).toMatchObject({ ok: true })
    await until(() => last(tab.events, 'missed')?.missed.length === 0, 'the dismissal')
    socket.receive(invite(9))
    await until(() => tab.calls().length === 1, 'the next call')
    expect(await tab.api.setPresence({ visible: true, focused: true })).toMatchObject({ ok: true })
    await until(() => tab.ringer(), 'the ringing to move here')
  })

  it('going offline closes the socket; back online, it connects again', async () => {
    const { tab, owner } = await attachedTab()
    expect(await tab.api.setOnline(false)).toMatchObject({ ok: true })
    expect(owner.sockets.last().closedWith).toMatchObject({ reason: 'offline' })
    await until(() => tab.status()?.type === 'offline', 'offline in the status')
    expect(await tab.api.setOnline(true)).toMatchObject({ ok: true })
    expect(owner.sockets.sockets).toHaveLength(2)
  })

  it('detaches: the profile counts one tab fewer, and the host no longer knows it', async () => {
    const { tab, first, owner, other } = await attachedTab()
    if (where === 'local') {
      const { host } = owner
      expect(await tab.api.detach()).toMatchObject({ ok: true })
      expect(host.counters().tabs).toBe(0)
    } else {
      expect(await tab.api.detach()).toMatchObject({ ok: true })
      await until(() => first.status()?.tabs === 1, 'the owner to count one tab')
      expect(other.host.counters()).toMatchObject({ relayed: 0 })
    }
    expect(await tab.api.ping()).toMatchObject({ ok: true, value: { attached: false } })
    expect(await tab.api.send('{"type":"x"}')).toMatchObject({ ok: false, error: { name: 'TabNotAttachedError' } })
  })
})

describe('a host', () => {
  it('counts what it owns and relays', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    expect(owner.host.counters()).toMatchObject({ tabs: 2, sessions: 1, owned: 1, relayed: 0 })
    expect(other.host.counters()).toMatchObject({ tabs: 0, sessions: 0, owned: 0, relayed: 1 })
  })

  it('that is suspended (a tab host about to freeze) hands its socket to another host at once, calls and all', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    await openTab(owner.host, 'tab-1')
    const survivor = await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    owner.sockets.last().receive(invite(3))
    await until(() => survivor.calls().length === 1, 'the call')
    owner.host.suspend()
    expect(owner.sockets.last().closedWith).not.toBeNull()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
    expect(survivor.calls()).toEqual(['3'])
    expect(survivor.settled()).toEqual([])
  })

  it('whose own tabs are gone, with no other host to hand the socket to, keeps it for the linger (3 s)', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const tab = await openTab(owner.host, 'tab-1')
    accept(owner.sockets.last())
    await tab.api.detach()
    await tick(HANDOVER_AFTER - 100)
    expect(owner.sockets.last().closedWith).toBeNull()
    await tick(200)
    expect(owner.sockets.last().closedWith).not.toBeNull()
  })
})

describe('the calls a tab holds, when its profile changes hands', () => {
  type World = ReturnType<typeof world>
  type Entry = ReturnType<World['startHost']>

  /** The owner dies, and its tab `tab-1` with it: `next` takes the socket over, and the backend accepts it. */
  async function ownerDiesWithItsTab(world$: World, owner: Entry, next: Entry) {
    world$.kill(owner)
    world$.locks.kill('tab-1')
    await until(() => next.sockets.sockets.length === 1, 'the next owner to open a socket')
    accept(next.sockets.last())
  }

  /** A tab of `next` relayed to `owner`, holding call 77, the socket open; `handOver` kills the owner. */
  async function holding() {
    const world$ = world()
    const owner = world$.startHost('owner')
    const next = world$.startHost('next')
    await world$.openTab(owner.host, 'tab-1')
    const tab = await world$.openTab(next.host, 'tab-2')
    const socket = owner.sockets.last()
    accept(socket)
    expect(await tab.api.track(77)).toMatchObject({ ok: true })
    const handOver = async () => {
      await ownerDiesWithItsTab(world$, owner, next)
      await until(() => tab.status()?.type === 'open', 'the tab to hear the socket is open')
    }
    return { ...world$, socket, tab, next, handOver }
  }

  it('a call it holds, and that heard a frame, stays its own at the next owner, across a new token', async () => {
    const { socket, tab, handOver } = await holding()
    socket.receive({ type: 'call_answer', call_log_id: 77 })
    await until(() => last(tab.events, 'call-frame') !== undefined, 'the frame of the call')
    expect(await tab.api.identify(aliceAgain)).toMatchObject({ ok: true })
    await handOver()
    expect(tab.status()).toMatchObject({ inCall: [{ callLogId: 77, here: true }] })
  })

  it('a call it accepted stays its own at the next owner', async () => {
    const { socket, tab, handOver } = await holding()
    socket.receive(invite(6))
    await until(() => tab.calls().length === 1, 'the call')
    const accepted = tab.api.accept(6)
    await until(() => socket.frames().some((frame) => frame.type === 'call_accepted'), 'the accept')
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 6 })
    expect(await accepted).toMatchObject({ ok: true })
    await handOver()
    expect(tab.status()).toMatchObject({ inCall: [{ callLogId: 77, here: true }, { callLogId: 6, here: true }] })
  })

  it('a call that ended while its tab was slow to take events is not given back to it at the next owner', async () => {
    const world$ = world()
    const owner = world$.startHost('owner')
    const other = world$.startHost('other')
    // The owner's own tab stops taking events (a busy page) once it holds the call.
    let stalled = false
    holdTabLock(world$.locks, 'tab-1')
    const slow = owner.host.connectTab()
    await slow.attach(attachRequest('tab-1'), { ...quietLink, deliver: () => (stalled ? new Promise(() => {}) : Promise.resolve()) })
    const watching = await world$.openTab(other.host, 'tab-2')
    const socket = owner.sockets.last()
    accept(socket)
    expect(await slow.track(77)).toMatchObject({ ok: true })
    await until(() => watching.status()?.inCall?.length === 1, 'the call in progress')
    stalled = true
    // An invitation's delivery hangs: what follows waits behind it.
    socket.receive(invite(5))
    await until(() => watching.calls().length === 1, 'the invitation to go out')
    socket.receive({ type: 'call_ended', call_log_id: 77, reason: 'hangup' })
    await until(() => watching.status()?.inCall === undefined, 'the end of the call')
    owner.host.suspend()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket over')
    accept(other.sockets.last())
    await until(() => watching.status()?.type === 'open' && watching.status()?.tabs === 2, 'the slow tab to follow')
    expect(watching.status()).not.toHaveProperty('inCall')
  })

  it("another tab's call, which it saw in its status, is not given to it at the next owner", async () => {
    const world$ = world()
    const owner = world$.startHost('owner')
    const next = world$.startHost('next')
    const holder = await world$.openTab(owner.host, 'tab-1')
    const watching = await world$.openTab(next.host, 'tab-2')
    accept(owner.sockets.last())
    expect(await holder.api.track(77)).toMatchObject({ ok: true })
    await until(() => watching.status()?.inCall?.length === 1, 'the call in progress')
    await ownerDiesWithItsTab(world$, owner, next)
    await until(() => watching.status()?.type === 'open', 'the tab to hear the socket is open')
    expect(watching.status()).not.toHaveProperty('inCall')
  })

  it('a call it said it held as it attached, but another tab holds, is not given to it at the next owner', async () => {
    const world$ = world()
    const owner = world$.startHost('owner')
    const next = world$.startHost('next')
    const holder = await world$.openTab(owner.host, 'tab-1')
    accept(owner.sockets.last())
    expect(await holder.api.track(77)).toMatchObject({ ok: true })
    holdTabLock(world$.locks, 'tab-2')
    const { link, events } = recordingLink()
    expect(await next.host.connectTab().attach({ ...attachRequest('tab-2'), sessions: [77] }, link)).toMatchObject({ ok: true })
    await until(() => events.some((event) => event.type === 'snapshot'), 'the snapshot')
    expect(events.find((event) => event.type === 'snapshot')).toMatchObject({ status: { inCall: [{ callLogId: 77, here: false }] } })
    await ownerDiesWithItsTab(world$, owner, next)
    await until(() => events.filter((event) => event.type === 'status').at(-1)?.status.type === 'open', 'the tab to hear the socket is open')
    expect(events.filter((event) => event.type === 'status' || event.type === 'snapshot').at(-1)?.status).not.toHaveProperty('inCall')
  })

  it('a call it hung up is not its own again at the next owner', async () => {
    const { tab, handOver } = await holding()
    expect(await tab.api.hangup(77, 'bye')).toMatchObject({ ok: true })
    await until(() => last(tab.events, 'call-ended') !== undefined, 'the end of the call')
    await handOver()
    expect(tab.status()).not.toHaveProperty('inCall')
  })

  it('a call it held before another tab signed the profile out is not its own again when it signs in', async () => {
    const world$ = world()
    const host = world$.startHost('host')
    const leaving = await world$.openTab(host.host, 'tab-1')
    const staying = await world$.openTab(host.host, 'tab-2')
    accept(host.sockets.last())
    expect(await staying.api.track(77)).toMatchObject({ ok: true })
    expect(await leaving.api.identify({ type: 'signed-out' })).toMatchObject({ ok: true })
    await until(() => staying.status()?.type === 'signed-out', 'the other tab to be signed out')
    expect(await staying.api.identify(aliceAgain)).toMatchObject({ ok: true })
    await until(() => host.sockets.sockets.length === 2, 'the socket to open again')
    expect(staying.status()).not.toHaveProperty('inCall')
  })

  it('a call it held on a profile it left stays with that profile', async () => {
    const { tab } = await holding()
    expect(await tab.api.identify(aliceParent)).toMatchObject({ ok: true })
    await until(() => tab.status()?.profileKey === 'Parent:1', 'the tab to move')
    expect(tab.status()).not.toHaveProperty('inCall')
  })
})
