/**
 * Hosts sharing one socket per profile: the owner holds the profile's Web Lock, the others relay through it
 * over BroadcastChannel (Node's own, real), and a host waiting for the lock takes over when the owner dies.
 * Locks are an in-memory fake that can kill an owner as a browser would; time is a fake clock.
 */
import { describe, expect, it } from 'vitest'
import { HANDOVER_AFTER, OWNER_PING_INTERVAL, OWNER_SILENCE, createHost } from '../../core/host'
import { createFakeClock, socketFactory } from './fakes'
import { accept, alice, aliceParent, invite, until, world } from './host-world'

describe('one owner per profile socket', () => {
  it('two hosts with tabs of one profile hold one socket; a call rings in the tabs of both', async () => {
    const { startHost, openTab, openSockets } = world()
    const a = startHost('host-a')
    const b = startHost('host-b')
    const first = await openTab(a.host, 'tab-1')
    const second = await openTab(b.host, 'tab-2')
    expect(a.sockets.sockets).toHaveLength(1)
    expect(b.sockets.sockets).toHaveLength(0)
    accept(a.sockets.last())
    expect(openSockets()).toHaveLength(1)
    await until(() => second.status()?.type === 'open', 'the relayed tab to hear the status')
    expect(second.status()).toMatchObject({ type: 'open', tabs: 2 })
    a.sockets.last().receive(invite(1))
    await until(() => second.calls().length === 1, 'the call to reach the relayed tab')
    expect(first.calls()).toEqual(['1'])
    expect(b.host.counters()).toMatchObject({ relayed: 1, owned: 0 })
  })

  it("a relayed tab's Accept reaches the owner's socket once, and settles the call in every tab", async () => {
    const { startHost, openTab } = world()
    const a = startHost('host-a')
    const b = startHost('host-b')
    const first = await openTab(a.host, 'tab-1')
    const second = await openTab(b.host, 'tab-2')
    const socket = a.sockets.last()
    accept(socket)
    socket.receive(invite(7))
    await until(() => second.calls().length === 1)
    const answer = second.api.accept(7)
    await until(() => socket.frames().some((frame) => frame.type === 'call_accepted'), 'the accept to reach the owner')
    socket.receive({ type: 'ack', of: 'call_accepted', call_log_id: 7 })
    expect(await answer).toMatchObject({ ok: true, value: { callLogId: 7 } })
    await until(() => first.settled().length === 1 && second.settled().length === 1)
    expect(first.settled()).toMatchObject([{ reason: 'accepted', here: false }])
    expect(second.settled()).toMatchObject([{ reason: 'accepted', here: true }])
  })

  it('when the owner dies, the waiting host takes over with the ringing calls: nothing ends, nothing rings twice', async () => {
    const { startHost, openTab, kill, openSockets } = world()
    const a = startHost('host-a')
    const b = startHost('host-b')
    await openTab(a.host, 'tab-1')
    const survivor = await openTab(b.host, 'tab-2')
    accept(a.sockets.last())
    a.sockets.last().receive(invite(3))
    await until(() => survivor.calls().length === 1)
    const invitationsBefore = survivor.events.filter((event) => event.type === 'invitation').length
    kill(a)
    a.sockets.last().drop()
    await until(() => b.sockets.sockets.length === 1, 'the survivor to open a socket')
    const socket = b.sockets.last()
    socket.open()
    socket.receive(invite(3))
    socket.receive({ type: 'ack', of: 'auth' })
    await until(() => survivor.status()?.type === 'open')
    expect(survivor.calls()).toEqual(['3'])
    expect(survivor.settled()).toEqual([])
    expect(survivor.events.filter((event) => event.type === 'invitation')).toHaveLength(invitationsBefore)
    expect(openSockets()).toHaveLength(1)
  })

  it('a call the backend did not re-send to the new owner has ended while nobody owned the socket', async () => {
    const { startHost, openTab, kill } = world()
    const a = startHost('host-a')
    const b = startHost('host-b')
    await openTab(a.host, 'tab-1')
    const survivor = await openTab(b.host, 'tab-2')
    accept(a.sockets.last())
    a.sockets.last().receive(invite(3))
    await until(() => survivor.calls().length === 1)
    kill(a)
    await until(() => b.sockets.sockets.length === 1)
    accept(b.sockets.last())
    await until(() => survivor.settled().length === 1)
    expect(survivor.settled()).toMatchObject([{ callLogId: 3, reason: 'ended' }])
  })

  it(`an owner whose own tabs are gone hands the socket to a host that has some, ${HANDOVER_AFTER} ms later`, async () => {
    const { tick, startHost, openTab, openSockets } = world()
    const older = startHost('older')
    const newer = startHost('newer')
    const oldTab = await openTab(older.host, 'old-tab')
    const newTab = await openTab(newer.host, 'new-tab')
    accept(older.sockets.last())
    older.sockets.last().receive(invite(9))
    await until(() => newTab.calls().length === 1)
    await oldTab.api.detach()
    await tick(HANDOVER_AFTER - 50)
    expect(older.sockets.last().closedWith).toBeNull()
    expect(newer.sockets.sockets).toHaveLength(0)
    await tick(50)
    expect(older.sockets.last().closedWith).not.toBeNull()
    await until(() => newer.sockets.sockets.length === 1, 'the newer host to take the socket')
    const socket = newer.sockets.last()
    socket.open()
    socket.receive(invite(9))
    socket.receive({ type: 'ack', of: 'auth' })
    await until(() => newTab.status()?.type === 'open')
    expect(newTab.calls()).toEqual(['9'])
    expect(newTab.settled()).toEqual([])
    expect(openSockets()).toHaveLength(1)
  })

  it(`a follower takes the socket over from an owner that stops answering (frozen) after ${OWNER_SILENCE} ms, and the owner lets it go`, async () => {
    const { tick, startHost, openTab, freeze } = world()
    const frozen = startHost('frozen')
    const other = startHost('other')
    await openTab(frozen.host, 'tab-1')
    const survivor = await openTab(other.host, 'tab-2')
    accept(frozen.sockets.last())
    frozen.sockets.last().receive(invite(4))
    await until(() => survivor.calls().length === 1)
    // An owner that answers keeps the socket, however long it holds it.
    await tick(OWNER_SILENCE * 4)
    expect(other.sockets.sockets).toHaveLength(0)
    freeze(frozen)
    await tick(OWNER_SILENCE + OWNER_PING_INTERVAL * 2)
    await until(() => other.sockets.sockets.length === 1, 'the follower to take the socket over')
    // The stolen owner closes its socket as soon as it learns it (when it thaws, in a browser).
    await until(() => frozen.sockets.last().closedWith !== null, 'the frozen owner to close its socket')
    const socket = other.sockets.last()
    socket.open()
    socket.receive(invite(4))
    socket.receive({ type: 'ack', of: 'auth' })
    await until(() => survivor.status()?.type === 'open')
    expect(survivor.calls()).toEqual(['4'])
    expect(survivor.settled()).toEqual([])
  })

  it('a host that meets a newer protocol version gives way: its tabs are told to reload, and the newer host owns the socket', async () => {
    const { startHost, openTab } = world()
    const older = startHost('older', 1)
    const oldTab = await openTab(older.host, 'old-tab')
    accept(older.sockets.last())
    const newer = startHost('newer', 2)
    await openTab(newer.host, 'new-tab')
    await until(() => oldTab.status()?.type === 'closed', 'the older host to give way')
    expect(oldTab.status()).toMatchObject({ type: 'closed', reason: expect.stringContaining('reload this page') })
    expect(older.sockets.last().closedWith).not.toBeNull()
    await until(() => newer.sockets.sockets.length === 1, 'the newer host to own the socket')
  })

  it("a sign-out in a relayed tab closes the owner's socket and signs every tab out", async () => {
    const { startHost, openTab } = world()
    const a = startHost('host-a')
    const b = startHost('host-b')
    const first = await openTab(a.host, 'tab-1')
    const second = await openTab(b.host, 'tab-2')
    accept(a.sockets.last())
    expect(await second.api.identify({ type: 'signed-out' })).toMatchObject({ ok: true })
    expect(a.sockets.last().closedWith).not.toBeNull()
    await until(() => first.status()?.type === 'signed-out')
    expect(second.status()?.type).toBe('signed-out')
  })

  it("a relayed tab that switches role leaves the owner's profile and owns its new one", async () => {
    const { startHost, openTab } = world()
    const a = startHost('host-a')
    const b = startHost('host-b')
    await openTab(a.host, 'tab-1')
    const second = await openTab(b.host, 'tab-2')
    accept(a.sockets.last())
    await until(() => second.status()?.type === 'open')
    expect(await second.api.identify(aliceParent)).toMatchObject({ ok: true })
    expect(b.sockets.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Parent'])
    expect(second.status()).toMatchObject({ profileKey: 'Parent:1' })
    await until(() => a.host.counters().tabs === 1, 'the owner to let the tab go')
  })

  it('without Web Locks or BroadcastChannel every host owns its own socket', async () => {
    const clock = createFakeClock()
    const factories = [socketFactory(), socketFactory()]
    const hosts = factories.map((sockets, index) =>
      createHost({ hostId: `h${index}`, createSocket: sockets.createSocket, clock, random: () => 0, log: () => {}, locks: null, channel: null }))
    for (const [index, host] of hosts.entries()) {
      const outcome = await host.connectTab().attach({
        tabId: `t${index}`, identity: alice, online: true, presence: { visible: true, focused: false }, settings: {},
        interests: { messages: false, debug: false, recover: false }, calls: [], sessions: [],
      }, { deliver: async () => {}, release: () => {}, recover: async () => [] })
      expect(outcome.ok).toBe(true)
    }
    expect(factories.map((sockets) => sockets.sockets.length)).toEqual([1, 1])
  })
})
