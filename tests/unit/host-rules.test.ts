/**
 * The rules a host keeps around ownership, relaying and its tabs' connections: what attach answers, which host
 * messages it heeds, what a tab hands the next owner, when an owner hands its socket over, when a follower
 * stops waiting for it, and what a relayed request answers when the owner does not.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import type { HubEvent, TabIdentity } from '../../protocol/port'
import { announceChannel, hostChannel, ownerChannel, ownerLock } from '../../protocol/hosts'
import { HANDOVER_AFTER, OWNER_PING_INTERVAL, OWNER_SILENCE, RELAY_TIMEOUT, TAB_PING_INTERVAL, TAB_SILENCE_LIMIT, createHost } from '../../core/host'
import type { Locks, TabLink } from '../../core/host'
import { OUTBOX_WAIT } from '../../core/limits'
import { channelScope, createFakeClock, createFakeLocks, socketFactory } from './fakes'
import { accept, alice, aliceParent, attachRequest, holdTabLock, invite, quietLink, until, world } from './host-world'

const key = 'Tutor:1'
const aliceNewToken: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Tutor' }, token: 'tok-new', url: 'ws://hub.test/ws/1/Tutor' }

/** A stranger on the host channels: posts what it likes, and hears the replies sent to host `probe`. */
function probe() {
  const channels = channelScope()
  onTestFinished(channels.closeAll)
  const replies: Array<Record<string, unknown>> = []
  channels.open(hostChannel('probe')).onmessage = (event) => void replies.push(event.data as Record<string, unknown>)
  const senders = new Map<string, ReturnType<typeof channels.open>>()
  const post = (name: string, message: Record<string, unknown>) => {
    const sender = senders.get(name) ?? channels.open(name)
    senders.set(name, sender)
    sender.postMessage({ from: 'probe', ...message })
  }
  return { replies, post }
}

const snapshots = (events: HubEvent[]) => events.filter((event) => event.type === 'snapshot').length

describe('what attach answers', () => {
  it('names the Web Lock the host holds for its whole life, so a tab granted it knows the host died', async () => {
    const { startHost, openTab, locks } = world()
    const { host } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    expect(tab.attached).toEqual({ hostLock: 'callhub:host:worker', hostId: 'worker' })
    expect(locks.holder('callhub:host:worker')).toBe('worker')
  })

  it('without Web Locks names no host lock, and the host opens no BroadcastChannel (no lock could say who owns a socket)', async () => {
    const channels = channelScope()
    onTestFinished(channels.closeAll)
    const opened: string[] = []
    const host = createHost({
      hostId: 'worker', createSocket: socketFactory().createSocket, clock: createFakeClock(), random: () => 0, log: () => {}, locks: null,
      channel: (name) => {
        opened.push(name)
        return channels.open(name)
      },
    })
    expect(await host.connectTab().attach(attachRequest('tab-1'), quietLink)).toEqual({ ok: true, value: { hostLock: null, hostId: 'worker' } })
    expect(opened).toEqual([])
  })

  it('with Web Locks but no BroadcastChannel, each host owns its own socket (it could not relay to another)', async () => {
    const clock = createFakeClock()
    const locks = createFakeLocks()
    const factories = [socketFactory(), socketFactory()]
    for (const [index, sockets] of factories.entries()) {
      const host = createHost({ hostId: `h${index}`, createSocket: sockets.createSocket, clock, random: () => 0, log: () => {}, locks: locks.scope(`h${index}`), channel: null })
      holdTabLock(locks, `t${index}`)
      expect((await host.connectTab().attach(attachRequest(`t${index}`), quietLink)).ok).toBe(true)
    }
    expect(factories.map((sockets) => sockets.sockets.length)).toEqual([1, 1])
  })

  it('before a tab attached, every request answers TabNotAttachedError', async () => {
    const { startHost } = world()
    const api = startHost('worker').host.connectTab()
    const notAttached = { ok: false, error: { name: 'TabNotAttachedError' } }
    expect(await api.identify(alice)).toMatchObject(notAttached)
    expect(await api.track(1)).toMatchObject(notAttached)
    expect(await api.setInterests({ messages: true, debug: false, recover: false })).toMatchObject(notAttached)
    expect(await api.setOnline(false)).toMatchObject(notAttached)
    expect(await api.setPresence({ visible: true, focused: true })).toMatchObject(notAttached)
    expect(await api.ping()).toEqual({ ok: true, value: { hostId: 'worker', attached: false } })
  })

  it('that the owner never answers fails with HubTimeoutError once the relay times out', async () => {
    const { startHost, openTab, tick, locks } = world()
    const owner = startHost('owner')
    holdTabLock(locks, 'tab-2')
    // The follower's attach messages are lost on the way; its pings reach the owner, which answers them.
    const follower = startHost('follower', undefined, (message) => message.type === 'attach')
    await openTab(owner.host, 'tab-1')
    let outcome: unknown
    void follower.host.connectTab().attach(attachRequest('tab-2'), quietLink).then((answer) => (outcome = answer))
    await tick(RELAY_TIMEOUT - 100)
    expect(outcome).toBeUndefined()
    await tick(200)
    expect(outcome).toMatchObject({ ok: false, error: { name: 'HubTimeoutError' } })
    expect(owner.sockets.sockets).toHaveLength(1)
  })
})

