/** The tab's link to its host, driven with a fake host, fake locks and a fake clock. */
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import {
  CallNotRingingError, HubClosedError, HubTimeoutError, HubWorkerLostError, TabNotAttachedError, toWire,
} from '../../protocol/errors'
import type { Outcome } from '../../protocol/errors'
import type { AttachRequest, Attached, HubEvent } from '../../protocol/port'
import type { Invitation } from '../../protocol/wire'
import { TAB_PING_INTERVAL } from '../../core/host'
import { createLink, holdTabLock } from '../../client/link'
import type { Connector, HostCalls, HostConnection, LinkState } from '../../client/link'
import { createFakeClock, createFakeLocks } from './fakes'

const request: AttachRequest = {
  tabId: 'tab', identity: { type: 'signed-out' }, online: true, presence: { visible: true, focused: true }, settings: {},
  interests: { messages: false, debug: false, recover: false }, calls: [], sessions: [],
}
const flush = () => new Promise((resolve) => setTimeout(resolve, 0))
const ok = <T>(value: T): Outcome<T> => ({ ok: true, value })
const invitation: Invitation = {
  callLogId: 1, conversationId: 2, callType: 'voice', from: { name: 'Ada', avatar: null, profileId: null, profileType: null }, offer: null, expiresAt: null,
}

/** A host that answers as the test says: each connection records what it was asked. */
function fakeHost(options: { hostLock?: string | null } = {}) {
  const connections: Array<{
    attach: ReturnType<typeof deferred<Outcome<Attached>>>
    calls: Partial<Record<keyof HostCalls, (...args: unknown[]) => Promise<Outcome<unknown>>>>
    disposed: boolean
    deliver: (events: HubEvent[]) => void
    fail: (reason: string) => void
  }> = []
  let hostCount = 0
  const connect = (deliver: (events: HubEvent[]) => void): HostConnection => {
    const attach = deferred<Outcome<Attached>>()
    let fail!: (reason: string) => void
    const failed = new Promise<string>((resolve) => (fail = resolve))
    const entry = { attach, calls: {} as Partial<Record<keyof HostCalls, (...args: unknown[]) => Promise<Outcome<unknown>>>>, disposed: false, deliver, fail }
    connections.push(entry)
    const calls = new Proxy({} as HostCalls, {
      get: (_, method: string) => (...args: unknown[]) => {
        const handler = entry.calls[method as keyof HostCalls]
        if (handler) return handler(...args)
        return Promise.resolve(method === 'ping' ? ok({ hostId: `host-${hostCount}`, attached: true }) : ok(undefined))
      },
    })
    return {
      calls,
      attach: () => attach.promise,
      failed,
      dispose: () => void (entry.disposed = true),
    }
  }
  const answerAttach = (index: number, hostLock = options.hostLock ?? null) => {
    hostCount += 1
    connections[index]!.attach.resolve(ok({ hostLock, hostId: `host-${hostCount}` }))
  }
  return { connect, connections, answerAttach }
}

/** Counts the pings a host connection answers (as the same host, still attaching the tab). */
function countPings(connection: ReturnType<typeof fakeHost>['connections'][number]): () => number {
  let pings = 0
  connection.calls.ping = async () => {
    pings += 1
    return ok({ hostId: 'host-1', attached: true })
  }
  return () => pings
}

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((done) => (resolve = done))
  return { promise, resolve }
}

function setup(options: {
  locks?: ReturnType<typeof createFakeLocks>
  hostLock?: string | null
  /** Settles when the tab holds its own lock: by default, at once. */
  tabLockHeld?: Promise<void>
  /** Wraps the fake host's connector (one that is slow, or throws). */
  connect?: (connect: Connector) => Connector
  /** Called with each new state, after it is recorded (a page reacting to it). */
  onState?: (state: LinkState) => void
  log?: (line: string) => void
} = {}) {
  const clock = createFakeClock()
  const host = fakeHost({ hostLock: options.hostLock })
  const states: LinkState[] = []
  const events: HubEvent[] = []
  const locks = options.locks?.scope('tab') ?? null
  const link = createLink({
    connect: options.connect?.(host.connect) ?? host.connect,
    attachRequest: () => request,
    onEvents: (batch) => events.push(...batch),
    onState: (state) => {
      states.push(state)
      options.onState?.(state)
    },
    locks,
    tabLockHeld: options.tabLockHeld ?? holdTabLock(locks, 'tab', () => {}).held,
    clock,
    random: () => 0.5,
    log: options.log,
  })
  return { clock, host, link, states, events }
}

