/**
 * How a host claims, holds and lets go of a profile's socket when two things happen at once: a lock granted
 * after the host gave way, a watch outliving the role it watched, an owner's reply for a role already gone.
 * The fakes set the moment: an owner lock's grant held until the test lets it through, a lock request the test
 * fails, a host frozen or told to give way between two steps.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { announceChannel, hostChannel, ownerChannel, ownerLock } from '../../protocol/hosts'
import { HANDOVER_AFTER, OWNER_PING_INTERVAL, OWNER_SILENCE, RELAY_TIMEOUT, createHost } from '../../core/host'
import type { Host, HostDeps, Locks } from '../../core/host'
import { channelScope, socketFactory } from './fakes'
import { accept, aliceAgain, aliceParent, attachRequest, holdTabLock, recordingLink, until, world } from './host-world'

type World = ReturnType<typeof world>

const key = 'Tutor:1'

/**
 * A host on the world's clock and locks whose channels the test watches: the names it opened, one entry per
 * channel object, and every message it posted.
 */
function watchedHost(w: World, id: string, deps: Partial<HostDeps> = {}) {
  const sockets = socketFactory()
  const channels = channelScope()
  onTestFinished(channels.closeAll)
  const logs: string[] = []
  const opened: string[] = []
  const posted: Array<{ name: string; message: Record<string, unknown> }> = []
  const open = (name: string) => {
    opened.push(name)
    const channel = channels.open(name)
    const post = channel.postMessage.bind(channel)
    channel.postMessage = (message) => {
      posted.push({ name, message: message as Record<string, unknown> })
      post(message)
    }
    return channel
  }
  const host = createHost({
    hostId: id, createSocket: sockets.createSocket, clock: w.clock, random: () => 0, log: (line) => void logs.push(line),
    locks: w.locks.scope(id), channel: open, ...deps,
  })
  return { host, sockets, logs, opened, posted }
}

/**
 * `owner`'s locks, but a grant of the profile's owner lock (or the answer that it is not available) waits in
 * flight until the test calls `letThrough` (only the grants of requests `holds` picks: by default, all).
 */
function heldOwnerGrant(w: World, owner: string, holds: (options: Parameters<Locks['request']>[1]) => boolean = () => true) {
  let letThrough!: () => void
  const gate = new Promise<void>((resolve) => (letThrough = resolve))
  let granted = false
  let answered = false
  const locks: Locks = {
    request: (name, options, callback) => w.locks.scope(owner).request(name, options, name !== ownerLock(key) || !holds(options) ? callback : async (lock) => {
      granted = lock !== null
      answered = true
      await gate
      return callback(lock)
    }),
  }
  return { locks, letThrough, granted: () => granted, answered: () => answered }
}

/** A tab attaching to `host`, unanswered yet; `left()`: the host let it go (its Web Lock was granted to the host). */
function unanswered(w: World, host: Host, tabId: string) {
  holdTabLock(w.locks, tabId)
  let left = false
  void host.connectTab(() => void (left = true)).attach(attachRequest(tabId), recordingLink().link)
  return { left: () => left }
}

/**
 * Host `id`, owning the profile for a tab that died while the owner lock was on its way: the host holds the lock,
 * and no tab of the profile is attached there (no session, nobody to serve).
 */
async function ownerOfNobody(w: World, id: string) {
  const held = heldOwnerGrant(w, id)
  const owner = watchedHost(w, id, { locks: held.locks })
  const tab = unanswered(w, owner.host, 'tab-1')
  await until(held.granted, 'the owner lock to be granted')
  w.locks.kill('tab-1')
  await until(tab.left, 'the tab to be let go')
  held.letThrough()
  await until(() => owner.host.counters().owned === 1, 'the host to own the profile')
  return owner
}

/** Another host takes the profile's owner lock from whoever holds it, and keeps it. */
function steal(w: World): void {
  void w.locks.scope('thief').request(ownerLock(key), { steal: true }, () => new Promise(() => {}))
}

/** A host of a newer protocol version speaks to `hostId`: it gives way. */
function newerHostSpeaksTo(hostId: string): void {
  const channels = channelScope()
  onTestFinished(channels.closeAll)
  channels.open(hostChannel(hostId)).postMessage({ v: 2, from: 'newer', type: 'reply', rid: 0, outcome: { ok: true, value: null } })
}