describe('the connection to a tab', () => {
  it('closes when the host lets its tab go for a closed port, but not on a detach (the tab closes its side)', async () => {
    const { startHost, openTab } = world()
    const { host } = startHost('worker')
    const detached = await openTab(host, 'tab-1')
    const disconnected = await openTab(host, 'tab-2')
    expect(await detached.api.detach()).toMatchObject({ ok: true })
    expect(detached.connection.closed).toBe(false)
    disconnected.api.disconnect()
    expect(disconnected.connection.closed).toBe(true)
    expect(host.counters().tabs).toBe(0)
    expect(await disconnected.api.ping()).toMatchObject({ value: { attached: false } })
  })

  it('of a tab that attaches again through a new port is closed, and the host counts the tab once', async () => {
    const { startHost, openTab } = world()
    const { host } = startHost('worker')
    const first = await openTab(host, 'tab-1')
    const again = await openTab(host, 'tab-1')
    expect(first.connection.closed).toBe(true)
    expect(again.connection.closed).toBe(false)
    expect(host.counters().tabs).toBe(1)
    expect(await first.api.ping()).toMatchObject({ value: { attached: false } })
    expect(await again.api.ping()).toMatchObject({ value: { attached: true } })
    // The old port closing late takes nothing from the new one.
    first.api.disconnect()
    expect(await again.api.ping()).toMatchObject({ value: { attached: true } })
    expect(host.counters().tabs).toBe(1)
  })

  it('that attaches a second tab keeps itself open and serves the new tab only', async () => {
    const { startHost, locks } = world()
    const { host } = startHost('worker')
    holdTabLock(locks, 'tab-1')
    holdTabLock(locks, 'tab-2')
    const closed: string[] = []
    const api = host.connectTab(() => closed.push('connection'))
    expect((await api.attach(attachRequest('tab-1'), quietLink)).ok).toBe(true)
    expect((await api.attach(attachRequest('tab-2'), quietLink)).ok).toBe(true)
    expect(closed).toEqual([])
    expect(host.counters().tabs).toBe(1)
    expect(await api.ping()).toMatchObject({ value: { attached: true } })
  })

  it('with Web Locks is not dropped for silence: the tab need not ping', async () => {
    const { startHost, openTab, clock } = world()
    const { host } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    clock.advance(TAB_SILENCE_LIMIT + TAB_PING_INTERVAL * 2)
    expect(tab.connection.closed).toBe(false)
    expect(host.counters().tabs).toBe(1)
  })

  it(`without Web Locks is dropped only once silent for more than ${TAB_SILENCE_LIMIT / 1000} s`, async () => {
    const clock = createFakeClock()
    const host = createHost({ hostId: 'worker', createSocket: socketFactory().createSocket, clock, random: () => 0, log: () => {}, locks: null, channel: null })
    const closed: string[] = []
    expect((await host.connectTab(() => closed.push('tab-1')).attach(attachRequest('tab-1'), quietLink)).ok).toBe(true)
    // The sweep runs every TAB_PING_INTERVAL, so it looks exactly TAB_SILENCE_LIMIT after the attach.
    clock.advance(TAB_SILENCE_LIMIT)
    expect(closed).toEqual([])
    clock.advance(TAB_PING_INTERVAL)
    expect(closed).toEqual(['tab-1'])
  })

  it('counts the events waiting for a tab that is slow to take them', async () => {
    const { startHost, locks } = world()
    const { host, sockets } = startHost('worker')
    holdTabLock(locks, 'tab-1')
    const stuck: TabLink = { deliver: () => new Promise(() => {}), release: () => {}, recover: async () => [] }
    expect((await host.connectTab().attach(attachRequest('tab-1'), stuck)).ok).toBe(true)
    accept(sockets.last())
    sockets.last().receive(invite(1))
    await until(() => host.counters().queued > 0, 'events to wait for the tab')
    expect(host.counters().queued).toBeGreaterThan(0)
  })
})

