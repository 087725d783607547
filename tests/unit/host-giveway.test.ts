/**
 * How a host lets go: of a profile's session when it closes, of the lock it waits for when none of its tabs
 * relays the profile any more, of a socket it hands to another host, and of everything when it meets a newer
 * version of the host protocol and gives way.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { hostChannel, ownerLock } from '../../protocol/hosts'
import { HANDOVER_AFTER, RELAY_TIMEOUT } from '../../core/host'
import { OUTBOX_WAIT } from '../../core/limits'
import { channelScope } from './fakes'
import type { FakeSocket } from './fakes'
import { accept, aliceParent, attachRequest, invite, until, world } from './host-world'

const key = 'Tutor:1'

/** A host of a newer version says something to host `to`: it makes that host give way. */
function newerHostWrites(to: string): void {
  const channels = channelScope()
  onTestFinished(channels.closeAll)
  channels.open(hostChannel(to)).postMessage({ v: 2, from: 'newer', type: 'reply', rid: 0, outcome: { ok: true, value: null } })
}

describe('an owner whose session of a profile closes', () => {
  it('and that owns the profile again later is not made to hand it over by the delay it had started before', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const own = await openTab(owner.host, 'tab-1')
    const relayed = await openTab(other.host, 'tab-2')
    // A linger shorter than the handover delay: the session closes while the handover is still due.
    expect(await own.api.configure({ linger: HANDOVER_AFTER / 3 })).toMatchObject({ ok: true })
    await own.api.detach()
    expect(await relayed.api.detach()).toMatchObject({ ok: true })
    await until(() => owner.host.counters().tabs === 0, 'the owner to let the relayed tab go')
    await tick(HANDOVER_AFTER / 3 + 100)
    expect(owner.host.counters()).toMatchObject({ owned: 0, sessions: 0 })
    // Owned again, by a tab of its own, and relayed to by another host.
    await openTab(owner.host, 'tab-3')
    await openTab(other.host, 'tab-4')
    const socket = owner.sockets.last()
    accept(socket)
    expect(owner.host.counters()).toMatchObject({ owned: 1, tabs: 2 })
    await tick(HANDOVER_AFTER)
    expect(socket.closedWith).toBeNull()
    expect(other.sockets.sockets).toHaveLength(0)
  })
})

describe('an owner whose last own tab of a profile goes', () => {
  it('as another tab of it attaches, and is found gone before it is placed, hands the socket over', async () => {
    const { startHost, openTab, locks, tick } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    // In one turn: a page that closed as it attached (its lock is free already), and the owner's own tab dies.
    const attaching = owner.host.connectTab().attach(attachRequest('tab-3'), { deliver: async () => {}, release: () => {}, recover: async () => [] })
    locks.kill('tab-1')
    expect(await attaching).toMatchObject({ ok: true })
    expect(owner.host.counters().tabs).toBe(1)
    await tick(HANDOVER_AFTER + 100)
    expect(owner.sockets.last().closedWith).not.toBeNull()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
  })

  it('to another profile hands that socket over to the host whose tab still uses it', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const moving = await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    const socket = owner.sockets.last()
    accept(socket)
    expect(await moving.api.identify(aliceParent)).toMatchObject({ ok: true })
    await tick(HANDOVER_AFTER + 100)
    expect(socket.closedWith).not.toBeNull()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
    expect(owner.host.counters()).toMatchObject({ owned: 1 })
  })
})

describe('a follower', () => {
  it('whose only tab leaves stops waiting for the socket: when the owner dies it takes nothing over', async () => {
    const { startHost, openTab, kill, locks, tick } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    expect(await relayed.api.detach()).toMatchObject({ ok: true })
    await until(() => owner.host.counters().tabs === 1, 'the owner to let the tab go')
    await tick(100)
    kill(owner)
    locks.kill('tab-1')
    await tick(500)
    expect(locks.holder(ownerLock(key))).toBeNull()
    expect(follower.host.counters()).toMatchObject({ owned: 0, relayed: 0 })
  })

  it('whose two relayed tabs leave the profile at once lets both go, and the one that moved owns its new profile', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const leaving = await openTab(follower.host, 'tab-2')
    const moving = await openTab(follower.host, 'tab-3')
    // Both detaches are on their way to the owner before either answer is back.
    expect(await leaving.api.detach()).toMatchObject({ ok: true })
    expect(await moving.api.identify(aliceParent)).toMatchObject({ ok: true })
    expect(follower.sockets.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Parent'])
    await until(() => moving.status()?.profileKey === 'Parent:1', 'the tab to hear its new profile')
    await until(() => owner.host.counters().tabs === 1, 'the owner to let both tabs go')
  })
})

describe('a request made as its host hands the socket over', () => {
  it("finds its tab between hosts, and is told to try again", async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const own = await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    // In one turn, as a tab host's own page may: the request, then the suspend.
    const sent = own.api.send('{"type":"chat"}')
    owner.host.suspend()
    expect(await sent).toMatchObject({ ok: false, error: { name: 'TabNotAttachedError', message: expect.stringContaining('between hosts: try again') } })
  })
})

