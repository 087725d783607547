/**
 * Host ↔ host: how a host that does not own a profile's socket reaches the one that does. Hosts are the
 * shared worker of each deployed version and, where there is none, tabs. Each message is versioned: a host
 * that receives a version newer than its own gives way instead of misreading it.
 *
 * Channels (BroadcastChannel names, same origin):
 * - `callhub:owner:{profileKey}`: requests to whichever host owns that profile's socket (only it listens);
 * - `callhub:host:{hostId}`: replies and events for one host's tabs;
 * - `callhub:hosts`: announcements every host hears.
 */
import type { Outcome } from './errors'
import type { AttachRequest, HubEvent } from './port'

/** The version of these messages. Bump it when a change would be misread by a host of the previous version. */
export const HOST_PROTOCOL = 1

export const ownerChannel = (profileKey: string) => `callhub:owner:${profileKey}`
export const hostChannel = (hostId: string) => `callhub:host:${hostId}`
export const announceChannel = 'callhub:hosts'
/** The Web Lock whose holder owns a profile's socket, origin-wide. */
export const ownerLock = (profileKey: string) => `callhub:owner:${profileKey}`

/** The requests a tab makes of its hub, as one relays them to the owner (`attach` is its own message). */
export type RelayedMethod =
  | 'identify' | 'accept' | 'decline' | 'send' | 'track' | 'sessionSend' | 'hangup' | 'configure' | 'dismissMissed'
  | 'setInterests' | 'setOnline' | 'setPresence' | 'detach'
  /** A relayed tab fell far behind at its own host, which dropped its backlog: the owner sends it a snapshot. */
  | 'resync'

export type HostMessage = { v: number; from: string } & (
  /** A follower attaches one of its tabs to the owner of `key`; the answer comes as a `reply`. */
  | { type: 'attach'; key: string; rid: number; request: AttachRequest }
  /** A follower relays one request of an attached tab. */
  | { type: 'call'; key: string; rid: number; tabId: string; method: RelayedMethod; args: unknown[] }
  | { type: 'reply'; rid: number; outcome: Outcome<unknown> }
  /** The owner pushes events to one of a follower's tabs. */
  | { type: 'events'; tabId: string; events: HubEvent[] }
  /** A host now owns `key`: followers attach their tabs of it there. */
  | { type: 'owner'; key: string }
  /** A follower checks that the owner still answers (a frozen or hung owner is taken over). */
  | { type: 'ping'; key: string; rid: number }
)

/** A handler type checked bivariantly, so the DOM's BroadcastChannel (with its richer event type) fits. */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack']

/** The part of a BroadcastChannel a host uses; Node tests pass real ones (Node has BroadcastChannel). */
export interface ChannelLike {
  postMessage(message: unknown): void
  onmessage: Handler<{ data: unknown }> | null
  close(): void
}

export function isHostMessage(value: unknown): value is HostMessage {
  if (typeof value !== 'object' || value === null) return false
  const { v, from, type } = value as Record<string, unknown>
  return typeof v === 'number' && typeof from === 'string' && typeof type === 'string'
}