describe('host messages', () => {
  it('an owner answers pings of its own protocol version only: older versions and other messages are ignored', async () => {
    const { startHost, openTab } = world()
    await openTab(startHost('worker').host, 'tab-1')
    const { replies, post } = probe()
    post(ownerChannel(key), { v: 0, type: 'ping', key, rid: 1 })
    post(ownerChannel(key), { type: 'ping', key, rid: 2 })
    post(ownerChannel(key), { v: 1, type: 'owner', key, rid: 4, tabId: 'tab-1', method: 'setOnline', args: [false] })
    post(ownerChannel(key), { v: 1, type: 'ping', key, rid: 3 })
    await until(() => replies.length > 0, 'the reply')
    // One sender, one receiver: answers come in order, so an answer to 1 or 2 would have come first.
    expect(replies).toEqual([{ v: 1, from: 'worker', type: 'reply', rid: 3, outcome: { ok: true, value: null } }])
  })

  it('an owner refuses a request for a tab it does not know (TabNotAttachedError), even one that needs no tab', async () => {
    const { startHost, openTab } = world()
    const { host, sockets } = startHost('worker')
    await openTab(host, 'tab-1')
    accept(sockets.last())
    const { replies, post } = probe()
    post(ownerChannel(key), { v: 1, type: 'call', key, rid: 1, tabId: 'ghost', method: 'setOnline', args: [false] })
    await until(() => replies.length > 0, 'the reply')
    expect(replies[0]).toMatchObject({ rid: 1, outcome: { ok: false, error: { name: 'TabNotAttachedError' } } })
    post(ownerChannel(key), { v: 1, type: 'call', key, rid: 2, tabId: 'ghost', method: 'detach', args: ['gone'] })
    await until(() => replies.length > 1, 'the second reply')
    expect(replies[1]).toMatchObject({ rid: 2, outcome: { ok: false, error: { name: 'TabNotAttachedError' } } })
    expect(sockets.last().closedWith).toBeNull()
  })

  it("an owner serves on a profile's channel only that profile's tabs: another profile's attach, or a move to it, is refused and opens no socket", async () => {
    const { startHost, openTab, locks } = world()
    const { host, sockets } = startHost('worker')
    await openTab(host, 'tab-1')
    accept(sockets.last())
    holdTabLock(locks, 'tab-2')
    const { replies, post } = probe()
    const answers = () => replies.filter((reply) => reply.type === 'reply')
    post(ownerChannel(key), { v: 1, type: 'attach', key, rid: 1, request: attachRequest('tab-2', aliceParent) })
    await until(() => answers().length === 1, 'the first answer')
    post(ownerChannel(key), { v: 1, type: 'attach', key, rid: 2, request: attachRequest('tab-2') })
    await until(() => answers().length === 2, 'the second answer')
    post(ownerChannel(key), { v: 1, type: 'call', key, rid: 3, tabId: 'tab-2', method: 'identify', args: [aliceParent] })
    post(ownerChannel(key), { v: 1, type: 'call', key, rid: 4, tabId: 'tab-2', method: 'identify', args: [aliceNewToken] })
    await until(() => answers().length === 4, 'the last answers')
    expect(answers().map(({ rid, outcome }) => ({ rid, outcome }))).toMatchObject([
      { rid: 1, outcome: { ok: false, error: { name: 'TabNotAttachedError', message: "[callhub] Tutor:1's owner does not serve Parent:1: attach to its owner" } } },
      { rid: 2, outcome: { ok: true } },
      { rid: 3, outcome: { ok: false, error: { name: 'TabNotAttachedError' } } },
      { rid: 4, outcome: { ok: true } },
    ])
    expect(sockets.sockets).toHaveLength(1)
    expect(host.counters()).toMatchObject({ tabs: 2 })
  })

  it("events for a tab are handed to it only while it is relayed (not to a local tab, nor a stranger's)", async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    const local = await openTab(follower.host, 'tab-3', aliceParent)
    const { post } = probe()
    const line = (text: string): HubEvent => ({ type: 'log', line: text })
    post(hostChannel('follower'), { v: 1, type: 'events', tabId: 'nobody', events: [line('stranger')] })
    post(hostChannel('follower'), { v: 1, type: 'events', tabId: 'tab-3', events: [line('local')] })
    post(hostChannel('follower'), { v: 1, type: 'ping', key, rid: 1, tabId: 'tab-2', events: [line('not events')] })
    post(hostChannel('follower'), { v: 1, type: 'events', tabId: 'tab-2', events: [line('relayed')] })
    await until(() => relayed.events.some((event) => event.type === 'log' && event.line === 'relayed'), 'the relayed tab to get its events')
    expect(local.events.some((event) => event.type === 'log')).toBe(false)
    expect(relayed.events.filter((event) => event.type === 'log')).toEqual([line('relayed')])
  })

  it('a message of a newer protocol version makes a host give way, naming the version it met', async () => {
    const { startHost, openTab } = world()
    const { host, sockets } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    accept(sockets.last())
    probe().post(announceChannel, { v: 2, type: 'owner', key })
    await until(() => tab.status()?.type === 'closed', 'the host to give way')
    expect(tab.status()).toMatchObject({ reason: expect.stringContaining('a host speaking version 2 of the host protocol appeared (this one speaks 1)') })
    expect(sockets.last().closedWith).not.toBeNull()
  })

  it('a host that gave way fails its tabs\' requests with HubWorkerLostError, lets its signed-out tabs go, and tells a new tab to reload', async () => {
    const { startHost, openTab } = world()
    const { host, sockets } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    await openTab(host, 'tab-2', { type: 'signed-out' })
    accept(sockets.last())
    expect(host.counters().tabs).toBe(2)
    probe().post(hostChannel('worker'), { v: 2, type: 'reply', rid: 1, outcome: { ok: true, value: null } })
    await until(() => tab.status()?.type === 'closed', 'the host to give way')
    expect(host.counters().tabs).toBe(0)
    expect(await tab.api.send('{"type":"x"}')).toMatchObject({ ok: false, error: { name: 'HubWorkerLostError', message: expect.stringContaining('reload this page') } })
    const late = await openTab(host, 'tab-3')
    expect(late.status()).toMatchObject({ type: 'closed', reason: expect.stringContaining('reload this page'), profileKey: key })
    expect(sockets.sockets).toHaveLength(1)
    // A new token or a sign-out is answered at once, and the tab is told again to reload.
    expect(await tab.api.identify(aliceNewToken)).toMatchObject({ ok: true })
    expect(await tab.api.identify({ type: 'signed-out' })).toMatchObject({ ok: true })
    expect(tab.status()).toMatchObject({ type: 'closed', reason: expect.stringContaining('reload this page') })
  })

  it('a host that gave way answers nothing more: the next owner alone serves the profile', async () => {
    const { startHost, openTab, tick } = world()
    const older = startHost('older')
    await openTab(older.host, 'tab-1')
    const { replies, post } = probe()
    post(hostChannel('older'), { v: 2, type: 'reply', rid: 1, outcome: { ok: true, value: null } })
    await until(() => older.host.counters().owned === 0, 'the older host to give way')
    const next = startHost('next')
    await openTab(next.host, 'tab-2')
    post(ownerChannel(key), { v: 1, type: 'ping', key, rid: 2 })
    await until(() => replies.length > 0, 'the reply')
    await tick(100)
    expect(replies.map((reply) => reply.from)).toEqual(['next'])
  })

  it('an owner that hears another host claim its socket keeps it, and says so in its log', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('worker')
    const tab = await openTab(owner.host, 'tab-1')
    accept(owner.sockets.last())
    const { post } = probe()
    // Only `owner` messages on that channel say who owns a socket.
    post(announceChannel, { v: 1, type: 'ping', key, rid: 1 })
    post(announceChannel, { v: 1, type: 'owner', key })
    await until(() => owner.logs.some((line) => line.includes(`${key}: host probe says it owns the socket this host owns`)), 'the log line')
    expect(owner.logs.filter((line) => line.includes('says it owns'))).toHaveLength(1)
    expect(owner.sockets.last().closedWith).toBeNull()
    expect(owner.host.counters()).toMatchObject({ owned: 1, tabs: 1 })
    expect(tab.status()).toMatchObject({ type: 'open' })
  })

  it('a follower told that another host owns the socket fails its requests in flight and attaches its tabs there', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    // The socket is not open yet: the owner answers the send only once the frame is written.
    const sent = relayed.api.send('{"type":"chat"}')
    const before = snapshots(relayed.events)
    probe().post(announceChannel, { v: 1, type: 'owner', key })
    expect(await sent).toMatchObject({
      ok: false, error: { name: 'HubWorkerLostError', message: expect.stringContaining('the host that owned the socket went away before it answered') },
    })
    await until(() => snapshots(relayed.events) > before, 'the tab to attach again')
    expect(follower.host.counters()).toMatchObject({ relayed: 1, owned: 0 })
  })
})