describe('a host claiming a profile', () => {
  it('for two tabs attaching while the lock is on its way serves both here, with one socket', async () => {
    const w = world()
    const held = heldOwnerGrant(w, 'host')
    const host = watchedHost(w, 'host', { locks: held.locks })
    const first = w.openTab(host.host, 'tab-1')
    await until(held.granted, 'the owner lock to be granted')
    // The second tab's place finds the claim under way: it waits for that claim.
    const second = w.openTab(host.host, 'tab-2')
    await w.tick(50)
    held.letThrough()
    const tabs = await Promise.all([first, second])
    await until(() => tabs.every((tab) => tab.status()?.tabs === 2), 'both tabs to hear of each other')
    expect(host.host.counters()).toMatchObject({ owned: 1, relayed: 0, tabs: 2 })
    expect(host.sockets.sockets).toHaveLength(1)
    expect(host.posted.filter(({ name }) => name === ownerChannel(key))).toEqual([])
  })
})

describe('a host relaying', () => {
  it('opens the channel to an owner once, however many requests it sends there', async () => {
    const w = world()
    await w.openTab(w.startHost('owner').host, 'tab-1')
    const follower = watchedHost(w, 'follower')
    const tab = await w.openTab(follower.host, 'tab-2')
    for (const linger of [1_000, 2_000, 3_000]) expect(await tab.api.configure({ linger })).toMatchObject({ ok: true })
    expect(follower.opened.filter((name) => name === ownerChannel(key))).toEqual([ownerChannel(key)])
  })

  it('answers a tab that leaves the profile while its last other tab of it detaches', async () => {
    const w = world()
    await w.openTab(w.startHost('owner').host, 'tab-1')
    const follower = w.startHost('follower')
    const leaving = await w.openTab(follower.host, 'tab-2')
    const moving = await w.openTab(follower.host, 'tab-3')
    // Both go to the owner at once: its first answer lets the follower stop following, before the second comes.
    expect(await leaving.api.detach()).toMatchObject({ ok: true })
    let answer: unknown
    void moving.api.identify(aliceParent).then((outcome) => (answer = outcome))
    await until(() => answer !== undefined, 'the move to be answered')
    expect(answer).toEqual({ ok: true, value: null })
    expect(follower.host.counters()).toMatchObject({ owned: 1, relayed: 0 })
  })
})

describe('a host that gives way', () => {
  it('while the owner lock it claimed is on its way takes no socket when the grant comes', async () => {
    const w = world()
    const held = heldOwnerGrant(w, 'older')
    const older = watchedHost(w, 'older', { locks: held.locks })
    holdTabLock(w.locks, 'tab-1')
    const { link, events } = recordingLink()
    void older.host.connectTab().attach(attachRequest('tab-1'), link)
    await until(held.granted, 'the owner lock to be granted')
    newerHostSpeaksTo('older')
    await until(() => events.some((event) => event.type === 'status' && event.status.type === 'closed'), 'the host to give way')
    held.letThrough()
    await until(() => w.locks.holder(ownerLock(key)) === null, 'the owner lock to be let go')
    expect(older.sockets.sockets).toHaveLength(0)
    expect(older.host.counters()).toMatchObject({ owned: 0 })
  })

  it("holding a profile's owner lock with no session lets it go, and does not take the socket back from the next owner", async () => {
    const w = world()
    const older = await ownerOfNobody(w, 'older')
    newerHostSpeaksTo('older')
    await until(() => older.host.counters().owned === 0, 'the host to give way')
    expect(w.locks.holder(ownerLock(key))).toBe(null)
    const next = w.startHost('next')
    const attaching = w.openTab(next.host, 'tab-2')
    await w.tick(OWNER_SILENCE + OWNER_PING_INTERVAL * 2)
    await attaching
    await until(() => w.locks.holder(ownerLock(key)) === 'next', 'the next host to take the lock')
    await w.tick(100)
    expect(older.logs.filter((line) => line.includes('took the socket over'))).toEqual([])
    expect(older.sockets.sockets).toHaveLength(0)
  })

  it('and whose wait for an owner lock then fails neither owns the socket nor announces it', async () => {
    const w = world()
    await w.openTab(w.startHost('owner').host, 'tab-1')
    let failWait!: (error: Error) => void
    // A lock manager that fails the follower's wait (it ignores the abort that giving way sends it).
    const locks: Locks = {
      request: (name, options, callback) => name === ownerLock(key) && options.signal !== undefined
        ? new Promise((_, reject) => (failWait = reject))
        : w.locks.scope('older').request(name, options, callback),
    }
    const older = watchedHost(w, 'older', { locks })
    const tab = await w.openTab(older.host, 'tab-2')
    newerHostSpeaksTo('older')
    await until(() => tab.status()?.type === 'closed', 'the host to give way')
    failWait(new Error('lock manager gone'))
    await w.tick(50)
    expect(older.host.counters()).toMatchObject({ owned: 0 })
    expect(older.posted.filter(({ name }) => name === announceChannel)).toEqual([])
    expect(older.sockets.sockets).toHaveLength(0)
  })
})

