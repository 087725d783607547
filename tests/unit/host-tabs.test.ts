/**
 * A host's tabs, its own and other hosts' it serves: what an attach answers when its tab is gone before it is
 * placed, what a request answers when its tab has no route, how often a relayed attach is tried again, what
 * a relayed tab that fell behind at its own host is sent, which tabs' Web Locks a host waits for, and what it
 * counts as waiting to be delivered.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import type { HubEvent } from '../../protocol/port'
import { announceChannel } from '../../protocol/hosts'
import { RELAY_TIMEOUT, createHost } from '../../core/host'
import type { Locks, TabLink } from '../../core/host'
import { channelScope, createFakeClock, createFakeLocks, socketFactory } from './fakes'
import { accept, aliceParent, attachRequest, holdTabLock, invite, quietLink, until, world } from './host-world'

const key = 'Tutor:1'

/** Another host says it owns `profileKey`'s socket now. */
function announce(profileKey: string): void {
  const channels = channelScope()
  onTestFinished(channels.closeAll)
  channels.open(announceChannel).postMessage({ v: 1, from: 'rival', type: 'owner', key: profileKey })
}

/** A world's host whose attach messages to the owner are all lost on the way, counting them. */
function losingAttaches(startHost: ReturnType<typeof world>['startHost'], id: string) {
  const sent = { attaches: 0 }
  const entry = startHost(id, undefined, (message) => {
    if (message.type !== 'attach') return false
    sent.attaches += 1
    return true
  })
  return { ...entry, sent }
}

const snapshots = (events: HubEvent[]) => events.filter((event) => event.type === 'snapshot').length

describe('an attach', () => {
  it('of a tab found gone before it was placed (its own lock was free) is answered as any other', async () => {
    const { startHost } = world()
    const { host } = startHost('worker')
    expect(await host.connectTab().attach(attachRequest('tab-1'), quietLink)).toEqual({ ok: true, value: { hostLock: 'callhub:host:worker', hostId: 'worker' } })
    expect(host.counters().tabs).toBe(0)
  })

  it('whose port closes while the host claims the socket is answered, and attaches nothing: no socket opens', async () => {
    const fake = createFakeLocks()
    // The owner lock is granted only when the test says: the claim is under way until then.
    let claimed = false
    let grant = () => {}
    const granted = new Promise<void>((resolve) => (grant = resolve))
    const scope = fake.scope('worker')
    const locks: Locks = {
      request(name, options, callback) {
        if (!name.startsWith('callhub:owner:')) return scope.request(name, options, callback)
        claimed = true
        return granted.then(() => scope.request(name, options, callback))
      },
    }
    const channels = channelScope()
    onTestFinished(channels.closeAll)
    const sockets = socketFactory()
    const host = createHost({ hostId: 'worker', createSocket: sockets.createSocket, clock: createFakeClock(), random: () => 0, log: () => {}, locks, channel: channels.open })
    holdTabLock(fake, 'tab-1')
    const api = host.connectTab()
    const attaching = api.attach(attachRequest('tab-1'), quietLink)
    await until(() => claimed, 'the host to claim the socket')
    api.disconnect()
    grant()
    expect(await attaching).toEqual({ ok: true, value: { hostLock: 'callhub:host:worker', hostId: 'worker' } })
    expect(host.counters()).toMatchObject({ tabs: 0, sessions: 0 })
    expect(sockets.sockets).toHaveLength(0)
  })

  it('relayed to an owner that goes away is tried once more at the next owner, and fails if that one goes away too', async () => {
    const { startHost, openTab, locks } = world()
    const owner = startHost('owner')
    const follower = losingAttaches(startHost, 'follower')
    await openTab(owner.host, 'tab-1')
    holdTabLock(locks, 'tab-2')
    let outcome: unknown
    void follower.host.connectTab().attach(attachRequest('tab-2'), quietLink).then((answer) => (outcome = answer))
    await until(() => follower.sent.attaches === 1, 'the attach')
    announce(key)
    await until(() => follower.sent.attaches === 2, 'the attach at the next owner')
    announce(key)
    await until(() => outcome !== undefined, 'the answer')
    expect(outcome).toMatchObject({ ok: false, error: { name: 'HubWorkerLostError' } })
  })
})

describe('a request', () => {
  it('queued behind its tab\'s relayed attach, when the port closed meanwhile, reaches no hub: TabNotAttachedError', async () => {
    const { startHost, openTab, locks, tick } = world()
    const owner = startHost('owner')
    const follower = losingAttaches(startHost, 'follower')
    await openTab(owner.host, 'tab-1')
    // A tab of another profile, served by the follower's own hub: going offline there would close its socket.
    await openTab(follower.host, 'tab-3', aliceParent)
    holdTabLock(locks, 'tab-2')
    const api = follower.host.connectTab()
    const attaching = api.attach(attachRequest('tab-2'), quietLink)
    await until(() => follower.sent.attaches === 1, 'the attach')
    const offline = api.setOnline(false)
    api.disconnect()
    await tick(RELAY_TIMEOUT)
    expect(await attaching).toMatchObject({ ok: false, error: { name: 'HubTimeoutError' } })
    expect(await offline).toMatchObject({ ok: false, error: { name: 'TabNotAttachedError' } })
    expect(follower.sockets.sockets.map((socket) => socket.closedWith?.reason)).not.toContain('offline')
  })
})