describe('what a tab hands the next owner', () => {
  it('a call the tab first saw in its snapshot keeps showing while the next owner connects', async () => {
    const { startHost, openTab, kill, locks } = world()
    const owner = startHost('owner')
    const next = startHost('next')
    await openTab(owner.host, 'tab-1')
    accept(owner.sockets.last())
    owner.sockets.last().receive(invite(3))
    const late = await openTab(next.host, 'tab-2')
    await until(() => late.calls().length === 1, 'the call in the snapshot')
    expect(late.events.some((event) => event.type === 'invitation')).toBe(false)
    const before = snapshots(late.events)
    kill(owner)
    locks.kill('tab-1')
    await until(() => snapshots(late.events) > before, 'the next owner to attach the tab')
    expect(late.calls()).toEqual(['3'])
    expect(late.settled()).toEqual([])
  })

  it('a call that ended while the tab showed it is not handed over', async () => {
    const { startHost, openTab, kill, locks } = world()
    const owner = startHost('owner')
    const next = startHost('next')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(next.host, 'tab-2')
    accept(owner.sockets.last())
    owner.sockets.last().receive(invite(3))
    owner.sockets.last().receive(invite(4))
    await until(() => tab.calls().length === 2, 'the calls')
    owner.sockets.last().receive({ type: 'call_cancelled', call_log_id: 3 })
    await until(() => tab.settled().length === 1, 'the cancel')
    const before = snapshots(tab.events)
    kill(owner)
    locks.kill('tab-1')
    await until(() => snapshots(tab.events) > before, 'the next owner to attach the tab')
    expect(tab.calls()).toEqual(['4'])
  })

  it('what a relayed tab asked for since it attached (messages, being in view, its placed call) holds at the next owner', async () => {
    const { startHost, openTab, kill, locks } = world()
    const owner = startHost('owner')
    const next = startHost('next')
    await openTab(owner.host, 'tab-1', alice, { visible: false, focused: false })
    const tab = await openTab(next.host, 'tab-2', alice, { visible: false, focused: false })
    accept(owner.sockets.last())
    expect(await tab.api.setInterests({ messages: true, debug: false, recover: false })).toMatchObject({ ok: true })
    expect(await tab.api.setPresence({ visible: true, focused: true })).toMatchObject({ ok: true })
    expect(await tab.api.track(77)).toMatchObject({ ok: true })
    kill(owner)
    locks.kill('tab-1')
    await until(() => next.sockets.sockets.length === 1, 'the next owner to open a socket')
    const socket = next.sockets.last()
    accept(socket)
    socket.receive({ type: 'chat_message', text: 'hi' })
    socket.receive({ type: 'call_answer', call_log_id: 77 })
    await until(() => tab.events.some((event) => event.type === 'message'), 'the message')
    await until(() => tab.events.some((event) => event.type === 'call-frame'), 'the frame of the placed call')
    // The next owner knows the tab is in view (it would ring, but for the call it holds).
    expect(tab.events.filter((event) => event.type === 'ringer').at(-1)).toMatchObject({ anyVisible: true })
  })

  it("a relayed tab's offline report holds at the next owner: it closes that host's sockets too", async () => {
    const { startHost, openTab, kill, locks } = world()
    const owner = startHost('owner')
    const next = startHost('next')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(next.host, 'tab-2')
    // A tab of another profile on the next owner keeps a socket of its own open there.
    await openTab(next.host, 'tab-3', aliceParent)
    const parentSocket = next.sockets.last()
    accept(parentSocket)
    expect(await tab.api.setOnline(false)).toMatchObject({ ok: true })
    expect(parentSocket.closedWith).toBeNull()
    const before = snapshots(tab.events)
    kill(owner)
    locks.kill('tab-1')
    await until(() => snapshots(tab.events) > before, 'the next owner to attach the tab')
    expect(parentSocket.closedWith).toMatchObject({ reason: 'offline' })
  })
})

describe('handing a socket over', () => {
  it("a suspended owner's own tabs follow the host that takes the socket over", async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const own = await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    owner.host.suspend()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
    accept(other.sockets.last())
    await until(() => own.status()?.type === 'open' && own.status()?.tabs === 2, 'the own tab to follow')
    expect(owner.host.counters()).toMatchObject({ owned: 0, relayed: 1 })
  })

  it('an owner with one own tab of the profile left keeps the socket', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const leaving = await openTab(owner.host, 'tab-1')
    await openTab(owner.host, 'tab-1b')
    await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    await leaving.api.detach()
    await tick(HANDOVER_AFTER + 200)
    expect(owner.sockets.last().closedWith).toBeNull()
    expect(other.sockets.sockets).toHaveLength(0)
  })

  it('an owner whose own tab came back within the handover delay keeps the socket', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const leaving = await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    await leaving.api.detach()
    await tick(HANDOVER_AFTER / 2)
    await openTab(owner.host, 'tab-3')
    await tick(HANDOVER_AFTER)
    expect(owner.sockets.last().closedWith).toBeNull()
    expect(other.sockets.sockets).toHaveLength(0)
  })

  it('an owner whose relayed tabs all detached keeps its socket and its lock for the linger after its own go: nobody could take it', async () => {
    const { startHost, openTab, tick, locks } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const own = await openTab(owner.host, 'tab-1')
    const relayed = await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    expect(await own.api.configure({ linger: 60_000 })).toMatchObject({ ok: true })
    expect(await relayed.api.detach()).toMatchObject({ ok: true })
    await own.api.detach()
    await tick(HANDOVER_AFTER + 200)
    expect(owner.sockets.last().closedWith).toBeNull()
    expect(locks.holder(ownerLock(key))).toBe('owner')
  })

  it('a relayed tab that moves to another profile closes the old socket at once when it was the last tab on it', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const own = await openTab(owner.host, 'tab-1')
    const relayed = await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    await own.api.detach()
    await tick(100)
    expect(owner.sockets.last().closedWith).toBeNull()
    expect(await relayed.api.identify(aliceParent)).toMatchObject({ ok: true })
    expect(owner.sockets.last().closedWith).not.toBeNull()
  })
})