/** A link started and attached: the host answered its first attach. */
async function attached(options: Parameters<typeof setup>[0] = {}) {
  const world = setup(options)
  world.link.start()
  await flush()
  world.host.answerAttach(0)
  await flush()
  return world
}

/** The host holds its lock for its life, as a live host does. */
function holdHostLock(locks: ReturnType<typeof createFakeLocks>): void {
  void locks.scope('worker').request('callhub:host:w', {}, () => new Promise(() => {}))
}

describe('the link to the host', () => {
  it('is one union: idle, attaching, then attached once the host answers', async () => {
    const { host, link, states } = setup()
    expect(link.state.type).toBe('idle')
    link.start()
    await flush()
    expect(link.state.type).toBe('attaching')
    host.answerAttach(0)
    await flush()
    expect(link.state).toMatchObject({ type: 'attached', hostId: 'host-1' })
    expect(states.map((state) => state.type)).toEqual(['attaching', 'attached'])
  })

  it('runs a call once attached, and rebuilds the error class the host answered with', async () => {
    const { host, link } = setup()
    const accepting = link.call('accept', (calls) => calls.accept(1))
    await flush()
    host.connections[0]!.calls.accept = async () => ({ ok: false, error: toWire(new CallNotRingingError('[callhub] call 1 is not ringing')) })
    host.answerAttach(0)
    await expect(accepting).rejects.toBeInstanceOf(CallNotRingingError)
  })

  it('passes the events of the current connection only', async () => {
    const { host, link, events } = await attached()
    host.connections[0]!.deliver([{ type: 'log', line: 'hello' }])
    expect(events).toEqual([{ type: 'log', line: 'hello' }])
  })

  it('learns from the Web Lock that the host died: pending calls reject, and it attaches again at once', async () => {
    const locks = createFakeLocks()
    holdHostLock(locks)
    const { clock, host, link } = await attached({ locks, hostLock: 'callhub:host:w' })
    host.connections[0]!.calls.accept = () => new Promise(() => {})
    const pending = link.call('accept', (calls) => calls.accept(1))
    await flush()
    locks.kill('worker')
    await expect(pending).rejects.toBeInstanceOf(HubWorkerLostError)
    expect(host.connections[0]!.disposed).toBe(true)
    clock.advance(0)
    await flush()
    expect(host.connections).toHaveLength(2)
    // The new worker holds a lock of its own.
    void locks.scope('worker-2').request('callhub:host:w2', {}, () => new Promise(() => {}))
    host.answerAttach(1, 'callhub:host:w2')
    await flush()
    expect(link.state).toMatchObject({ type: 'attached', hostId: 'host-2' })
  })

  it('without Web Locks, pings its host and attaches again when the host no longer knows the tab', async () => {
    const { clock, host, link } = await attached()
    let pings = 0
    host.connections[0]!.calls.ping = async () => {
      pings += 1
      return ok({ hostId: 'host-1', attached: pings < 2 })
    }
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    expect(link.state.type).toBe('attached')
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    expect(pings).toBe(2)
    clock.advance(0)
    await flush()
    expect(host.connections).toHaveLength(2)
  })

  it('without Web Locks, a host that stops answering pings is taken for lost', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.ping = () => new Promise(() => {})
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    clock.advance(5_000)
    await flush()
    expect(link.state.type === 'lost' || link.state.type === 'attaching').toBe(true)
    expect(host.connections[0]!.disposed).toBe(true)
  })

  it('attaches again when a request finds the host forgot the tab (a restarted worker on the same port)', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.decline = async () => ({ ok: false, error: toWire(new TabNotAttachedError('[callhub] not attached')) })
    await expect(link.call('decline', (calls) => calls.decline(1))).rejects.toBeInstanceOf(TabNotAttachedError)
    clock.advance(0)
    await flush()
    expect(host.connections).toHaveLength(2)
  })

  it('takes a host that never answers its first attach for one that cannot start: failed, for the page to run the hub itself', async () => {
    const { clock, link } = setup()
    link.start()
    await flush()
    clock.advance(5_000)
    await flush()
    expect(link.state).toMatchObject({ type: 'failed', reason: expect.stringContaining('did not answer') })
  })

  it('fails at once when the host says it cannot start (its script failed to load)', async () => {
    const { host, link } = setup()
    const waiting = link.call('accept', (calls) => calls.accept(1))
    await flush()
    host.connections[0]!.fail('the shared worker /w.js failed to load')
    await expect(waiting).rejects.toBeInstanceOf(HubWorkerLostError)
    expect(link.state).toEqual({ type: 'failed', reason: 'the shared worker /w.js failed to load' })
  })

  it('a call that outlives its timeout rejects with HubTimeoutError', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.configure = () => new Promise(() => {})
    const configuring = link.call('configure', (calls) => calls.configure({}))
    await flush()
    clock.advance(5_000)
    await expect(configuring).rejects.toBeInstanceOf(HubTimeoutError)
  })

  it('close() cancels everything pending: calls reject, no retry is left, and the host hears a detach', async () => {
    const locks = createFakeLocks()
    holdHostLock(locks)
    const { clock, host, link } = await attached({ locks, hostLock: 'callhub:host:w' })
    let detached = 0
    host.connections[0]!.calls.detach = async () => {
      detached += 1
      return ok(undefined)
    }
    host.connections[0]!.calls.accept = () => new Promise(() => {})
    const pending = link.call('accept', (calls) => calls.accept(1))
    await flush()
    locks.kill('worker')
    await expect(pending).rejects.toBeInstanceOf(HubWorkerLostError)
    link.close()
    clock.advance(600_000)
    await flush()
    expect(detached).toBe(0)
    expect(host.connections).toHaveLength(1)
    expect(link.state.type).toBe('closed')
    await expect(link.call('accept', (calls) => calls.accept(1))).rejects.toBeInstanceOf(HubClosedError)
  })

  it('close() while attached tells the host and lets the connection go', async () => {
    const { host, link } = await attached()
    let detached = 0
    host.connections[0]!.calls.detach = async () => {
      detached += 1
      return ok(undefined)
    }
    link.close()
    await flush()
    expect(detached).toBe(1)
    expect(host.connections[0]!.disposed).toBe(true)
  })
})