describe('a relayed tab', () => {
  it('that fell far behind at its own host is sent a snapshot by the owner in place of the settles it missed', async () => {
    const { startHost, openTab, locks } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    holdTabLock(locks, 'tab-2')
    const batches: HubEvent[][] = []
    let resume = () => {}
    const stalled = new Promise<void>((resolve) => (resume = resolve))
    let stalls = 0
    const link: TabLink = {
      // The first batch with calls in it is taken only when the test says: meanwhile the events pile up.
      deliver: (batch) => {
        batches.push(batch)
        if (stalls > 0 || !batch.some((event) => event.type === 'invitation')) return Promise.resolve()
        stalls += 1
        return stalled
      },
      release: () => {},
      recover: async () => [],
    }
    expect((await follower.host.connectTab().attach(attachRequest('tab-2'), link)).ok).toBe(true)
    const socket = owner.sockets.last()
    accept(socket)
    const shown = () => {
      const calls = new Set<number>()
      for (const event of batches.flat()) {
        if (event.type === 'snapshot') {
          calls.clear()
          for (const call of event.calls) calls.add(Number(call.callLogId))
        } else if (event.type === 'invitation') calls.add(Number(event.invitation.callLogId))
        else if (event.type === 'settled') calls.delete(Number(event.settled.callLogId))
      }
      return calls.size
    }
    // In turns of fewer state events than a tab may have waiting, so that the owner keeps up; its tab does not.
    for (let id = 1; id <= 300; id += 1) socket.receive(invite(id))
    await until(() => shown() === 300, 'the calls to reach the tab')
    for (let id = 1; id <= 300; id += 1) socket.receive({ type: 'call_cancelled', call_log_id: id })
    await until(() => follower.host.counters().queued >= 300, 'the cancels to wait for the tab')
    for (const first of [1_001, 1_201]) {
      const before = follower.host.counters().queued
      for (let id = first; id < first + 200; id += 1) {
        socket.receive(invite(id))
        socket.receive({ type: 'call_cancelled', call_log_id: id })
      }
      // Past MAX_BACKLOG in the second turn: the follower drops what waited, the cancels with it.
      await until(() => follower.host.counters().queued !== before, 'the calls to wait for the tab')
    }
    resume()
    await until(() => shown() === 0, 'the tab to show no call')
    expect(owner.host.counters().ringing).toBe(0)
  })
})

describe("the tabs' Web Locks a host waits for", () => {
  it("are its own tab's while the tab is attached, and no longer once it detached", async () => {
    const { startHost, openTab, locks } = world()
    const { host } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    expect(locks.waiting('callhub:tab:tab-1')).toEqual(['worker'])
    expect(await tab.api.detach()).toMatchObject({ ok: true })
    expect(locks.waiting('callhub:tab:tab-1')).toEqual([])
  })

  it("are another host's tab's while the owner serves it, once however often it attaches, and no longer once it detached", async () => {
    const { startHost, openTab, locks } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    const watching = () => locks.waiting('callhub:tab:tab-2').filter((host) => host === 'owner')
    expect(watching()).toHaveLength(1)
    // A rival's word makes the follower attach its tab to the owner again.
    const before = snapshots(relayed.events)
    announce(key)
    await until(() => snapshots(relayed.events) > before, 'the tab to attach again')
    expect(watching()).toHaveLength(1)
    expect(await relayed.api.detach()).toMatchObject({ ok: true })
    await until(() => owner.host.counters().tabs === 1, 'the owner to let the tab go')
    expect(watching()).toEqual([])
  })
})

describe('what a host counts', () => {
  it("includes the events it has yet to post to another host's tab", async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const own = await openTab(owner.host, 'tab-1')
    const relayed = await openTab(other.host, 'tab-2')
    const socket = owner.sockets.last()
    accept(socket)
    await until(() => relayed.status()?.type === 'open', 'the relayed tab to hear the socket is open')
    // Another host's tab is all the owner serves now (it hands the socket over only HANDOVER_AFTER later).
    expect(await own.api.detach()).toMatchObject({ ok: true })
    socket.receive(invite(1))
    // Events are posted at the end of the turn that pushed them.
    expect(owner.host.counters().queued).toBeGreaterThan(0)
    await until(() => relayed.calls().length === 1, 'the call to reach the relayed tab')
    expect(owner.host.counters().queued).toBe(0)
  })
})