describe('a follower', () => {
  it('whose relayed tabs are all gone stops waiting for the socket: when the owner dies it takes nothing over', async () => {
    const { startHost, openTab, kill, locks, tick } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const relayed = await openTab(follower.host, 'tab-2')
    // A tab of another profile, served by the follower itself, does not keep it waiting.
    await openTab(follower.host, 'tab-3', aliceParent)
    expect(await relayed.api.detach()).toMatchObject({ ok: true })
    // The follower stops waiting once the owner confirmed the detach.
    await until(() => owner.host.counters().tabs === 1, 'the owner to let the tab go')
    await tick(100)
    kill(owner)
    locks.kill('tab-1')
    await tick(500)
    expect(locks.holder(ownerLock(key))).toBeNull()
    expect(follower.host.counters().owned).toBe(1)
    expect(follower.sockets.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Parent'])
    expect(follower.logs.filter((line) => line.includes('took the socket over'))).toEqual([])
  })

  it('with a relayed tab left takes the socket over when the owner dies', async () => {
    const { startHost, openTab, kill, locks, tick } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const leaving = await openTab(follower.host, 'tab-2')
    const staying = await openTab(follower.host, 'tab-3')
    expect(await leaving.api.detach()).toMatchObject({ ok: true })
    await until(() => owner.host.counters().tabs === 2, 'the owner to let the tab go')
    await tick(100)
    kill(owner)
    locks.kill('tab-1')
    await until(() => follower.sockets.sockets.length === 1, 'the follower to take the socket over')
    accept(follower.sockets.last())
    await until(() => staying.status()?.type === 'open', 'the staying tab to hear the socket')
    expect(staying.status()).toMatchObject({ tabs: 1 })
    // It hears its own announcement too, and does not take it for a rival's.
    await tick(100)
    expect(follower.logs.filter((line) => line.includes('says it owns'))).toEqual([])
  })

  it('with tabs of another profile too never takes the socket from an owner that answers, only from one that stopped', async () => {
    const { startHost, openTab, tick, freeze } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    await openTab(follower.host, 'tab-2')
    await openTab(follower.host, 'tab-3', aliceParent)
    await tick(2_000)
    expect(follower.sockets.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Parent'])
    expect(owner.sockets.last().closedWith).toBeNull()
    freeze(owner)
    await tick(OWNER_SILENCE + OWNER_PING_INTERVAL * 2)
    await until(() => follower.sockets.sockets.length === 2, 'the follower to take the socket over')
    expect(follower.sockets.last().url).toBe('ws://hub.test/ws/1/Tutor')
    // Its own tab of the profile is served here now, not relayed.
    await until(() => follower.host.counters().relayed === 0, 'the follower to serve its tab itself')
  })

  it('whose tabs left and came back does not take the socket from an owner that answers', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const leaving = await openTab(follower.host, 'tab-2')
    expect(await leaving.api.detach()).toMatchObject({ ok: true })
    await until(() => owner.host.counters().tabs === 1, 'the owner to let the tab go')
    await tick(100)
    await openTab(follower.host, 'tab-3')
    await tick(2_000)
    expect(follower.sockets.sockets).toHaveLength(0)
    expect(owner.sockets.last().closedWith).toBeNull()
  })

  it(`fails a request the owner never answers with HubTimeoutError after ${RELAY_TIMEOUT} ms, plus the backend's time for a frame`, async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    // The follower's requests are lost on the way; its pings reach the owner, which answers them.
    const follower = startHost('follower', undefined, (message) => message.type === 'call')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(follower.host, 'tab-2')
    const answers: Record<string, unknown> = {}
    void tab.api.configure({ linger: 1_000 }).then((outcome) => (answers.configure = outcome))
    void tab.api.send('{"type":"chat"}').then((outcome) => (answers.send = outcome))
    await tick(RELAY_TIMEOUT - 100)
    expect(answers).toEqual({})
    await tick(200)
    expect(answers.configure).toMatchObject({
      ok: false, error: { name: 'HubTimeoutError', message: expect.stringContaining(`did not answer within ${RELAY_TIMEOUT} ms`) },
    })
    expect(answers.send).toBeUndefined()
    await tick(OUTBOX_WAIT)
    expect(answers.send).toMatchObject({ ok: false, error: { name: 'HubTimeoutError' } })
  })
})