describe("the link's rules", () => {

  it('a call waiting to attach is told the hub was closed, once, when the page closes it', async () => {
    const { link } = setup()
    const waiting = link.call('accept', (calls) => calls.accept(1))
    await flush()
    link.close()
    await expect(waiting).rejects.toThrow(new HubClosedError('[callhub] this hub was closed; call connectCallHub() again'))
    await expect(link.call('accept', (calls) => calls.accept(1))).rejects.toThrow(new HubClosedError('[callhub] this hub was closed; call connectCallHub() again'))
  })

  it('a call waiting to attach is told why the hub cannot run when the host fails to load', async () => {
    const { host, link } = setup()
    const waiting = link.call('accept', (calls) => calls.accept(1))
    await flush()
    host.connections[0]!.fail('the shared worker /w.js failed to load')
    await expect(waiting).rejects.toThrow(new HubWorkerLostError('[callhub] the hub cannot run: the shared worker /w.js failed to load'))
    await expect(link.call('accept', (calls) => calls.accept(1))).rejects.toThrow(new HubWorkerLostError('[callhub] the hub cannot run: the shared worker /w.js failed to load'))
  })

  it('a call waiting to attach is told why the hub cannot run when the host cannot even be started', async () => {
    const { host, link } = setup({
      connect: () => () => {
        throw new Error('SecurityError: no workers here')
      },
    })
    const waiting = link.call('accept', (calls) => calls.accept(1))
    await expect(waiting).rejects.toThrow(new HubWorkerLostError('[callhub] the hub cannot run: could not start the host: Error: SecurityError: no workers here'))
    expect(link.state).toEqual({ type: 'failed', reason: 'could not start the host: Error: SecurityError: no workers here' })
    expect(host.connections).toHaveLength(0)
  })

  it('a call waiting to attach is told why the hub cannot run when the host never answers its first attach', async () => {
    const { clock, link } = setup()
    let outcome: unknown = 'pending'
    link.call('accept', (calls) => calls.accept(1)).catch((error: unknown) => (outcome = error))
    await flush()
    clock.advance(5_000)
    await flush()
    expect(outcome).toEqual(new HubWorkerLostError('[callhub] the hub cannot run: the host did not answer (the host did not answer attach within 5000 ms)'))
  })

  it('a call waiting to attach outlives a host that refuses the attach: it runs on the host attached next', async () => {
    const { clock, host, link } = setup()
    const waiting = link.call('accept', (calls) => calls.accept(1))
    await flush()
    host.connections[0]!.attach.resolve({ ok: false, error: toWire(new HubWorkerLostError('[callhub] starting')) })
    await flush()
    expect(link.state.type).toBe('lost')
    clock.advance(0)
    await flush()
    host.connections[1]!.calls.accept = async () => ok(invitation)
    host.answerAttach(1)
    await expect(waiting).resolves.toEqual(invitation)
  })

  it('a call waits to attach for twice the request timeout, then rejects with HubTimeoutError', async () => {
    // The tab's own lock is never granted: the link waits in `attaching` and no attach reaches the host.
    const { clock, host, link } = setup({ tabLockHeld: new Promise(() => {}) })
    let outcome: unknown = 'pending'
    link.call('accept', (calls) => calls.accept(1)).catch((error: unknown) => (outcome = error))
    await flush()
    clock.advance(9_999)
    await flush()
    expect(outcome).toBe('pending')
    clock.advance(1)
    await flush()
    expect(outcome).toEqual(new HubTimeoutError('[callhub] the host did not answer accept (waiting to attach) within 10000 ms'))
    expect(host.connections).toHaveLength(0)
  })

  it('a host that never answers its first attach is named in the reason, without the [callhub] prefix twice', async () => {
    const { clock, link } = setup()
    link.start()
    await flush()
    clock.advance(5_000)
    await flush()
    expect(link.state).toEqual({ type: 'failed', reason: 'the host did not answer (the host did not answer attach within 5000 ms)' })
  })

  it('a first attach that fails says why, dropping only a leading [callhub] (spaces after it or not)', async () => {
    const failing = (message: string) => setup({
      connect: (connect) => async (deliver) => ({ ...(await connect(deliver)), attach: () => Promise.reject(new Error(message)) }),
    }).link
    const reasons: string[] = []
    for (const message of ['[callhub]the host is busy', 'DataCloneError: [callhub] could not clone']) {
      const link = failing(message)
      link.start()
      await flush()
      reasons.push(link.state.type === 'failed' ? link.state.reason : link.state.type)
    }
    expect(reasons).toEqual(['the host did not answer (the host is busy)', 'the host did not answer (DataCloneError: [callhub] could not clone)'])
  })

  it('a call that waits on the backend gets its extra time on top of the request timeout', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.send = () => new Promise(() => {})
    const slow = link.call('send', (calls) => calls.send('{}'), 30_000)
    let outcome = 'pending'
    slow.catch((error: Error) => (outcome = error.name))
    await flush()
    // In steps, so the pings meanwhile are answered (the fake clock does not wait for promises).
    for (let waited = 0; waited < 34_999; waited += 1_000) {
      clock.advance(Math.min(1_000, 34_999 - waited))
      await flush()
    }
    expect(link.state.type).toBe('attached')
    expect(outcome).toBe('pending')
    clock.advance(1)
    await flush()
    expect(outcome).toBe('HubTimeoutError')
  })

  it('an error other than "not attached" leaves the link attached', async () => {
    const { host, link } = await attached()
    host.connections[0]!.calls.accept = async () => ({ ok: false, error: toWire(new CallNotRingingError('[callhub] gone')) })
    await expect(link.call('accept', (calls) => calls.accept(1))).rejects.toBeInstanceOf(CallNotRingingError)
    expect(link.state.type).toBe('attached')
    expect(host.connections).toHaveLength(1)
  })

  it('backs off after the first loss: a host that refuses the attach again is retried after a jittered wait', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.ping = async () => ok({ hostId: 'host-1', attached: false })
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    // The first loss retries at once.
    expect(link.state).toMatchObject({ type: 'lost', attempt: 1 })
    clock.advance(0)
    await flush()
    host.connections[1]!.attach.resolve({ ok: false, error: toWire(new HubWorkerLostError('[callhub] starting')) })
    await flush()
    // The second waits retryDelay(2, 0.5): half of 500·2^2.
    expect(link.state).toMatchObject({ type: 'lost', attempt: 2, retryAt: clock.now() + 1_000 })
    clock.advance(999)
    await flush()
    expect(host.connections).toHaveLength(2)
    clock.advance(1)
    await flush()
    expect(host.connections).toHaveLength(3)
    host.answerAttach(2)
    await flush()
    expect(link.state.type).toBe('attached')
  })

  it('with Web Locks but a host that holds none, pings it', async () => {
    const { clock, host } = await attached({ locks: createFakeLocks(), hostLock: null })
    const pings = countPings(host.connections[0]!)
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    expect(pings()).toBe(1)
  })

  it("a ping answered by another host (a restart that kept the port) is a lost host", async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.ping = async () => ok({ hostId: 'someone-else', attached: true })
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    expect(link.state.type).toBe('lost')
  })
})