describe('an owner handing a socket over', () => {
  /** An owner of both of alice's profiles, with a tab of its own on each, and another host. */
  async function ownerOfBoth() {
    const world$ = world()
    const owner = world$.startHost('owner')
    const other = world$.startHost('other')
    const own = await world$.openTab(owner.host, 'tab-1')
    await world$.openTab(owner.host, 'tab-1p', aliceParent)
    const [socket, parentSocket] = owner.sockets.sockets as [FakeSocket, FakeSocket]
    return { ...world$, owner, other, own, socket, parentSocket }
  }

  it('hands it over even while a tab of its own uses another profile', async () => {
    const { other, own, socket, parentSocket, openTab, tick } = await ownerOfBoth()
    await openTab(other.host, 'tab-2')
    await own.api.detach()
    await tick(HANDOVER_AFTER + 100)
    expect(socket.closedWith).not.toBeNull()
    expect(parentSocket.closedWith).toBeNull()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
  })

  it("keeps it for the linger when only another profile's tabs are relayed to it: no host could take this one", async () => {
    const { owner, other, own, socket, openTab, tick } = await ownerOfBoth()
    await openTab(other.host, 'tab-2p', aliceParent)
    // A linger longer than the handover delay: only a handover would close the socket within it.
    expect(await own.api.configure({ linger: 60_000 })).toMatchObject({ ok: true })
    await own.api.detach()
    await tick(HANDOVER_AFTER + 100)
    expect(socket.closedWith).toBeNull()
    expect(owner.host.counters()).toMatchObject({ owned: 2 })
  })

  it('hands it over when its last own tab of it moves to its other profile', async () => {
    const { other, own, socket, parentSocket, openTab, tick } = await ownerOfBoth()
    await openTab(other.host, 'tab-2')
    expect(await own.api.identify(aliceParent)).toMatchObject({ ok: true })
    await tick(HANDOVER_AFTER + 100)
    expect(socket.closedWith).not.toBeNull()
    expect(parentSocket.closedWith).toBeNull()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
  })

  it('keeps serving the tabs relayed to it for its other profile', async () => {
    const { other, own, parentSocket, openTab, tick } = await ownerOfBoth()
    await openTab(other.host, 'tab-2')
    const parentRelayed = await openTab(other.host, 'tab-2p', aliceParent)
    accept(parentSocket)
    await own.api.detach()
    await tick(HANDOVER_AFTER + 100)
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
    expect(await parentRelayed.api.send('{"type":"chat"}')).toEqual({ ok: true, value: undefined })
    parentSocket.receive(invite(5))
    await until(() => parentRelayed.calls().length === 1, 'the call to reach the relayed tab')
  })

  it('stops watching the tabs it served for the host that takes it over', async () => {
    const { startHost, openTab, locks } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    expect(locks.waiting('callhub:tab:tab-2')).toEqual(['other', 'owner'])
    owner.host.suspend()
    expect(locks.waiting('callhub:tab:tab-2')).toEqual(['other'])
  })
})

describe('an owner that gives way', () => {
  it('tells each of its tabs once to reload, and lets the lock go for the next owner', async () => {
    const { startHost, openTab, locks, tick } = world()
    const owner = startHost('owner')
    const tabs = [await openTab(owner.host, 'tab-1'), await openTab(owner.host, 'tab-2')]
    accept(owner.sockets.last())
    newerHostWrites('owner')
    await until(() => tabs.every((tab) => tab.status()?.type === 'closed'), 'the owner to give way')
    await tick(100)
    for (const tab of tabs) {
      const told = tab.events.filter((event) => event.type === 'status' && event.status.type === 'closed')
      expect(told).toEqual([{ type: 'status', status: expect.objectContaining({ reason: expect.stringContaining('reload this page') }) }])
    }
    expect(locks.holder(ownerLock(key))).toBe(null)
    expect(owner.sockets.last().closedWith).not.toBeNull()
  })
})

describe('a follower that gives way', () => {
  it('tells its relayed tabs to reload, and fails their requests with HubWorkerLostError', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    newerHostWrites('follower')
    await until(() => relayed.status()?.type === 'closed', 'the follower to give way')
    expect(relayed.status()).toMatchObject({ reason: expect.stringContaining('reload this page'), profileKey: key, tabs: 0 })
    expect(await relayed.api.send('{"type":"chat"}')).toMatchObject({
      ok: false, error: { name: 'HubWorkerLostError', message: expect.stringContaining('reload this page') },
    })
    expect(follower.host.counters()).toMatchObject({ relayed: 0, owned: 0 })
  })

  it("stops waiting for the owner's lock: it will never own the socket", async () => {
    const { startHost, openTab, locks } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    expect(locks.waiting(ownerLock(key))).toEqual(['follower'])
    newerHostWrites('follower')
    await until(() => relayed.status()?.type === 'closed', 'the follower to give way')
    expect(locks.waiting(ownerLock(key))).toEqual([])
  })

  it('hears no more from the owner: a request it relayed before fails once the relay times out', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    // The socket is not open yet: the owner answers the send once the frame is written.
    let outcome: unknown
    void relayed.api.send('{"type":"chat"}').then((answer) => (outcome = answer))
    newerHostWrites('follower')
    await until(() => relayed.status()?.type === 'closed', 'the follower to give way')
    const socket = owner.sockets.last()
    accept(socket)
    await until(() => socket.sent.includes('{"type":"chat"}'), 'the owner to write the frame')
    await tick(RELAY_TIMEOUT + OUTBOX_WAIT + 100)
    expect(outcome).toMatchObject({ ok: false, error: { name: 'HubTimeoutError' } })
  })
})