describe('a tab attached here', () => {
  it('that changes its token keeps its socket, and the next connection authenticates with the new token', async () => {
    const { startHost, openTab, clock } = world()
    const { host, sockets } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    accept(sockets.last())
    expect(await tab.api.identify(aliceNewToken)).toEqual({ ok: true, value: undefined })
    expect(sockets.sockets).toHaveLength(1)
    expect(sockets.last().closedWith).toBeNull()
    sockets.last().drop()
    clock.advance(1_000)
    expect(sockets.sockets).toHaveLength(2)
    sockets.last().open()
    expect(sockets.last().frames()[0]).toMatchObject({ type: 'auth', token: 'tok-new' })
    expect(host.counters()).toMatchObject({ tabs: 1, owned: 1 })
  })

  it('that signs out closes the socket at once and hears signed-out', async () => {
    const { startHost, openTab } = world()
    const { host, sockets } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    accept(sockets.last())
    expect(await tab.api.identify({ type: 'signed-out' })).toMatchObject({ ok: true })
    expect(sockets.last().closedWith).not.toBeNull()
    await until(() => tab.status()?.type === 'signed-out', 'the signed-out status')
    expect(host.counters()).toMatchObject({ owned: 0, sessions: 0 })
  })

  it("that moves to another profile opens that profile's socket, and closes the old one at once when it was its last tab", async () => {
    const { startHost, openTab } = world()
    const { host, sockets } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    accept(sockets.last())
    expect(await tab.api.identify(aliceParent)).toMatchObject({ ok: true })
    expect(sockets.sockets[0]!.closedWith).not.toBeNull()
    expect(sockets.sockets.map((socket) => socket.url)).toEqual(['ws://hub.test/ws/1/Tutor', 'ws://hub.test/ws/1/Parent'])
    await until(() => tab.status()?.profileKey === 'Parent:1', 'the new profile')
    expect(host.counters()).toMatchObject({ owned: 1, sessions: 1 })
  })

  it('attached at the same moment as another of its profile is served here too, not relayed', async () => {
    const { startHost, openTab } = world()
    const { host, sockets } = startHost('worker')
    await Promise.all([openTab(host, 'tab-1'), openTab(host, 'tab-2')])
    expect(host.counters()).toMatchObject({ tabs: 2, owned: 1, relayed: 0 })
    expect(sockets.sockets).toHaveLength(1)
  })

  it('that is signed out claims no socket', async () => {
    const { startHost, openTab, locks } = world()
    const { host, sockets } = startHost('worker')
    await openTab(host, 'tab-1', { type: 'signed-out' })
    expect(host.counters()).toMatchObject({ tabs: 1, owned: 0 })
    expect(sockets.sockets).toHaveLength(0)
    expect(locks.holder('callhub:owner:null')).toBeNull()
  })

  it('showing a call (its host restarted) keeps it ringing here until the backend says otherwise', async () => {
    const { startHost, locks } = world()
    const { host } = startHost('worker')
    holdTabLock(locks, 'tab-1')
    const events: HubEvent[] = []
    const call = {
      callLogId: 3, conversationId: 5, callType: 'voice' as const, from: { name: 'Bob Bekele', avatar: null, profileId: null, profileType: null },
      offer: null, expiresAt: null,
    }
    const link: TabLink = { deliver: async (batch) => void events.push(...batch), release: () => {}, recover: async () => [] }
    expect((await host.connectTab().attach({ ...attachRequest('tab-1'), calls: [call] }, link)).ok).toBe(true)
    await until(() => events.some((event) => event.type === 'snapshot'), 'the snapshot')
    expect(events.find((event) => event.type === 'snapshot')).toMatchObject({ calls: [{ callLogId: 3 }] })
  })

  it("runs the page's reconnect hook when the socket is accepted", async () => {
    const { startHost, locks } = world()
    const { host, sockets } = startHost('worker')
    holdTabLock(locks, 'tab-1')
    let recovered = 0
    const link: TabLink = { deliver: async () => {}, release: () => {}, recover: async () => {
      recovered += 1
      return []
    } }
    const hooked = { ...attachRequest('tab-1'), interests: { messages: false, debug: false, recover: true } }
    expect((await host.connectTab().attach(hooked, link)).ok).toBe(true)
    accept(sockets.last())
    await until(() => recovered === 1, 'the hook to run')
  })

  it('logs a delivery that failed', async () => {
    const { startHost, locks } = world()
    const { host, logs } = startHost('worker')
    holdTabLock(locks, 'tab-1')
    const link: TabLink = { deliver: () => Promise.reject(new Error('port closed')), release: () => {}, recover: async () => [] }
    expect((await host.connectTab().attach(attachRequest('tab-1'), link)).ok).toBe(true)
    await until(() => logs.some((line) => line === 'could not deliver to tab tab-1: Error: port closed'), 'the log line')
  })

  it('that fell far behind is sent a snapshot in place of the state it missed', async () => {
    const { startHost, locks } = world()
    const { host, sockets } = startHost('worker')
    holdTabLock(locks, 'tab-1')
    const batches: HubEvent[][] = []
    let resume = () => {}
    const link: TabLink = {
      // The first batch is taken only when the test says: meanwhile the events pile up.
      deliver: (batch) => {
        batches.push(batch)
        return batches.length === 1 ? new Promise<void>((resolve) => (resume = resolve)) : Promise.resolve()
      },
      release: () => {},
      recover: async () => [],
    }
    expect((await host.connectTab().attach(attachRequest('tab-1'), link)).ok).toBe(true)
    accept(sockets.last())
    for (let id = 1; id <= 1_100; id += 1) {
      sockets.last().receive(invite(id))
      sockets.last().receive({ type: 'call_cancelled', call_log_id: id })
    }
    resume()
    await until(() => batches.length > 1, 'the next batch')
    expect(batches[1]![0]).toMatchObject({ type: 'snapshot' })
  })
})

describe('ownership changes', () => {
  it("a relayed tab's new token reaches the owner: its next connection authenticates with it", async () => {
    const { startHost, openTab, clock } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    expect(await tab.api.identify(aliceNewToken)).toEqual({ ok: true, value: undefined })
    owner.sockets.last().drop()
    clock.advance(1_000)
    expect(owner.sockets.sockets).toHaveLength(2)
    owner.sockets.last().open()
    expect(owner.sockets.last().frames()[0]).toMatchObject({ type: 'auth', token: 'tok-new' })
  })

  it('a third host attaches its tabs to whoever took the socket over, and a tab of another profile stays put', async () => {
    const { startHost, openTab, kill, locks } = world()
    const owner = startHost('owner')
    const next = startHost('next')
    const third = startHost('third')
    await openTab(owner.host, 'tab-1')
    const nextTab = await openTab(next.host, 'tab-2')
    const thirdTab = await openTab(third.host, 'tab-3')
    const parentTab = await openTab(next.host, 'tab-4', aliceParent)
    const parentSnapshots = snapshots(parentTab.events)
    kill(owner)
    locks.kill('tab-1')
    await until(() => next.sockets.sockets.length === 2, 'the next host to take the socket over')
    accept(next.sockets.last())
    await until(() => nextTab.status()?.type === 'open' && thirdTab.status()?.type === 'open', 'both tabs to hear the socket')
    expect(thirdTab.status()).toMatchObject({ tabs: 2 })
    expect(third.sockets.sockets).toHaveLength(0)
    expect(snapshots(parentTab.events)).toBe(parentSnapshots)
  })

  it("a relayed request in flight when the owner dies fails with HubWorkerLostError", async () => {
    const { startHost, openTab, kill, locks } = world()
    const owner = startHost('owner')
    // The follower's requests are lost on the way, as they are to a host dying.
    const follower = startHost('follower', undefined, (message) => message.type === 'call')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(follower.host, 'tab-2')
    const answer = tab.api.configure({ linger: 1_000 })
    kill(owner)
    locks.kill('tab-1')
    expect(await answer).toMatchObject({
      ok: false, error: { name: 'HubWorkerLostError', message: expect.stringContaining('the host that owned the socket went away before it answered') },
    })
  })

  it("another profile's new owner fails no request in flight", async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const follower = startHost('follower', undefined, (message) => message.type === 'call')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(follower.host, 'tab-2')
    let outcome: unknown
    void tab.api.configure({ linger: 1_000 }).then((answer) => (outcome = answer))
    probe().post(announceChannel, { v: 1, type: 'owner', key: 'Parent:1' })
    await tick(RELAY_TIMEOUT + 100)
    expect(outcome).toMatchObject({ ok: false, error: { name: 'HubTimeoutError' } })
  })

  it('a tab whose attach was in flight when the owner changed attaches again at the new one', async () => {
    const { startHost, openTab, locks } = world()
    const owner = startHost('owner')
    let lost = 0
    // The follower's first attach is lost on the way.
    const follower = startHost('follower', undefined, (message) => message.type === 'attach' && (lost += 1) === 1)
    await openTab(owner.host, 'tab-1')
    holdTabLock(locks, 'tab-2')
    const attaching = follower.host.connectTab().attach(attachRequest('tab-2'), quietLink)
    await until(() => lost === 1, 'the first attach to be sent')
    probe().post(announceChannel, { v: 1, type: 'owner', key })
    expect(await attaching).toMatchObject({ ok: true })
    await until(() => owner.host.counters().tabs === 2, 'the owner to count the tab')
  })

  it('an owner hands its socket over after the delay even when its linger is longer', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    const own = await openTab(owner.host, 'tab-1')
    await openTab(other.host, 'tab-2')
    accept(owner.sockets.last())
    expect(await own.api.configure({ linger: 60_000 })).toMatchObject({ ok: true })
    await own.api.detach()
    await tick(HANDOVER_AFTER + 100)
    expect(owner.sockets.last().closedWith).not.toBeNull()
    await until(() => other.sockets.sockets.length === 1, 'the other host to take the socket')
  })

  it("handing the socket over ends no call a relayed tab holds, nor does the relayed tab's new attach", async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(other.host, 'tab-2')
    const socket = owner.sockets.last()
    accept(socket)
    expect(await tab.api.track(77)).toMatchObject({ ok: true })
    // A rival's word makes the follower attach its tab to the owner again.
    const before = snapshots(tab.events)
    probe().post(announceChannel, { v: 1, type: 'owner', key })
    await until(() => snapshots(tab.events) > before, 'the tab to attach again')
    owner.host.suspend()
    expect(socket.closedWith).not.toBeNull()
    expect(socket.frames().filter((frame) => frame.type === 'call_ended')).toEqual([])
  })
})