describe("the link's moves", () => {
  it('returns what the host answered a call with', async () => {
    const { host, link } = await attached()
    host.connections[0]!.calls.accept = async () => ok(invitation)
    await expect(link.call('accept', (calls) => calls.accept(1))).resolves.toEqual(invitation)
  })

  it('starts one attach however often it is started or called while attaching, and none once attached', async () => {
    const { host, link } = setup()
    link.start()
    await flush()
    link.start()
    const waiting = link.call('decline', (calls) => calls.decline(1))
    await flush()
    expect(host.connections).toHaveLength(1)
    host.answerAttach(0)
    await waiting
    link.start()
    await flush()
    expect(host.connections).toHaveLength(1)
    expect(link.state.type).toBe('attached')
  })

  it('closed while it waits for its own tab lock, it never reaches a host', async () => {
    let lockHeld!: () => void
    const { host, link } = setup({ tabLockHeld: new Promise((resolve) => (lockHeld = resolve)) })
    link.start()
    await flush()
    link.close()
    lockHeld()
    await flush()
    expect(host.connections).toHaveLength(0)
    expect(link.state.type).toBe('closed')
  })

  it('closed while the host starts, it lets that host go and never attaches', async () => {
    let started!: () => void
    const starting = new Promise<void>((resolve) => (started = resolve))
    const { host, link } = setup({ connect: (connect) => async (deliver) => {
      await starting
      return connect(deliver)
    } })
    link.start()
    await flush()
    link.close()
    started()
    await flush()
    expect(host.connections).toHaveLength(1)
    expect(host.connections[0]!.disposed).toBe(true)
    expect(link.state.type).toBe('closed')
  })

  it('a call that waited to attach leaves no timer behind once it is answered', async () => {
    // With a host lock to wait on, an attached link keeps no timer of its own (no ping).
    const locks = createFakeLocks()
    holdHostLock(locks)
    const { clock, host, link } = setup({ locks, hostLock: 'callhub:host:w' })
    const waiting = link.call('decline', (calls) => calls.decline(1))
    await flush()
    host.answerAttach(0)
    await waiting
    expect(clock.pending()).toBe(0)
  })

  it('a request the host rejects (rather than answers) rejects with that error at once', async () => {
    const { host, link } = await attached()
    const refused = new Error('DataCloneError: the request could not be sent')
    host.connections[0]!.calls.configure = () => Promise.reject(refused)
    await expect(link.call('configure', (calls) => calls.configure({}))).rejects.toBe(refused)
    host.connections[0]!.calls.configure = () => Promise.reject('a string, not an Error')
    await expect(link.call('configure', (calls) => calls.configure({}))).rejects.toThrow(new Error('a string, not an Error'))
  })

  it('without a clock of its own, stamps its states with the real time', async () => {
    const link = createLink({
      connect: fakeHost().connect, attachRequest: () => request, onEvents: () => {}, onState: () => {}, locks: null, tabLockHeld: Promise.resolve(),
    })
    const before = Date.now()
    link.start()
    const since = link.state.type === 'attaching' ? link.state.since : null
    expect(since).toBeGreaterThanOrEqual(before)
    expect(since).toBeLessThanOrEqual(Date.now())
    link.close()
  })

  it('closes once: closing again tells nobody', async () => {
    const { link, states } = await attached()
    link.close()
    link.close()
    expect(states.map((state) => state.type)).toEqual(['attaching', 'attached', 'closed'])
  })

  it('ignores the events and the failure of a connection it has moved on from', async () => {
    const { clock, host, link, events } = await attached()
    host.connections[0]!.calls.decline = async () => ({ ok: false, error: toWire(new TabNotAttachedError('[callhub] not attached')) })
    await expect(link.call('decline', (calls) => calls.decline(1))).rejects.toBeInstanceOf(TabNotAttachedError)
    clock.advance(0)
    await flush()
    host.answerAttach(1)
    await flush()
    host.connections[0]!.deliver([{ type: 'log', line: 'from the old host' }])
    host.connections[0]!.fail('the old worker failed')
    await flush()
    expect(events).toEqual([])
    expect(link.state).toMatchObject({ type: 'attached', hostId: 'host-2' })
  })

  it('a host that once attached and then does not answer an attach is lost, not failed: it is tried again', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.decline = async () => ({ ok: false, error: toWire(new TabNotAttachedError('[callhub] not attached')) })
    await expect(link.call('decline', (calls) => calls.decline(1))).rejects.toBeInstanceOf(TabNotAttachedError)
    clock.advance(0)
    await flush()
    clock.advance(5_000)
    await flush()
    expect(link.state).toEqual({
      type: 'lost', attempt: 2, retryAt: clock.now() + 1_000, reason: '[callhub] the host did not answer attach within 5000 ms',
    })
  })

  it('two requests that find the host forgot the tab lose it once: the attach again is at once', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.decline = async () => ({ ok: false, error: toWire(new TabNotAttachedError('[callhub] not attached')) })
    const first = link.call('decline', (calls) => calls.decline(1))
    const second = link.call('decline', (calls) => calls.decline(2))
    await expect(first).rejects.toBeInstanceOf(TabNotAttachedError)
    await expect(second).rejects.toBeInstanceOf(TabNotAttachedError)
    expect(link.state).toEqual({ type: 'lost', attempt: 1, retryAt: clock.now(), reason: 'the host no longer knows this tab' })
  })

  it('says in its state why the host was lost: its lock released', async () => {
    const locks = createFakeLocks()
    holdHostLock(locks)
    const { clock, link } = await attached({ locks, hostLock: 'callhub:host:w' })
    locks.kill('worker')
    await flush()
    expect(link.state).toEqual({ type: 'lost', attempt: 1, retryAt: clock.now(), reason: 'the host is gone (its lock was released)' })
  })

  it('says in its state why the host was lost: it restarted and forgot the tab', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.ping = async () => ok({ hostId: 'host-1', attached: false })
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    expect(link.state).toEqual({ type: 'lost', attempt: 1, retryAt: clock.now(), reason: 'the host restarted and forgot this tab' })
  })

  it('a host that stops answering pings is lost at once on the first loss, its reason naming the ping', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.ping = () => new Promise(() => {})
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    clock.advance(5_000)
    await flush()
    expect(link.state).toEqual({
      type: 'lost', attempt: 1, retryAt: clock.now(),
      reason: 'the host stopped answering (HubTimeoutError: [callhub] the host did not answer ping within 5000 ms)',
    })
  })

  it('a ping that fails because the link moved on does not count as a second loss', async () => {
    const { clock, host, link } = await attached()
    host.connections[0]!.calls.ping = () => new Promise(() => {})
    host.connections[0]!.calls.decline = async () => ({ ok: false, error: toWire(new TabNotAttachedError('[callhub] not attached')) })
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    await expect(link.call('decline', (calls) => calls.decline(1))).rejects.toBeInstanceOf(TabNotAttachedError)
    await flush()
    expect(link.state).toMatchObject({ type: 'lost', attempt: 1 })
  })

  it('without Web Locks, pings even a host that names a lock', async () => {
    const { clock, host } = await attached({ hostLock: 'callhub:host:w' })
    const pings = countPings(host.connections[0]!)
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    expect(pings()).toBe(1)
  })

  it('a call whose link the page closes as it attaches reaches no host', async () => {
    let link!: ReturnType<typeof setup>['link']
    const world = setup({ onState: (state) => state.type === 'attached' && link.close() })
    link = world.link
    let accepted = 0
    const waiting = link.call('accept', async () => {
      accepted += 1
      return ok(invitation)
    })
    await flush()
    world.host.answerAttach(0)
    await expect(waiting).rejects.toThrow(new HubWorkerLostError('[callhub] the host went away; try again'))
    expect(accepted).toBe(0)
  })
})

