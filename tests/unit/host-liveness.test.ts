/**
 * How a host learns that a tab is gone when the tab says nothing: a tab that crashes or is killed never
 * detaches (no `pagehide`), and Chromium fires no MessagePort close event (whatwg/html#1766). With Web Locks
 * the browser releases the tab's own lock; without them, the tab stops pinging.
 */
import { describe, expect, it } from 'vitest'
import type { HubEvent } from '../../protocol/port'
import { TAB_PING_INTERVAL, TAB_SILENCE_LIMIT, createHost } from '../../core/host'
import { createFakeClock, socketFactory } from './fakes'
import { accept, alice, attachRequest, invite, until, world } from './host-world'

describe('a tab that dies without a word', () => {
  it('is let go once the browser releases its Web Lock: the others count one tab fewer, and the ringing moves to them', async () => {
    const { startHost, openTab, locks } = world()
    const { host, sockets } = startHost('worker')
    // The tab that dies is the focused one, so it is the one that rings.
    const dying = await openTab(host, 'tab-1', alice, { visible: true, focused: true })
    const staying = await openTab(host, 'tab-2', alice, { visible: false, focused: false })
    accept(sockets.last())
    sockets.last().receive(invite(1))
    await until(() => dying.ringer() && staying.calls().length === 1, 'the call to ring in the focused tab')
    expect(staying.ringer()).toBe(false)

    locks.kill('tab-1')
    await until(() => staying.status()?.tabs === 1, 'the others to count one tab fewer')
    await until(() => staying.ringer(), 'the ringing to move to the tab that is left')
    expect(dying.connection.closed).toBe(true)
    expect(host.counters()).toMatchObject({ tabs: 1, ringing: 1 })
    // Its socket stays: another tab still uses the profile.
    expect(sockets.last().closedWith).toBeNull()
  })

  it('of another host (a tab running the hub itself) is let go by the owner through its Web Lock', async () => {
    const { startHost, openTab, locks, kill } = world()
    const owner = startHost('worker')
    const pageHost = startHost('page-host')
    const first = await openTab(owner.host, 'tab-1')
    await openTab(pageHost.host, 'tab-2')
    accept(owner.sockets.last())
    await until(() => first.status()?.tabs === 2, 'both tabs on the owner')
    // The page and the host it runs die together: nobody relays a detach; only the tab's lock is left.
    kill(pageHost)
    locks.kill('tab-2')
    await until(() => first.status()?.tabs === 1, 'the owner to let the dead tab go')
    expect(owner.host.counters().tabs).toBe(1)
  })
})

describe('without Web Locks', () => {
  it(`a tab silent for ${TAB_SILENCE_LIMIT / 1000} s is let go, and one that pings every ${TAB_PING_INTERVAL / 1000} s stays`, async () => {
    const clock = createFakeClock()
    const sockets = socketFactory()
    const host = createHost({ hostId: 'worker', createSocket: sockets.createSocket, clock, random: () => 0, log: () => {}, locks: null, channel: null })
    const closed: string[] = []
    const events: HubEvent[] = []
    const link = { deliver: async (batch: HubEvent[]) => void events.push(...batch), release: () => {}, recover: async () => [] }
    const silent = host.connectTab(() => closed.push('silent'))
    const pinging = host.connectTab(() => closed.push('pinging'))
    expect((await silent.attach(attachRequest('silent'), link)).ok).toBe(true)
    expect((await pinging.attach(attachRequest('pinging'), link)).ok).toBe(true)
    accept(sockets.last())
    for (let waited = 0; waited <= TAB_SILENCE_LIMIT; waited += TAB_PING_INTERVAL) {
      expect(await pinging.ping()).toEqual({ ok: true, value: { hostId: 'worker', attached: true } })
      clock.advance(TAB_PING_INTERVAL)
    }
    expect(closed).toEqual(['silent'])
    expect(await silent.ping()).toEqual({ ok: true, value: { hostId: 'worker', attached: false } })
    expect(host.counters().tabs).toBe(1)
  })
})