describe('when locks fail', () => {
  it('a host whose owner lock cannot be taken owns the socket anyway, and says why', async () => {
    const fake = createFakeLocks()
    const logs: string[] = []
    const sockets = socketFactory()
    const locks: Locks = {
      request: (name, options, callback) =>
        name.startsWith('callhub:owner:') ? Promise.reject(new Error('lock manager gone')) : fake.scope('worker').request(name, options, callback),
    }
    const channels = channelScope()
    onTestFinished(channels.closeAll)
    const host = createHost({ hostId: 'worker', createSocket: sockets.createSocket, clock: createFakeClock(), random: () => 0, log: (line) => void logs.push(line), locks, channel: channels.open })
    holdTabLock(fake, 'tab-1')
    expect((await host.connectTab().attach(attachRequest('tab-1'), quietLink)).ok).toBe(true)
    expect(sockets.sockets).toHaveLength(1)
    expect(host.counters()).toMatchObject({ owned: 1, relayed: 0 })
    // It owns the socket from the first try: it never followed, and so never asked for the lock again.
    expect(logs.filter((line) => line.includes('could not take the owner lock'))).toEqual([
      `${key}: could not take the owner lock (Error: lock manager gone): owning the socket anyway`,
    ])
  })

  it('an owner whose socket was taken over while it looked frozen lets that profile go, and keeps its others', async () => {
    const { startHost, openTab, tick, freeze } = world()
    const frozen = startHost('frozen')
    const other = startHost('other')
    await openTab(frozen.host, 'tab-1')
    const parentTab = await openTab(frozen.host, 'tab-1p', aliceParent)
    const parentSocket = frozen.sockets.last()
    accept(parentSocket)
    await openTab(other.host, 'tab-2')
    const parentSnapshots = snapshots(parentTab.events)
    freeze(frozen)
    await tick(OWNER_SILENCE + OWNER_PING_INTERVAL * 2)
    await until(() => other.sockets.sockets.length === 1, 'the follower to take the socket over')
    await until(() => frozen.sockets.sockets[0]!.closedWith !== null, 'the frozen owner to let its socket go')
    expect(frozen.logs).toContain(`${key}: another host took the socket over (this one looked unresponsive)`)
    expect(parentSocket.closedWith).toBeNull()
    expect(snapshots(parentTab.events)).toBe(parentSnapshots)
    expect(frozen.host.counters().owned).toBe(1)
  })
})

describe('without Web Locks or channels', () => {
  it('a host lets a profile go when its session closes, and owns it again for the next tab', async () => {
    const clock = createFakeClock()
    const sockets = socketFactory()
    const host = createHost({ hostId: 'worker', createSocket: sockets.createSocket, clock, random: () => 0, log: () => {}, locks: null, channel: null })
    const api = host.connectTab()
    expect((await api.attach(attachRequest('tab-1'), quietLink)).ok).toBe(true)
    expect(await api.detach()).toMatchObject({ ok: true })
    clock.advance(HANDOVER_AFTER + 100)
    expect(sockets.last().closedWith).not.toBeNull()
    expect(host.counters()).toMatchObject({ owned: 0, sessions: 0 })
    expect((await host.connectTab().attach(attachRequest('tab-2'), quietLink)).ok).toBe(true)
    expect(host.counters()).toMatchObject({ owned: 1, sessions: 1 })
    expect(sockets.sockets).toHaveLength(2)
  })
})

describe('a relayed tab', () => {
  it('that fell far behind at the owner is sent a snapshot in place of the state it missed', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(follower.host, 'tab-2')
    const socket = owner.sockets.last()
    accept(socket)
    await until(() => tab.status()?.type === 'open', 'the tab to hear the socket is open')
    const before = snapshots(tab.events)
    // A burst in one go: more state events than a tab may have waiting.
    for (let id = 1; id <= 600; id += 1) {
      socket.receive(invite(id))
      socket.receive({ type: 'call_cancelled', call_log_id: id })
    }
    await until(() => snapshots(tab.events) > before, 'the snapshot')
    expect(tab.calls()).toEqual([])
  })
})