describe('a tab attaching while its host gives way', () => {
  it('is answered and told to reload once the owner lock it claimed comes, and its requests do not wait', async () => {
    const w = world()
    const held = heldOwnerGrant(w, 'older')
    const older = watchedHost(w, 'older', { locks: held.locks })
    holdTabLock(w.locks, 'tab-1')
    const { link, events } = recordingLink()
    const tab = older.host.connectTab()
    const attaching = tab.attach(attachRequest('tab-1'), link)
    await until(held.granted, 'the owner lock to be granted')
    newerHostSpeaksTo('older')
    await until(() => older.logs.some((line) => line.includes('a newer version')), 'the host to give way')
    held.letThrough()
    expect(await attaching).toMatchObject({ ok: true })
    expect(await tab.send('{"type":"chat"}')).toMatchObject({ ok: false, error: { name: 'HubWorkerLostError' } })
    expect(events.filter((event) => event.type === 'status').at(-1)).toMatchObject({ status: { type: 'closed' } })
    expect(older.host.counters()).toMatchObject({ owned: 0 })
  })

  it('is answered and told to reload when the lock request it claimed with then fails', async () => {
    const w = world()
    let failClaim!: (error: Error) => void
    const locks: Locks = {
      request: (name, options, callback) => name === ownerLock(key)
        ? new Promise((_, reject) => (failClaim = reject))
        : w.locks.scope('older').request(name, options, callback),
    }
    const older = watchedHost(w, 'older', { locks })
    holdTabLock(w.locks, 'tab-1')
    const { link, events } = recordingLink()
    const attaching = older.host.connectTab().attach(attachRequest('tab-1'), link)
    await until(() => failClaim !== undefined, 'the owner lock to be claimed')
    newerHostSpeaksTo('older')
    await until(() => older.logs.some((line) => line.includes('a newer version')), 'the host to give way')
    failClaim(new Error('lock manager gone'))
    expect(await attaching).toMatchObject({ ok: true })
    expect(events.filter((event) => event.type === 'status').at(-1)).toMatchObject({ status: { type: 'closed' } })
    expect(older.host.counters()).toMatchObject({ owned: 0 })
    expect(older.sockets.sockets).toHaveLength(0)
  })

  it('is answered when another host holds the lock, and its host follows nobody', async () => {
    const w = world()
    await w.openTab(w.startHost('owner').host, 'tab-1')
    const held = heldOwnerGrant(w, 'older')
    const older = watchedHost(w, 'older', { locks: held.locks })
    holdTabLock(w.locks, 'tab-2')
    const tab = older.host.connectTab()
    const attaching = tab.attach(attachRequest('tab-2'), recordingLink().link)
    // The owner holds the lock: the claim is answered "not granted", and that answer is held on its way.
    await until(() => !held.granted() && w.locks.holder(ownerLock(key)) === 'owner', 'the claim to be answered')
    await w.tick(0)
    newerHostSpeaksTo('older')
    await until(() => older.logs.some((line) => line.includes('a newer version')), 'the host to give way')
    held.letThrough()
    expect(await attaching).toMatchObject({ ok: true })
    await w.tick(OWNER_PING_INTERVAL * 2)
    expect(w.locks.waiting(ownerLock(key))).toEqual([])
    expect(older.posted.filter(({ name }) => name === ownerChannel(key))).toEqual([])
  })
})

