/**
 * A world of hosts for unit tests: hosts sharing one socket per profile through an in-memory Web Locks fake
 * that can kill an owner as a browser would, Node's own (real) BroadcastChannel, and a fake clock. Tabs hold
 * their own liveness lock, as the client does.
 */
import { onTestFinished } from 'vitest'
import type { AttachRequest, HubEvent, Presence, TabIdentity } from '../../protocol/port'
import { createHost } from '../../core/host'
import type { Host, TabApi, TabLink } from '../../core/host'
import { channelScope, createFakeClock, createFakeLocks, socketFactory } from './fakes'
import type { FakeSocket } from './fakes'

export const alice: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Tutor' }, token: 'tok-alice', url: 'ws://hub.test/ws/1/Tutor' }
/** Alice signed in again (or her token refreshed): the same profile, a new token. */
export const aliceAgain: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Tutor' }, token: 'tok-alice-2', url: 'ws://hub.test/ws/1/Tutor' }
export const aliceParent: TabIdentity = { type: 'profile', profile: { id: 1, type: 'Parent' }, token: 'tok-alice', url: 'ws://hub.test/ws/1/Parent' }
export const invite = (id: number) => ({ type: 'call_invitation', call_log_id: id, conversation_id: 5, from_name: 'Bob Bekele' })

/** What a tab hands the host when it attaches, with nothing set beyond its identity. */
export function attachRequest(tabId: string, identity: TabIdentity = alice): AttachRequest {
  return {
    tabId, identity, online: true, presence: { visible: true, focused: false }, settings: {},
    interests: { messages: false, debug: false, recover: false }, calls: [], sessions: [],
  }
}

export async function until(condition: () => boolean, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + 3_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

export function accept(socket: FakeSocket): void {
  socket.open()
  socket.receive({ type: 'ack', of: 'auth' })
}

export function world() {
  const clock = createFakeClock()
  const locks = createFakeLocks()
  const hosts: Array<{ id: string; host: Host; sockets: ReturnType<typeof socketFactory>; channels: ReturnType<typeof channelScope> }> = []

  /** `lost`: the messages this host posts that never arrive (a lossy channel). */
  function startHost(id: string, protocol?: number, lost: (message: Record<string, unknown>) => boolean = () => false) {
    const sockets = socketFactory()
    const channels = channelScope()
    const logs: string[] = []
    onTestFinished(channels.closeAll)
    const open = (name: string) => {
      const channel = channels.open(name)
      const post = channel.postMessage.bind(channel)
      channel.postMessage = (message) => {
        if (!lost(message as Record<string, unknown>)) post(message)
      }
      return channel
    }
    const host = createHost({
      hostId: id, createSocket: sockets.createSocket, clock, random: () => 0, log: (line) => void logs.push(line),
      locks: locks.scope(id), channel: open, protocol,
    })
    const entry = { id, host, sockets, channels, logs }
    hosts.push(entry)
    return entry
  }

  async function openTab(host: Host, id: string, identity: TabIdentity = alice, presence: Presence = { visible: true, focused: false }) {
    const events: HubEvent[] = []
    const connection = { closed: false }
    // The tab holds its own lock for its whole life, as the client does.
    void locks.scope(id).request(`callhub:tab:${id}`, {}, () => new Promise(() => {}))
    const api: TabApi = host.connectTab(() => void (connection.closed = true))
    const request: AttachRequest = {
      tabId: id, identity, online: true, presence, settings: {},
      interests: { messages: false, debug: false, recover: false }, calls: [], sessions: [],
    }
    const outcome = await api.attach(request, { deliver: async (batch) => void events.push(...batch), release: () => {}, recover: async () => [] })
    if (!outcome.ok) throw new Error(outcome.error.message)
    const attached = outcome.value
    const of = <T extends HubEvent['type']>(type: T) => events.filter((event): event is Extract<HubEvent, { type: T }> => event.type === type)
    const calls = () => {
      const shown = new Set<string>()
      for (const event of events) {
        if (event.type === 'snapshot') {
          shown.clear()
          for (const call of event.calls) shown.add(String(call.callLogId))
        } else if (event.type === 'invitation') shown.add(String(event.invitation.callLogId))
        else if (event.type === 'settled') shown.delete(String(event.settled.callLogId))
      }
      return [...shown]
    }
    const status = () => events.filter((event) => event.type === 'status' || event.type === 'snapshot').map((event) => event.status).at(-1)
    /** Whether the hub last told this tab that it plays the ringtone. */
    const ringer = () => of('ringer').at(-1)?.ringer ?? false
    return { id, api, attached, events, calls, status, ringer, connection, settled: () => of('settled').map((event) => event.settled) }
  }

  /** Every socket any host opened that is still open. */
  const openSockets = () => hosts.flatMap((entry) => entry.sockets.sockets.filter((socket) => socket.readyState === 1))
  /** Kills a host as a browser would: its locks are released and it hears nothing more. */
  const kill = (entry: (typeof hosts)[number]) => {
    entry.channels.closeAll()
    locks.kill(entry.id)
  }
  /** Moves the fake clock in small steps, letting channel messages (real, asynchronous) land between them. */
  async function tick(ms: number): Promise<void> {
    for (let passed = 0; passed < ms; passed += 50) {
      clock.advance(Math.min(50, ms - passed))
      await new Promise((resolve) => setTimeout(resolve, 3))
    }
  }
  /** Freezes a host: it keeps its locks, but hears and answers nothing. */
  const freeze = (entry: (typeof hosts)[number]) => entry.channels.closeAll()
  return { clock, locks, startHost, openTab, openSockets, kill, tick, freeze }
}


/** The tab holds its own Web Lock for its whole life, as the client does (the host takes it for gone once granted it). */
export function holdTabLock(locks: ReturnType<typeof createFakeLocks>, tabId: string): void {
  void locks.scope(tabId).request(`callhub:tab:${tabId}`, {}, () => new Promise(() => {}))
}

/** A tab's link that delivers nowhere. */
export const quietLink: TabLink = { deliver: async () => {}, release: () => {}, recover: async () => [] }

/** A tab's link that records what the host delivers to it. */
export function recordingLink(events: HubEvent[] = []) {
  const link: TabLink = { deliver: async (batch) => void events.push(...batch), release: () => {}, recover: async () => [] }
  return { link, events }
}