describe('a follower, further', () => {
  it(`takes over a silent owner only once it has been silent for more than ${OWNER_SILENCE} ms`, async () => {
    const { startHost, openTab, tick, freeze } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    await openTab(owner.host, 'tab-1')
    await openTab(follower.host, 'tab-2')
    // The owner last answered (the attach) just now; the follower checks every OWNER_PING_INTERVAL from now.
    freeze(owner)
    await tick(OWNER_SILENCE)
    expect(follower.sockets.sockets).toHaveLength(0)
    await tick(OWNER_PING_INTERVAL)
    await until(() => follower.sockets.sockets.length === 1, 'the follower to take the socket over')
  })

  it('that is suspended keeps relaying: it owns nothing to hand over', async () => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const follower = startHost('follower')
    const first = await openTab(owner.host, 'tab-1')
    await openTab(follower.host, 'tab-2')
    accept(owner.sockets.last())
    follower.host.suspend()
    expect(follower.logs.filter((line) => line.includes('suspended'))).toEqual([])
    expect(follower.host.counters()).toMatchObject({ relayed: 1, owned: 0 })
    expect(owner.sockets.last().closedWith).toBeNull()
    await until(() => first.status()?.tabs === 2, 'the owner to count both tabs')
  })

  it('logs a request its channel refuses to carry, which then times out', async () => {
    const { startHost, openTab, tick } = world()
    const owner = startHost('owner')
    // The channel throws on the follower's requests, as postMessage does on what it cannot clone.
    const follower = startHost('follower', undefined, (message) => {
      if (message.type === 'call') throw new Error('DataCloneError')
      return false
    })
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(follower.host, 'tab-2')
    let outcome: unknown
    void tab.api.configure({ linger: 1_000 }).then((answer) => (outcome = answer))
    await until(() => follower.logs.includes(`could not post to callhub:owner:${key}: Error: DataCloneError`), 'the log line')
    await tick(RELAY_TIMEOUT + 100)
    expect(outcome).toMatchObject({ ok: false, error: { name: 'HubTimeoutError' } })
  })
})

describe('a tab found gone', () => {
  it('before it is placed (its own lock was free: the tab had died) is not served, and opens no socket', async () => {
    const { startHost } = world()
    const { host, sockets } = startHost('worker')
    await host.connectTab().attach(attachRequest('tab-1'), quietLink)
    expect(host.counters()).toMatchObject({ tabs: 0, owned: 0 })
    expect(sockets.sockets).toHaveLength(0)
  })
})

describe('a host relaying two profiles to two owners', () => {
  async function twoOwners() {
    const world$ = world()
    const tutorOwner = world$.startHost('tutor-owner')
    const parentOwner = world$.startHost('parent-owner')
    const relay = world$.startHost('relay')
    await world$.openTab(tutorOwner.host, 'tab-1')
    await world$.openTab(parentOwner.host, 'tab-p', aliceParent)
    const tutorTab = await world$.openTab(relay.host, 'tab-2')
    const parentTab = await world$.openTab(relay.host, 'tab-3', aliceParent)
    expect(relay.host.counters()).toMatchObject({ relayed: 2, owned: 0 })
    return { ...world$, tutorOwner, parentOwner, relay, tutorTab, parentTab }
  }

  it("re-attaches only the tabs of the profile whose owner changed", async () => {
    const { tutorTab, parentTab } = await twoOwners()
    const [tutorBefore, parentBefore] = [snapshots(tutorTab.events), snapshots(parentTab.events)]
    probe().post(announceChannel, { v: 1, type: 'owner', key })
    await until(() => snapshots(tutorTab.events) > tutorBefore, 'the tab of that profile to attach again')
    expect(snapshots(parentTab.events)).toBe(parentBefore)
  })

  it("takes over the profile whose owner died, and keeps relaying the other", async () => {
    const { tutorOwner, relay, parentTab, kill, locks } = await twoOwners()
    const parentBefore = snapshots(parentTab.events)
    kill(tutorOwner)
    locks.kill('tab-1')
    await until(() => relay.sockets.sockets.length === 1, 'the relay to take the socket over')
    await until(() => relay.host.counters().relayed === 1, 'its tab of that profile to be served here')
    expect(relay.sockets.last().url).toBe('ws://hub.test/ws/1/Tutor')
    expect(snapshots(parentTab.events)).toBe(parentBefore)
  })

  it('stops waiting for the socket of a profile none of its tabs uses, while it relays the other', async () => {
    const { tutorOwner, relay, tutorTab, kill, locks, tick } = await twoOwners()
    expect(await tutorTab.api.detach()).toMatchObject({ ok: true })
    await until(() => tutorOwner.host.counters().tabs === 1, 'the owner to let the tab go')
    await tick(100)
    kill(tutorOwner)
    locks.kill('tab-1')
    await tick(500)
    expect(locks.holder(ownerLock(key))).toBeNull()
    expect(relay.sockets.sockets).toHaveLength(0)
  })
})

describe('leaving', () => {
  it('a second detach, or a port closing after one, is answered quietly', async () => {
    const { startHost, openTab } = world()
    const { host } = startHost('worker')
    const tab = await openTab(host, 'tab-1')
    expect(await tab.api.detach()).toEqual({ ok: true, value: undefined })
    expect(await tab.api.detach()).toEqual({ ok: true, value: undefined })
    expect(() => tab.api.disconnect()).not.toThrow()
    expect(tab.connection.closed).toBe(false)
  })

  it.each(['local', 'relayed'] as const)('a %s tab that closes with a call it placed ends the call, telling the backend the tab closed', async (where) => {
    const { startHost, openTab } = world()
    const owner = startHost('owner')
    const other = startHost('other')
    await openTab(owner.host, 'tab-1')
    const tab = await openTab(where === 'local' ? owner.host : other.host, 'tab-2')
    const socket = owner.sockets.last()
    accept(socket)
    expect(await tab.api.track(77)).toMatchObject({ ok: true })
    tab.api.disconnect()
    await until(() => socket.frames().some((frame) => frame.type === 'call_ended'), 'the end of the call')
    expect(socket.frames().filter((frame) => frame.type === 'call_ended')).toEqual([{ type: 'call_ended', call_log_id: 77, reason: 'tab_closed' }])
  })
})