describe('an owner lock with nobody to serve', () => {
  it('taken for a tab that left while it was claimed is let go once the handover delay passes', async () => {
    const w = world()
    const host = await ownerOfNobody(w, 'host')
    await w.tick(HANDOVER_AFTER - 100)
    expect(w.locks.holder(ownerLock(key))).toBe('host')
    await w.tick(200)
    expect(w.locks.holder(ownerLock(key))).toBe(null)
    expect(host.host.counters()).toMatchObject({ owned: 0 })
    expect(host.logs).toContain(`${key}: no tab uses this profile's socket here; letting the lock go`)
    expect(host.sockets.sockets).toHaveLength(0)
  })

  it('taken for a tab that left while it was claimed is let go at once when its host is suspended', async () => {
    const w = world()
    const host = await ownerOfNobody(w, 'host')
    host.host.suspend()
    await until(() => w.locks.holder(ownerLock(key)) === null, 'the lock to be let go')
    expect(host.host.counters()).toMatchObject({ owned: 0 })
    expect(host.sockets.sockets).toHaveLength(0)
  })

  it("taken by a follower as its last tab's detach was on its way to the dying owner is let go too", async () => {
    const w = world()
    const owner = w.startHost('owner')
    await w.openTab(owner.host, 'tab-1')
    const follower = watchedHost(w, 'follower')
    const leaving = await w.openTab(follower.host, 'tab-2')
    void leaving.api.detach()
    w.kill(owner)
    await until(() => follower.host.counters().owned === 1, 'the follower to take the lock')
    await w.tick(HANDOVER_AFTER + 100)
    expect(w.locks.holder(ownerLock(key))).toBe(null)
    expect(follower.host.counters()).toMatchObject({ owned: 0 })
    expect(follower.sockets.sockets).toHaveLength(0)
  })
})

describe('an owner lock taken from its host', () => {
  it('while no tab of the profile is attached there: the host stops owning it, and its next tab follows', async () => {
    const w = world()
    const host = await ownerOfNobody(w, 'host')
    steal(w)
    await until(() => host.logs.some((line) => line.includes('another host took the socket over')), 'the host to hear of the theft')
    expect(host.host.counters()).toMatchObject({ owned: 0 })
    holdTabLock(w.locks, 'tab-2')
    void host.host.connectTab().attach(attachRequest('tab-2'), recordingLink().link)
    await until(() => host.host.counters().relayed === 1, 'the next tab to be relayed')
    expect(w.locks.waiting(ownerLock(key))).toEqual(['host'])
    expect(host.sockets.sockets).toHaveLength(0)
  })

  it('the moment it is granted: the tab it was claimed for follows the host that took it', async () => {
    const w = world()
    // The theft lands before the grant reaches the host, so the host hears of it as the claim is decided.
    const locks: Locks = {
      request: (name, options, callback) => w.locks.scope('host').request(name, options, name !== ownerLock(key) ? callback : (lock) => {
        if (lock !== null) steal(w)
        return callback(lock)
      }),
    }
    const host = watchedHost(w, 'host', { locks })
    holdTabLock(w.locks, 'tab-1')
    void host.host.connectTab().attach(attachRequest('tab-1'), recordingLink().link)
    await until(() => host.host.counters().relayed === 1, 'the tab to be relayed')
    expect(w.locks.holder(ownerLock(key))).toBe('thief')
    expect(w.locks.waiting(ownerLock(key))).toEqual(['host'])
    expect(host.host.counters()).toMatchObject({ owned: 0 })
    expect(host.sockets.sockets).toHaveLength(0)
  })
})

describe('a follower whose tab leaves while the host claims its profile', () => {
  it('stops waiting for the owner lock, and does not take the socket when the owner goes', async () => {
    const w = world()
    const owner = w.startHost('owner')
    await w.openTab(owner.host, 'tab-1')
    const held = heldOwnerGrant(w, 'follower')
    const follower = watchedHost(w, 'follower', { locks: held.locks })
    const tab = unanswered(w, follower.host, 'tab-2')
    await until(held.answered, 'the claim to be answered')
    expect(held.granted()).toBe(false)
    w.locks.kill('tab-2')
    await until(tab.left, 'the tab to be let go')
    held.letThrough()
    await w.tick(50)
    expect(w.locks.waiting(ownerLock(key))).toEqual([])
    w.kill(owner)
    await w.tick(OWNER_PING_INTERVAL * 2)
    expect(w.locks.holder(ownerLock(key))).toBe(null)
    expect(follower.host.counters()).toMatchObject({ owned: 0 })
    expect(follower.sockets.sockets).toHaveLength(0)
  })
})

