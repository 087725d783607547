/**
 * The tab's mirror of its hub: a pure reducer over the events the host pushes. The hub decides every fact
 * (calls, expiry, ringer, status, missed calls); the tab applies them here and renders from the result.
 * No timers, no DOM: Node tests drive it event by event.
 */
import type { Ended, HubEvent, HubStatus, Settled, SettleReason } from '../protocol/port'
import { callKey } from '../protocol/wire'
import type { CallLogId, Invitation } from '../protocol/wire'

export interface Mirror {
  status: HubStatus
  /** Ringing calls by call key, oldest first. */
  calls: ReadonlyMap<string, Invitation>
  /** Missed calls not yet dismissed in any tab, oldest first. */
  missed: readonly Invitation[]
  /** This tab plays the ringtone. */
  ringer: boolean
  /** Some tab of the profile is in view. */
  anyVisible: boolean
}

/** What a page hears about, in the order it happened. */
export type MirrorEvent =
  | { type: 'invitation'; invitation: Invitation }
  | { type: 'settled'; settled: Settled }
  | { type: 'message'; text: string }
  | { type: 'call-frame'; callLogId: CallLogId; text: string }
  | { type: 'call-ended'; callLogId: CallLogId; reason: string }
  | { type: 'log'; line: string }

export interface Step {
  mirror: Mirror
  /** The changes the page's listeners hear about, in order. */
  emitted: MirrorEvent[]
}

export const emptyMirror: Mirror = {
  status: { type: 'connecting', attempt: 0, profileKey: null, tabs: 0, lastClose: null },
  calls: new Map(),
  missed: [],
  ringer: false,
  anyVisible: true,
}

function settledOf(invitation: Invitation, reason: SettleReason, here = false): MirrorEvent {
  return { type: 'settled', settled: { callLogId: invitation.callLogId, reason, here, invitation } }
}

/** Applies one event of the host. Returns the same mirror object when nothing changed. */
export function reduce(mirror: Mirror, event: HubEvent): Step {
  return reduceAll(mirror, [event])
}

/**
 * Applies a batch, in order. The calls map is copied at most once per batch (a burst of a thousand
 * invitations must stay linear), and never when nothing changed.
 */
export function reduceAll(mirror: Mirror, events: readonly HubEvent[]): Step {
  let next = mirror
  let calls: Map<string, Invitation> | null = null
  const writable = () => (calls ??= new Map(next.calls))
  const emitted: MirrorEvent[] = []
  for (const event of events) {
    switch (event.type) {
      case 'snapshot': {
        const current = calls ?? next.calls
        const fresh = new Map<string, Invitation>()
        for (const invitation of event.calls) fresh.set(callKey(invitation.callLogId), invitation)
        const reasons = new Map<string, Ended>()
        for (const ended of event.ended) reasons.set(callKey(ended.callLogId), ended)
        // Another profile's snapshot (a role switch, a logout elsewhere): this tab no longer answers its calls.
        const sameProfile = event.status.profileKey !== null && event.status.profileKey === next.status.profileKey
        for (const [key, invitation] of current) {
          if (fresh.has(key)) continue
          emitted.push(settledOf(invitation, sameProfile ? reasons.get(key)?.reason ?? 'ended' : 'signed-out'))
        }
        for (const [key, invitation] of fresh) if (!current.has(key)) emitted.push({ type: 'invitation', invitation })
        calls = fresh
        next = { ...next, status: event.status, missed: event.missed }
        break
      }
      case 'status':
        next = { ...next, status: event.status }
        break
      case 'invitation': {
        const key = callKey(event.invitation.callLogId)
        if ((calls ?? next.calls).has(key)) break
        writable().set(key, event.invitation)
        emitted.push({ type: 'invitation', invitation: event.invitation })
        break
      }
      case 'settled': {
        const key = callKey(event.settled.callLogId)
        if (!(calls ?? next.calls).has(key)) break
        writable().delete(key)
        emitted.push({ type: 'settled', settled: event.settled })
        break
      }
      case 'ringer':
        if (event.ringer !== next.ringer || event.anyVisible !== next.anyVisible) {
          next = { ...next, ringer: event.ringer, anyVisible: event.anyVisible }
        }
        break
      case 'missed':
        next = { ...next, missed: event.missed }
        break
      // Not state: they pass through, in order, for the page's listeners and the call in progress.
      case 'message':
      case 'call-frame':
      case 'call-ended':
      case 'log':
        emitted.push(event)
        break
    }
  }
  if (calls !== null) next = { ...next, calls }
  return { mirror: next, emitted }
}

/** The tab leaves its profile (logout, rejected token, `close()`): every call it shows ends here. */
export function leaveProfile(mirror: Mirror, status: HubStatus): Step {
  const emitted = [...mirror.calls.values()].map((invitation) => settledOf(invitation, 'signed-out'))
  return { mirror: { ...mirror, status, calls: new Map(), missed: [], ringer: false }, emitted }
}