/**
 * A host can answer in the very moment the link moves on: its answer is already settled when the page closes
 * the link, or its lock is granted while the link is losing it for another reason. Awaiting `oneTick()` after
 * the fake host answers lets the answer settle the link's request (one microtask); the page then closes the link
 * before the link reads that answer.
 */
describe('answers that meet the link moving on', () => {
  const oneTick = () => Promise.resolve()

  it('an attach answered as the page closes the link leaves it closed', async () => {
    const { host, link, states } = setup()
    link.start()
    await flush()
    host.answerAttach(0)
    await oneTick()
    link.close()
    await flush()
    expect(link.state.type).toBe('closed')
    expect(states.map((state) => state.type)).toEqual(['attaching', 'closed'])
  })

  it('a ping answered as the page closes the link arms no further ping', async () => {
    const { clock, host, link } = await attached()
    const answer = deferred<Outcome<unknown>>()
    let pings = 0
    host.connections[0]!.calls.ping = () => {
      pings += 1
      return answer.promise
    }
    clock.advance(TAB_PING_INTERVAL)
    await flush()
    answer.resolve(ok({ hostId: 'host-1', attached: true }))
    await oneTick()
    link.close()
    await flush()
    clock.advance(TAB_PING_INTERVAL * 3)
    await flush()
    expect(pings).toBe(1)
  })

  it('a host lock granted as the link loses the host for another reason is one loss, not two', async () => {
    const locks = createFakeLocks()
    holdHostLock(locks)
    // The host dies while the link is losing it because a request found the host forgot the tab: the link's
    // own log line is the one moment between the two.
    const { host, link } = await attached({
      locks, hostLock: 'callhub:host:w', log: (line) => void (line.startsWith('lost the host') && locks.kill('worker')),
    })
    host.connections[0]!.calls.decline = async () => ({ ok: false, error: toWire(new TabNotAttachedError('[callhub] not attached')) })
    await expect(link.call('decline', (calls) => calls.decline(1))).rejects.toBeInstanceOf(TabNotAttachedError)
    await flush()
    expect(locks.holder('callhub:host:w')).toBe(null)
    expect(link.state).toMatchObject({ type: 'lost', attempt: 1, reason: 'the host no longer knows this tab' })
  })

  it("a link that moves on stops waiting for its old host's lock", async () => {
    const locks = createFakeLocks()
    holdHostLock(locks)
    const { link } = await attached({ locks, hostLock: 'callhub:host:w' })
    expect(locks.waiting('callhub:host:w')).toEqual(['tab'])
    link.close()
    await flush()
    expect(locks.waiting('callhub:host:w')).toEqual([])
  })

  it('without a clock of its own, clears the real timers it no longer needs', async () => {
    const armed = new Set<unknown>()
    const cleared = new Set<unknown>()
    const realSetTimeout = globalThis.setTimeout
    const realClearTimeout = globalThis.clearTimeout
    // Timers of 0 ms are the test's own flushes; the link's deadlines and pings are seconds long.
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      const timer = realSetTimeout(callback, ms)
      if ((ms ?? 0) > 0) armed.add(timer)
      return timer
    }) as typeof setTimeout)
    vi.spyOn(globalThis, 'clearTimeout').mockImplementation((timer) => {
      cleared.add(timer)
      realClearTimeout(timer)
    })
    onTestFinished(() => {
      vi.restoreAllMocks()
    })
    const host = fakeHost()
    const link = createLink({ connect: host.connect, attachRequest: () => request, onEvents: () => {}, onState: () => {}, locks: null, tabLockHeld: Promise.resolve() })
    link.start()
    await flush()
    host.answerAttach(0)
    await flush()
    await link.call('accept', (calls) => calls.accept(1))
    link.close()
    await flush()
    expect(armed.size).toBeGreaterThanOrEqual(3)
    expect([...armed].filter((timer) => !cleared.has(timer))).toEqual([])
  })
})

describe("the tab's own Web Lock", () => {
  it('is held under the tab id from the start until released', async () => {
    const locks = createFakeLocks()
    const { held, release } = holdTabLock(locks.scope('page'), 'tab-9', () => {})
    await held
    expect(locks.holder('callhub:tab:tab-9')).toBe('page')
    release()
    await flush()
    expect(locks.holder('callhub:tab:tab-9')).toBeNull()
  })

  it('is not taken without Web Locks: the tab counts as holding it at once', async () => {
    const { held, release } = holdTabLock(null, 'tab-9', () => {})
    await expect(held).resolves.toBeUndefined()
    expect(release).not.toThrow()
  })

  it('that cannot be taken is logged, and the tab goes on without it', async () => {
    const lines: string[] = []
    const broken = { request: () => Promise.reject(new Error('SecurityError')) }
    await holdTabLock(broken, 'tab-9', (line) => lines.push(line)).held
    expect(lines).toHaveLength(1)
  })
})