describe('a follower whose owner goes away as it gives way', () => {
  it('does not take the socket when the owner lock is granted after it gave way', async () => {
    const w = world()
    const owner = w.startHost('owner')
    await w.openTab(owner.host, 'tab-1')
    // Only the follower's wait for the lock is held, not its first claim.
    const held = heldOwnerGrant(w, 'older', (options) => options.signal !== undefined)
    const older = watchedHost(w, 'older', { locks: held.locks })
    const tab = await w.openTab(older.host, 'tab-2')
    w.locks.kill('owner')
    await until(held.granted, 'the owner lock to be granted to the follower')
    newerHostSpeaksTo('older')
    await until(() => tab.status()?.type === 'closed', 'the host to give way')
    held.letThrough()
    await w.tick(50)
    expect(older.posted.filter(({ name }) => name === announceChannel)).toEqual([])
    expect(older.host.counters()).toMatchObject({ owned: 0 })
    expect(older.sockets.sockets).toHaveLength(0)
  })
})

describe('a follower', () => {
  it('that took a socket over and handed it on does not take it back from the next owner while it answers', async () => {
    const w = world()
    const first = w.startHost('first')
    const second = w.startHost('second')
    const third = w.startHost('third')
    await w.openTab(first.host, 'tab-1')
    const secondTab = await w.openTab(second.host, 'tab-2')
    const thirdTab = await w.openTab(third.host, 'tab-3')
    w.kill(first)
    w.locks.kill('tab-1')
    await until(() => second.sockets.sockets.length === 1, 'the second host to take the socket over')
    accept(second.sockets.last())
    await until(() => thirdTab.status()?.type === 'open', 'the third host to follow the second')
    second.host.suspend()
    await until(() => third.sockets.sockets.length === 1, 'the third host to take the socket over')
    accept(third.sockets.last())
    await until(() => secondTab.status()?.type === 'open', 'the second host to follow the third')
    await w.tick(OWNER_SILENCE * 3)
    expect(w.locks.holder(ownerLock(key))).toBe('third')
    expect(third.sockets.last().closedWith).toBeNull()
    expect(second.sockets.sockets).toHaveLength(1)
  })

  it('whose last tab of a profile is on its way out does not take that socket from a silent owner, nor for a tab relayed elsewhere', async () => {
    const w = world()
    const owner = w.startHost('owner')
    const parentOwner = w.startHost('parent-owner')
    const follower = w.startHost('follower')
    await w.openTab(owner.host, 'tab-1')
    await w.openTab(parentOwner.host, 'tab-p', aliceParent)
    const moving = await w.openTab(follower.host, 'tab-2')
    // Relayed to the other profile's owner, which answers.
    await w.openTab(follower.host, 'tab-3', aliceParent)
    accept(owner.sockets.last())
    w.freeze(owner)
    let answer: unknown
    void moving.api.identify(aliceParent).then((outcome) => (answer = outcome))
    // Its detach at the silent owner waits RELAY_TIMEOUT; meanwhile no tab of the follower uses the socket.
    await w.tick(OWNER_SILENCE * 3)
    expect(follower.sockets.sockets).toEqual([])
    expect(owner.sockets.sockets).toHaveLength(1)
    expect(owner.sockets.last().closedWith).toBeNull()
    await w.tick(RELAY_TIMEOUT)
    await until(() => answer !== undefined, 'the move to be answered')
    expect(answer).toEqual({ ok: true, value: null })
    expect(follower.host.counters()).toMatchObject({ owned: 0, relayed: 2 })
    expect(follower.sockets.sockets).toEqual([])
    expect(owner.sockets.sockets).toHaveLength(1)
  })
})

describe('a tab signed out by another tab of its profile', () => {
  it('signing in again claims the socket: another host follows it instead of opening a second socket', async () => {
    const w = world()
    const host = w.startHost('host')
    const leaving = await w.openTab(host.host, 'tab-1')
    const staying = await w.openTab(host.host, 'tab-2')
    accept(host.sockets.last())
    expect(await leaving.api.identify({ type: 'signed-out' })).toMatchObject({ ok: true })
    await until(() => staying.status()?.type === 'signed-out', 'the other tab to be signed out')
    expect(w.locks.holder(ownerLock(key))).toBe(null)
    // The page hears of the new sign-in (its token in storage) and tells the host, for the same profile.
    expect(await staying.api.identify(aliceAgain)).toMatchObject({ ok: true })
    await until(() => host.sockets.sockets.length === 2, 'the socket to open again')
    accept(host.sockets.last())
    expect(w.locks.holder(ownerLock(key))).toBe('host')
    const other = w.startHost('other')
    await w.openTab(other.host, 'tab-3', aliceAgain)
    expect(other.sockets.sockets).toHaveLength(0)
    expect(w.openSockets()).toHaveLength(1)
  })
})
